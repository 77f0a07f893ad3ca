import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { addonPlan, type AddonFacts, type PlannedAddon } from "../addons/index";
import type { ClusterSpec } from "../config/spec";
import { RAM_NAMES, RAM_POLICY_ROTATION, resourceName } from "../plan/naming";
import { installChart } from "./charts";

export interface AddonsArgs {
  readonly spec: ClusterSpec;
  /** The Kubernetes provider of this cluster; every in-cluster resource uses it. */
  readonly provider: k8s.Provider;
  readonly vpcId: pulumi.Input<string>;
  readonly vswitchIds: Readonly<Record<string, pulumi.Input<string>>>;
  readonly scalingGroupIds: Readonly<Record<string, pulumi.Input<string>>>;
  /** The control planes' RAM role: policies of add-ons that run there attach to it. */
  readonly controlPlaneRole: pulumi.Input<string>;
  /** The CNI installation: add-ons with pods on the pod network wait for it. */
  readonly cni: readonly pulumi.Resource[];
}

const CCM = "cloudControllerManager";

/**
 * The cluster's add-ons (addons/*.ts): each one's charts or manifest through the
 * cluster's Kubernetes provider, in order, and its RAM policy attached to the roles of
 * the nodes it runs on. The cloud-controller-manager goes first and does not wait for
 * the CNI (it runs on the host network): until it initializes nodes, nothing else
 * schedules.
 */
export class Addons extends pulumi.ComponentResource {
  constructor(name: string, args: AddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:addons:Addons", name, {}, opts);
    const { spec, provider } = args;
    const child = { parent: this, provider };

    const facts: pulumi.Output<AddonFacts> = pulumi.output({
      vpcId: args.vpcId,
      vswitchIds: { ...args.vswitchIds },
      scalingGroupIds: { ...args.scalingGroupIds },
    });
    const planned = facts.apply((f) => addonPlan(spec, f));
    // Which resources exist depends on the spec only; the facts fill in values.
    const shape = addonPlan(spec, {
      vpcId: "",
      vswitchIds: Object.fromEntries(spec.zones.map((z) => [z, ""])),
      scalingGroupIds: Object.fromEntries(spec.nodePools.map((p) => [p.name, ""])),
    });

    // Values built from overrides the stack keeps encrypted (a password, say) stay secret.
    const overridesSecret = spec.secretConfigKeys.includes("addons");
    const keep = <T>(addonName: string, value: pulumi.Output<T>): pulumi.Output<T> =>
      // pulumi.secret keeps the value's type; its signature says Unwrap<T>, which T already is.
      overridesSecret && spec.addons[addonName as keyof ClusterSpec["addons"]]?.values !== undefined
        ? (pulumi.secret(value) as pulumi.Output<T>)
        : value;

    let previous: pulumi.Resource[] = [...args.cni];
    for (const [i, addon] of shape.entries()) {
      const installOf = (p: PlannedAddon[]) => (p[i] as PlannedAddon).install;
      const n = (...parts: string[]) => `${name}-${addon.name}${parts.length ? `-${parts.join("-")}` : ""}`;
      let waitFor = addon.name === CCM ? [] : previous;
      const step = (r: pulumi.Resource) => {
        waitFor = [r];
        return r;
      };
      const after = () => (waitFor.length ? { dependsOn: waitFor } : {});
      if (addon.install.namespace !== "kube-system") {
        step(
          new k8s.core.v1.Namespace(
            n("namespace"),
            {
              metadata: {
                name: addon.install.namespace,
                labels: { ...(addon.install.namespaceLabels ?? {}) },
              },
            },
            { ...child, ...after() },
          ),
        );
      }
      const ram = addon.install.ram;
      let user: alicloud.ram.User | undefined;
      if (ram?.scope === "dedicated-user") {
        // Its own RAM user and access key, delivered as a Secret before the add-on starts.
        const creds = ram.credentialsSecret;
        user = new alicloud.ram.User(
          resourceName(spec.clusterName, "addon", addon.name, "user"),
          {
            name: RAM_NAMES.addonUser(spec, addon.name),
            comments: `${addon.name} in Kubernetes cluster ${spec.clusterName}`,
          },
          { parent: this },
        );
        const key = new alicloud.ram.AccessKey(
          resourceName(spec.clusterName, "addon", addon.name, "key"),
          { userName: user.name },
          { parent: this },
        );
        step(
          new k8s.core.v1.Secret(
            n("credentials"),
            {
              metadata: { name: creds.name, namespace: addon.install.namespace },
              stringData: pulumi.secret(
                pulumi.all([key.id, key.secret]).apply(([id, secret]) => ({
                  [creds.idKey]: id,
                  [creds.secretKey]: secret,
                  ...creds.extra,
                })),
              ),
            },
            { ...child, ...after() },
          ),
        );
      }
      if (addon.install.manifest) {
        step(
          new k8s.yaml.v2.ConfigGroup(
            n("manifest"),
            {
              objs: keep(
                addon.name,
                planned.apply((p) => [...(installOf(p).manifest?.objects ?? [])]),
              ),
            },
            { ...child, ...after() },
          ),
        );
      }
      for (const [j, c] of addon.install.charts.entries()) {
        step(
          installChart(
            n(c.name),
            {
              ref: c.ref,
              namespace: addon.install.namespace,
              values: keep(
                addon.name,
                planned.apply((p) => installOf(p).charts[j]?.values ?? {}),
              ),
            },
            { ...child, ...after() },
          ),
        );
      }
      if (ram) {
        const policy = new alicloud.ram.Policy(
          resourceName(spec.clusterName, "addon", addon.name),
          {
            policyName: RAM_NAMES.addonPolicy(spec, addon.name),
            // The statements may name this cluster's resources (scaling groups): from the plan with facts.
            policyDocument: planned.apply((p) =>
              JSON.stringify({ Version: "1", Statement: installOf(p).ram?.statements ?? [] }),
            ),
            rotateStrategy: RAM_POLICY_ROTATION,
            description: `${addon.name} in Kubernetes cluster ${spec.clusterName}`,
          },
          { parent: this },
        );
        if (user) {
          new alicloud.ram.UserPolicyAttachment(
            resourceName(spec.clusterName, "addon", addon.name, "user-policy"),
            {
              policyName: policy.policyName,
              policyType: "Custom",
              userName: user.name,
            },
            { parent: this },
          );
        } else {
          new alicloud.ram.RolePolicyAttachment(
            resourceName(spec.clusterName, "addon", addon.name, "control-plane"),
            {
              policyName: policy.policyName,
              policyType: "Custom",
              roleName: args.controlPlaneRole,
            },
            { parent: this },
          );
        }
      }
      if (addon.name !== CCM) previous = waitFor;
      else previous = [...previous, ...waitFor];
    }
    this.registerOutputs({});
  }
}
