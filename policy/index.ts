// The guardrails as a Pulumi policy pack: `pulumi preview --policy-pack policy`.
import { PolicyPack } from "@pulumi/policy";
import { GUARDRAILS } from "./guardrails";

new PolicyPack("kubeadm-alicloud-guardrails", {
  policies: GUARDRAILS.map((g) => ({
    name: g.name,
    description: g.description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      const resources = args.resources.map((r) => ({
        type: r.type,
        name: r.name,
        props: r.props as Record<string, unknown>,
      }));
      for (const v of g.check(resources)) reportViolation(v.message);
    },
  })),
});
