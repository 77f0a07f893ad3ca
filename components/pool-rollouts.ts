// The pools' rollouts and adopted instances, declared by the composition root
// (components/cluster.ts) after the pools: one PoolRollout per pool, one after another
// behind the control planes' rollout, and an AdoptedInstances for each pool that lists any.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { adoptionCommands } from "../plan/adopt";
import { resourceName } from "../plan/naming";
import { upgradeNodeCommand } from "../plan/upgrade-node";
import { AdoptedInstances } from "./adopt/resource";
import type { NodePool } from "./node-pool";
import { PoolRollout, type ControlPlaneRollout } from "./rollout/resources";

export interface PoolRolloutsArgs {
  readonly pools: Readonly<Record<string, NodePool>>;
  /** Each pool's user data (components/user-data.ts poolUserData). */
  readonly userData: Readonly<Record<string, pulumi.Output<string>>>;
  readonly roleNames: Readonly<Record<string, pulumi.Input<string>>>;
  readonly controlPlaneRollout: ControlPlaneRollout;
  /** What every rollout shares (cluster.ts rolloutSettings). */
  readonly settings: {
    readonly regionId: string;
    readonly controlPlaneInstanceIds: pulumi.Input<string[]>;
    readonly drainBudgetSeconds: number;
    readonly gateSeconds: number;
    readonly budgetMinutes: number;
    readonly etcdSnapshots: boolean;
  };
  readonly vpcId: pulumi.Input<string>;
  readonly workersGroupId: pulumi.Input<string>;
}

export function declarePoolRollouts(
  parent: pulumi.Resource,
  spec: Pick<ClusterSpec, "clusterName" | "region" | "upgrade" | "nodePools">,
  a: PoolRolloutsArgs,
): void {
  // One pool at a time, in the stack's order, each after its group took the new template version.
  let previousRollout: pulumi.Resource = a.controlPlaneRollout;
  spec.nodePools.forEach((pool, i) => {
    const rollout = new PoolRollout(
      resourceName(spec.clusterName, "rollout", "pool", pool.name),
      {
        ...a.settings,
        configKey: `nodePools[${i}].kubernetesVersion`,
        version: pool.kubernetesVersion,
        controlPlaneVersion: a.controlPlaneRollout.confirmedVersion,
        upgradeCommands: { node: upgradeNodeCommand("node", pool.kubernetesVersion) },
        pool: pulumi
          .all([
            (a.pools[pool.name] as NodePool).scalingGroupId,
            (a.pools[pool.name] as NodePool).launchTemplateVersion,
            (a.pools[pool.name] as NodePool).templateDigest,
          ])
          .apply(([scalingGroupId, templateVersion, templateDigest]) => ({
            name: pool.name,
            scalingGroupId,
            strategy: pool.upgradeStrategy,
            waveSettings: { waves: spec.upgrade.waves, maxWaveShare: spec.upgrade.maxWaveShare },
            templateVersion,
            templateDigest,
            // Only when it holds: a pool's size is no input of its rollout (a resize is no rollout).
            ...(pool.minSize >= pool.maxSize ? { fixedSize: true } : {}),
            // Adopted instances are upgraded in place, whatever the pool's strategy.
            ...(pool.adoptInstanceIds.length > 0 ? { adopted: true } : {}),
          })),
      },
      { parent, dependsOn: [previousRollout] },
    );
    previousRollout = rollout;
    // Instances the operator brings (components/adopt), once the pool is at its version.
    if (pool.adoptInstanceIds.length > 0)
      new AdoptedInstances(
        resourceName(spec.clusterName, "pool", pool.name, "adopted"),
        {
          regionId: spec.region,
          controlPlaneInstanceIds: a.settings.controlPlaneInstanceIds,
          drainBudgetSeconds: spec.upgrade.drainTimeoutSeconds,
          gateSeconds: spec.upgrade.gateTimeoutSeconds,
          configKey: `nodePools[${i}]`,
          pool: pool.name,
          scalingGroupId: (a.pools[pool.name] as NodePool).scalingGroupId,
          vpcId: a.vpcId,
          securityGroupId: a.workersGroupId,
          roleName: a.roleNames[pool.name] as pulumi.Input<string>,
          version: rollout.confirmedVersion,
          instanceIds: pool.adoptInstanceIds,
          bootstrapDigest: (a.pools[pool.name] as NodePool).bootstrapDigest,
          commands: (a.userData[pool.name] as pulumi.Output<string>).apply((u) =>
            adoptionCommands(u, spec.region, spec.upgrade.drainTimeoutSeconds),
          ),
        },
        { parent: a.pools[pool.name] as NodePool, dependsOn: [rollout] },
      );
  });
}
