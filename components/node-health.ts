import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { RAM_POLICY_ROTATION, resourceName } from "../plan/naming";
import { type HealthSettings, nodeHealthInstaller, nodeHealthStatements } from "../plan/node-health";
import { INSTALL_COMMAND_SECONDS } from "../plan/node-commands";
import { ReadinessCheck } from "./readiness";

export interface NodeHealthArgs {
  readonly clusterName: string;
  readonly region: string;
  readonly settings: HealthSettings;
  readonly policyName: string;
  /** The control planes' steady role: the timer runs there, with its credentials. */
  readonly controlPlaneRoleName: pulumi.Input<string>;
  /** Each control plane, in order: its placement name and instance id. */
  readonly controlPlanes: readonly { name: string; instanceId: pulumi.Input<string> }[];
  /** The control planes' last installation: this one starts after it, one control plane at a time. */
  readonly after: pulumi.Resource;
  /** Each pool's scaling group id, by pool name. */
  readonly pools: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * Reports pool instances whose node never came or broke Unhealthy to ESS, with a brake
 * (plan/node-health.ts says how): the control planes' grant on this cluster's scaling
 * groups, and the timer installed on every control plane, one after the other.
 */
export class NodeHealth extends pulumi.ComponentResource {
  constructor(name: string, args: NodeHealthArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:NodeHealth", name, {}, opts);
    const child = { parent: this };
    const names = Object.keys(args.pools);
    const groups = pulumi.all(names.map((n) => args.pools[n] as pulumi.Input<string>));
    const policy = new alicloud.ram.Policy(
      `${name}-policy`,
      {
        policyName: args.policyName,
        policyDocument: groups.apply((ids) =>
          JSON.stringify({ Version: "1", Statement: nodeHealthStatements(args.region, ids) }),
        ),
        rotateStrategy: RAM_POLICY_ROTATION,
        description: `Report unhealthy nodes of Kubernetes cluster ${args.clusterName} to Auto Scaling`,
      },
      child,
    );
    const attachment = new alicloud.ram.RolePolicyAttachment(
      `${name}-attachment`,
      { policyName: policy.policyName, policyType: "Custom", roleName: args.controlPlaneRoleName },
      child,
    );
    const script = groups.apply((ids) =>
      nodeHealthInstaller(
        args.region,
        Object.fromEntries(names.map((n, i) => [n, ids[i] as string])),
        args.settings,
      ),
    );
    let previous: pulumi.Resource = args.after;
    for (const cp of args.controlPlanes) {
      previous = new ReadinessCheck(
        `${cp.name}-node-health`,
        { regionId: args.region, instanceId: cp.instanceId, script, timeoutSeconds: INSTALL_COMMAND_SECONDS },
        { parent: this, dependsOn: [previous, attachment] },
      );
    }
    this.registerOutputs({});
  }
}

export const nodeHealthName = (clusterName: string) => resourceName(clusterName, "node-health");
