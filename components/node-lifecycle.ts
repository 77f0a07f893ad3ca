// The pools' node lifecycle (issue 16), declared by the composition root (components/cluster.ts)
// after the pools: scaled-in nodes drained from a control plane before ESS releases them, and,
// when enabled, pool instances whose node never came or broke reported to ESS with a brake.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import type { ControlPlanePlacement } from "../plan/control-plane";
import { RAM_NAMES, resourceName } from "../plan/naming";
import { NodeHealth, nodeHealthName } from "./node-health";
import type { NodePool } from "./node-pool";
import { ScaleInDrain } from "./scale-in-drain";

export interface NodeLifecycleArgs {
  readonly pools: Readonly<Record<string, NodePool>>;
  readonly placements: readonly ControlPlanePlacement[];
  /** ControlPlane.instanceIds, in placement order. */
  readonly controlPlaneIds: readonly pulumi.Output<string>[];
  /** The control planes' steady RAM role, which the health check's policy is attached to. */
  readonly controlPlaneRoleName: pulumi.Input<string>;
  /** The control planes' last installer: the health check is installed after it. */
  readonly afterInstalls: pulumi.Resource;
}

export function declareNodeLifecycle(
  parent: pulumi.Resource,
  spec: Pick<ClusterSpec, "clusterName" | "region" | "tags" | "upgrade" | "nodePools" | "nodeHealth" | "ram">,
  a: NodeLifecycleArgs,
): void {
  const groupOf = (name: string) => (a.pools[name] as NodePool).scalingGroupId;
  new ScaleInDrain(
    resourceName(spec.clusterName, "scale-in"),
    {
      clusterName: spec.clusterName,
      region: spec.region,
      tags: spec.tags,
      drainSeconds: spec.upgrade.drainTimeoutSeconds,
      roleName: RAM_NAMES.scaleInRole(spec),
      policyName: RAM_NAMES.scaleInPolicy(spec),
      controlPlaneIds: a.controlPlaneIds,
      pools: Object.fromEntries(
        spec.nodePools.map((p) => [p.name, { scalingGroupId: groupOf(p.name), maxSize: p.maxSize }]),
      ),
    },
    { parent },
  );
  if (!spec.nodeHealth.enabled) return;
  new NodeHealth(
    nodeHealthName(spec.clusterName),
    {
      clusterName: spec.clusterName,
      region: spec.region,
      settings: spec.nodeHealth,
      policyName: RAM_NAMES.nodeHealthPolicy(spec),
      controlPlaneRoleName: a.controlPlaneRoleName,
      controlPlanes: a.placements.map((p, i) => ({
        name: p.name,
        instanceId: a.controlPlaneIds[i] as pulumi.Output<string>,
      })),
      after: a.afterInstalls,
      pools: Object.fromEntries(spec.nodePools.map((p) => [p.name, groupOf(p.name)])),
    },
    { parent },
  );
}
