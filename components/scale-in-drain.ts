import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { RAM_POLICY_ROTATION, resourceName } from "../plan/naming";
import { hookArn, oosRoleStatements, scaleInTemplate, scaleInTimeouts } from "../plan/scale-in";

export interface ScaleInDrainArgs {
  readonly clusterName: string;
  readonly region: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The drain budget (upgrade.drainTimeoutSeconds), shared with the staged rollout. */
  readonly drainSeconds: number;
  readonly roleName: string;
  readonly policyName: string;
  readonly controlPlaneIds: readonly pulumi.Input<string>[];
  /** Each pool's scaling group id and maxSize. */
  readonly pools: Readonly<Record<string, { scalingGroupId: pulumi.Input<string>; maxSize: number }>>;
}

/** One hook per pool, whatever the pool's size; the hooks' fixed name (unique per group). */
export const SCALE_IN_HOOK_NAME = "kubeadm-alicloud-drain";

/**
 * Drains nodes that ESS scales in (plan/scale-in.ts says how): an OOS template and the
 * RAM role it assumes for the cluster, and a SCALE_IN lifecycle hook on every pool.
 */
export class ScaleInDrain extends pulumi.ComponentResource {
  readonly templateName: pulumi.Output<string>;

  constructor(name: string, args: ScaleInDrainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:ScaleInDrain", name, {}, opts);
    const child = { parent: this };
    const { clusterName, region } = args;
    const groupIds = Object.values(args.pools).map((p) => p.scalingGroupId);
    const role = new alicloud.ram.Role(
      resourceName(clusterName, "scale-in-role"),
      {
        roleName: args.roleName,
        description: `OOS drains scaled-in nodes of Kubernetes cluster ${clusterName}`,
        assumeRolePolicyDocument: JSON.stringify({
          Version: "1",
          Statement: [
            { Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: ["oos.aliyuncs.com"] } },
          ],
        }),
      },
      child,
    );
    const policy = new alicloud.ram.Policy(
      resourceName(clusterName, "scale-in-policy"),
      {
        policyName: args.policyName,
        policyDocument: pulumi
          .all([pulumi.all([...args.controlPlaneIds]), pulumi.all(groupIds)])
          .apply(([cps, groups]) =>
            JSON.stringify({ Version: "1", Statement: oosRoleStatements(region, cps, groups) }),
          ),
        rotateStrategy: RAM_POLICY_ROTATION,
        description: `Drain scaled-in nodes of Kubernetes cluster ${clusterName}`,
      },
      child,
    );
    const attachment = new alicloud.ram.RolePolicyAttachment(
      resourceName(clusterName, "scale-in-attachment"),
      { policyName: policy.policyName, policyType: "Custom", roleName: role.roleName },
      child,
    );
    const maxPoolSize = Math.max(1, ...Object.values(args.pools).map((p) => p.maxSize));
    const template = new alicloud.oos.Template(
      resourceName(clusterName, "scale-in-template"),
      {
        templateName: resourceName(clusterName, "scale-in-drain"),
        content: pulumi.all([...args.controlPlaneIds]).apply((ids) =>
          JSON.stringify(
            scaleInTemplate({
              region,
              drainSeconds: args.drainSeconds,
              maxPoolSize,
              controlPlaneIds: ids,
              roleName: args.roleName,
            }),
          ),
        ),
        tags: { ...args.tags },
      },
      child,
    );
    const account = alicloud.getCallerIdentityOutput(child);
    for (const [pool, p] of Object.entries(args.pools)) {
      new alicloud.ess.LifecycleHook(
        resourceName(clusterName, "pool", pool, "scale-in-hook"),
        {
          scalingGroupId: p.scalingGroupId,
          name: SCALE_IN_HOOK_NAME,
          lifecycleTransition: "SCALE_IN",
          heartbeatTimeout: scaleInTimeouts(args.drainSeconds, p.maxSize).heartbeatSeconds,
          // The instance goes either way on scale-in; ABANDON marks a hook that timed out.
          defaultResult: "ABANDON",
          notificationArn: pulumi
            .all([account.accountId, template.templateName])
            .apply(([accountId, templateName]) => hookArn(region, accountId, templateName)),
        },
        { parent: this, dependsOn: [attachment] },
      );
    }
    this.templateName = template.templateName;
    this.registerOutputs({ templateName: this.templateName });
  }
}
