// LoadBalancer Services default to an intranet CLB (audit addons-cni 3.7, issue 12 item 5).
//
// What is real here: the policy's CEL conditions are evaluated by a CEL implementation
// (@marcbachmann/cel-js) over generated Services, and compared with the CCM's own rules,
// transcribed from kubernetes/cloud-provider-alibaba-cloud v2.14.0:
// pkg/controller/helper/service_utils.go NeedCLB and IsTunnelTypeService,
// pkg/controller/service/reconcile/annotation/annotations.go Get/Has (both prefixes), and the
// disablePublicSLB gate in pkg/controller/service/clbv1/service_controller.go:204-212.
// What is not: no kube-apiserver runs the policy (none can be had here); its Kubernetes-only
// `Object{...}` construction is checked by rewriting it into a CEL map literal, and its field
// names against kubernetes/api v0.36.0 admissionregistration/v1/types.go (json tags below).
import { Environment } from "@marcbachmann/cel-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloudControllerManager, loadBalancerExposure } from "../addons/ccm";
import {
  ADDRESS_TYPE_ANNOTATION,
  INTRANET_MATCH_CONDITIONS,
  INTRANET_MUTATION,
  intranetDefaultObjects,
} from "../addons/intranet-default";
import type { AddonFacts } from "../addons/types";
import { specFor } from "./kit";

interface Svc {
  spec: { type: string; loadBalancerClass?: string };
  metadata: { annotations?: Record<string, string> };
}

const NEW = "service.beta.kubernetes.io/alibaba-cloud-";
const LEGACY = "service.beta.kubernetes.io/alicloud-";
// annotations.go Get: the new prefix first, then the legacy one.
const get = (s: Svc, k: string) =>
  s.metadata.annotations?.[NEW + k] ?? s.metadata.annotations?.[LEGACY + k] ?? "";
const has = (s: Svc, k: string) =>
  s.metadata.annotations !== undefined &&
  (NEW + k in s.metadata.annotations || LEGACY + k in s.metadata.annotations);
// service_utils.go NeedCLB, with the LoadBalancerTypeAnnotation gate taken as on (the stricter case).
function needClb(s: Svc): boolean {
  const a = s.metadata.annotations ?? {};
  if (s.spec.type !== "LoadBalancer" || s.spec.loadBalancerClass !== undefined) return false;
  if ((a[`${NEW}loadbalancer-type`] ?? "") !== "") return false;
  if (`${NEW}loadbalancer-tunnel-type` in a) return false;
  return (a["service.beta.kubernetes.io/class"] ?? "") === "";
}
// service_controller.go:204-212: with disablePublicSLB, "" and "internet" are refused.
const refusedByDisablePublicSlb = (s: Svc) => ["", "internet"].includes(get(s, "loadbalancer-address-type"));

const env = new Environment({ unlistedVariablesAreDyn: true });
const policyActs = (s: Svc) =>
  INTRANET_MATCH_CONDITIONS.every((c) => env.evaluate(c.expression, { object: s }) === true);

/** Object{f: Object.x{...}} → {'f': {...}}: the same fields as a plain CEL map. */
function mutationAsMap(expression: string): unknown {
  const plain = expression.replace(/Object(\.\w+)*\{/g, "{").replace(/([{,]\s*)(\w+):/g, "$1'$2':");
  return env.evaluate(plain, {});
}
function mutate(s: Svc): Svc {
  const patch = mutationAsMap(INTRANET_MUTATION) as { metadata: { annotations: Record<string, string> } };
  return { ...s, metadata: { annotations: { ...s.metadata.annotations, ...patch.metadata.annotations } } };
}

const KEYS = [
  `${NEW}loadbalancer-address-type`,
  `${LEGACY}loadbalancer-address-type`,
  `${NEW}loadbalancer-id`,
  `${LEGACY}loadbalancer-id`,
  `${NEW}loadbalancer-type`,
  `${NEW}loadbalancer-tunnel-type`,
  "service.beta.kubernetes.io/class",
  `${NEW}loadbalancer-spec`,
  "app.kubernetes.io/name",
];
const arbService: fc.Arbitrary<Svc> = fc.record({
  spec: fc.record(
    {
      type: fc.constantFrom("LoadBalancer", "ClusterIP", "NodePort"),
      loadBalancerClass: fc.constantFrom("alibabacloud.com/nlb", "example.com/lb"),
    },
    { requiredKeys: ["type"] },
  ),
  metadata: fc.record(
    {
      annotations: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom("", "intranet", "internet", "x")),
    },
    { requiredKeys: [] },
  ),
});

describe("intranet LoadBalancers by default (CCM v2.14.0 rules, CEL evaluated)", () => {
  it("acts only on Services the CLB controller serves that name neither an address type nor a CLB", () => {
    fc.assert(
      fc.property(arbService, (s) => {
        if (policyActs(s)) {
          expect(needClb(s)).toBe(true);
          expect(has(s, "loadbalancer-address-type")).toBe(false);
          expect(has(s, "loadbalancer-id")).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("turns every plain LoadBalancer Service into one the CCM accepts with disablePublicSLB, as intranet", () => {
    const plain: Svc[] = [
      { spec: { type: "LoadBalancer" }, metadata: {} },
      { spec: { type: "LoadBalancer" }, metadata: { annotations: {} } },
      { spec: { type: "LoadBalancer" }, metadata: { annotations: { "app.kubernetes.io/name": "web" } } },
      {
        spec: { type: "LoadBalancer" },
        metadata: { annotations: { [`${NEW}loadbalancer-spec`]: "slb.s2.small" } },
      },
    ];
    for (const s of plain) {
      expect(refusedByDisablePublicSlb(s)).toBe(true);
      expect(policyActs(s)).toBe(true);
      const after = mutate(s);
      expect(get(after, "loadbalancer-address-type")).toBe("intranet");
      expect(refusedByDisablePublicSlb(after)).toBe(false);
      expect(after.metadata.annotations).toMatchObject(s.metadata.annotations ?? {});
    }
  });

  it("leaves a Service that asks for internet, in either spelling, or reuses a CLB, as it is", () => {
    for (const key of KEYS.slice(0, 4)) {
      expect(
        policyActs({ spec: { type: "LoadBalancer" }, metadata: { annotations: { [key]: "internet" } } }),
      ).toBe(false);
    }
    expect(policyActs({ spec: { type: "LoadBalancer", loadBalancerClass: "x/y" }, metadata: {} })).toBe(
      false,
    );
    expect(policyActs({ spec: { type: "ClusterIP" }, metadata: {} })).toBe(false);
  });

  it("the mutation sets exactly the one annotation", () => {
    expect(mutationAsMap(INTRANET_MUTATION)).toEqual({
      metadata: { annotations: { [ADDRESS_TYPE_ANNOTATION]: "intranet" } },
    });
  });
});

// Field names of each struct, from the json tags in kubernetes/api v0.36.0
// admissionregistration/v1/types.go (MutatingAdmissionPolicySpec, MatchResources,
// NamedRuleWithOperations/Rule, MatchCondition, Mutation, ApplyConfiguration,
// MutatingAdmissionPolicyBindingSpec).
const FIELDS: Record<string, readonly string[]> = {
  spec: [
    "paramKind",
    "matchConstraints",
    "variables",
    "mutations",
    "failurePolicy",
    "matchConditions",
    "reinvocationPolicy",
  ],
  matchConstraints: [
    "namespaceSelector",
    "objectSelector",
    "resourceRules",
    "excludeResourceRules",
    "matchPolicy",
  ],
  resourceRule: ["resourceNames", "operations", "apiGroups", "apiVersions", "resources", "scope"],
  matchCondition: ["name", "expression"],
  mutation: ["patchType", "applyConfiguration", "jsonPatch"],
  bindingSpec: ["policyName", "paramRef", "matchResources"],
};

describe("the policy as served by Kubernetes 1.36 (admissionregistration.k8s.io/v1)", () => {
  const FACTS: AddonFacts = {
    vpcId: "vpc-1",
    vswitchIds: { "cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j" },
    scalingGroupIds: {},
  };
  const objectsAt = (version: string) => {
    const spec = specFor({ kubernetesVersion: version });
    return cloudControllerManager.install(spec, FACTS, {}).manifest?.objects ?? [];
  };

  it("is installed with the CCM from 1.36 (GA, on by default), and not before (beta, off)", () => {
    const at36 = objectsAt("1.36.5").filter((o) => o.apiVersion === "admissionregistration.k8s.io/v1");
    expect(at36.map((o) => o.kind).sort()).toEqual([
      "MutatingAdmissionPolicy",
      "MutatingAdmissionPolicyBinding",
    ]);
    expect(objectsAt("1.35.2").some((o) => String(o.apiVersion).startsWith("admissionregistration"))).toBe(
      false,
    );
    // The render summary says which applies, and that internet clients need rules of their own.
    const open = specFor({
      addons: {
        cloudControllerManager: {
          enabled: true,
          values: { cloudConfig: { Global: { disablePublicSLB: false } } },
        },
      },
    });
    expect(loadBalancerExposure(open)).toContain("reachable only by clients the node security groups admit");
    expect(loadBalancerExposure(specFor({ kubernetesVersion: "1.36.5" }))).toContain(
      "made intranet (admission policy)",
    );
    expect(loadBalancerExposure(specFor({ kubernetesVersion: "1.35.2" }))).toContain(
      "Services must set the intranet address-type annotation (no admission policy before 1.36)",
    );
  });

  it("matches CREATE of core/v1 Services only, fails closed, names only fields v1 has", () => {
    const [policy, binding] = intranetDefaultObjects(36) as unknown as [
      { spec: Record<string, unknown> & { matchConstraints: { resourceRules: Record<string, unknown>[] } } },
      { spec: Record<string, unknown> },
    ];
    const keys = (o: object) => Object.keys(o);
    expect(FIELDS.spec).toEqual(expect.arrayContaining(keys(policy.spec)));
    expect(FIELDS.matchConstraints).toEqual(expect.arrayContaining(keys(policy.spec.matchConstraints)));
    for (const r of policy.spec.matchConstraints.resourceRules)
      expect(FIELDS.resourceRule).toEqual(expect.arrayContaining(keys(r)));
    for (const c of policy.spec.matchConditions as object[])
      expect(FIELDS.matchCondition).toEqual(expect.arrayContaining(keys(c)));
    for (const m of policy.spec.mutations as object[])
      expect(FIELDS.mutation).toEqual(expect.arrayContaining(keys(m)));
    expect(FIELDS.bindingSpec).toEqual(expect.arrayContaining(keys(binding.spec)));
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["services"] },
    ]);
    expect(policy.spec.failurePolicy).toBe("Fail");
    expect(binding.spec.policyName).toBe((policy as unknown as { metadata: { name: string } }).metadata.name);
  });
});
