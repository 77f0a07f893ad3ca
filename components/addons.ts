import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CNI, slotContent, type AddonStep, type PlannedAddon } from "../addons/steps";
import { RAM_POLICY_ROTATION } from "../plan/naming";
import { installChart } from "./charts";

export interface AddonsArgs {
  /** What to declare, in order (addons/steps.ts addonSteps). */
  readonly steps: readonly AddonStep[];
  /** addonPlan(spec, facts): the content the steps' slots point at. */
  readonly planned: pulumi.Output<readonly PlannedAddon[]>;
  /** The Kubernetes provider of this cluster; every in-cluster resource uses it. */
  readonly provider: k8s.Provider;
  /** The control planes' RAM role: policies of add-ons that run there attach to it. */
  readonly controlPlaneRole: pulumi.Input<string>;
  /** The CNI installation: add-ons with pods on the pod network wait for it. */
  readonly cni: readonly pulumi.Resource[];
}

/**
 * The cluster's add-ons (addons/*.ts): each one's charts or manifest through the
 * cluster's Kubernetes provider, and its RAM policy attached to the roles of the nodes
 * it runs on. Declares the steps addons/steps.ts computed, as they are: the order and
 * what waits for what are decided there.
 */
export class Addons extends pulumi.ComponentResource {
  constructor(name: string, args: AddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:addons:Addons", name, {}, opts);
    const { provider } = args;
    const inCluster = { parent: this, provider };
    const declared = new Map<string, pulumi.Resource>();
    const named = <T extends pulumi.Resource>(stepName: string): T => {
      const r = declared.get(stepName);
      if (!r) throw new pulumi.ResourceError(`add-on step ${stepName} comes before what it needs`, this);
      return r as T;
    };
    const after = (names: readonly string[]) => {
      const dependsOn = names.flatMap((s) => (s === CNI ? [...args.cni] : [named(s)]));
      return dependsOn.length ? { dependsOn } : {};
    };
    // pulumi.secret keeps the value's type; its signature says Unwrap<T>, which T already is.
    const keep = <T>(secret: boolean, value: pulumi.Output<T>): pulumi.Output<T> =>
      secret ? (pulumi.secret(value) as pulumi.Output<T>) : value;
    const content = (s: { slot: { addon: number } }) => args.planned.apply((p) => slotContent(p, s.slot));

    for (const s of args.steps)
      declared.set(s.name, this.declare(s, { inCluster, after, keep, content, named }, args));
    this.registerOutputs({});
  }

  private declare(s: AddonStep, h: Helpers, args: AddonsArgs): pulumi.Resource {
    const parent = { parent: this };
    switch (s.kind) {
      case "namespace":
        return new k8s.core.v1.Namespace(
          s.name,
          { metadata: { name: s.namespace, labels: { ...s.labels } } },
          { ...h.inCluster, ...h.after(s.after) },
        );
      case "ram-user":
        return new alicloud.ram.User(s.name, { name: s.userName, comments: s.comments }, parent);
      case "access-key":
        return new alicloud.ram.AccessKey(
          s.name,
          { userName: h.named<alicloud.ram.User>(s.user).name },
          parent,
        );
      case "credentials": {
        const key = h.named<alicloud.ram.AccessKey>(s.accessKey);
        return new k8s.core.v1.Secret(
          s.name,
          {
            metadata: { name: s.secret.name, namespace: s.namespace },
            stringData: pulumi.secret(
              pulumi.all([key.id, key.secret]).apply(([id, secret]) => ({
                [s.secret.idKey]: id,
                [s.secret.secretKey]: secret,
                ...s.secret.extra,
              })),
            ),
          },
          { ...h.inCluster, ...h.after(s.after) },
        );
      }
      case "manifest":
        return new k8s.yaml.v2.ConfigGroup(
          s.name,
          {
            objs: h.keep(
              s.secret,
              h.content(s).apply((i) => [...(i.manifest?.objects ?? [])]),
            ),
          },
          { ...h.inCluster, ...h.after(s.after) },
        );
      case "chart":
        return installChart(
          s.name,
          {
            ref: s.ref,
            namespace: s.namespace,
            values: h.keep(
              s.secret,
              h.content(s).apply((i) => i.charts[s.slot.chart ?? 0]?.values ?? {}),
            ),
          },
          { ...h.inCluster, ...h.after(s.after) },
        );
      case "ram-policy":
        return new alicloud.ram.Policy(
          s.name,
          {
            policyName: s.policyName,
            // The statements may name this cluster's resources (scaling groups): from the plan with facts.
            policyDocument: h
              .content(s)
              .apply((i) => JSON.stringify({ Version: "1", Statement: i.ram?.statements ?? [] })),
            rotateStrategy: RAM_POLICY_ROTATION,
            description: s.description,
          },
          parent,
        );
      case "ram-user-policy":
        return new alicloud.ram.UserPolicyAttachment(
          s.name,
          {
            policyName: h.named<alicloud.ram.Policy>(s.policy).policyName,
            policyType: "Custom",
            userName: h.named<alicloud.ram.User>(s.user).name,
          },
          parent,
        );
      case "ram-role-policy":
        return new alicloud.ram.RolePolicyAttachment(
          s.name,
          {
            policyName: h.named<alicloud.ram.Policy>(s.policy).policyName,
            policyType: "Custom",
            roleName: args.controlPlaneRole,
          },
          parent,
        );
    }
  }
}

interface Helpers {
  readonly inCluster: pulumi.CustomResourceOptions;
  readonly after: (names: readonly string[]) => { dependsOn?: pulumi.Resource[] };
  readonly keep: <T>(secret: boolean, value: pulumi.Output<T>) => pulumi.Output<T>;
  readonly content: (s: { slot: { addon: number } }) => pulumi.Output<PlannedAddon["install"]>;
  readonly named: <T extends pulumi.Resource>(stepName: string) => T;
}
