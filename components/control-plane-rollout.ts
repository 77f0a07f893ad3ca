// The control planes' rollout, declared by the composition root (components/cluster.ts): one
// ControlPlaneRollout after every control plane's installers, with the on-node upgrade commands
// rendered here, and the settings every rollout of the cluster shares (the pools' too:
// components/pool-rollouts.ts).
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { resourceName } from "../plan/naming";
import { kubernetesRepository, upgradeNodeCommand } from "../plan/upgrade-node";
import { ControlPlaneRollout } from "./rollout/resources";

export function declareControlPlaneRollout(
  parent: pulumi.Resource,
  spec: Pick<
    ClusterSpec,
    "clusterName" | "region" | "kubernetesVersion" | "upgrade" | "etcdBackup" | "nodeSoftware"
  >,
  a: {
    readonly instanceIds: readonly pulumi.Output<string>[];
    /** The control planes' readiness checks and last installer: the rollout runs after them. */
    readonly after: readonly pulumi.Resource[];
  },
) {
  const rolloutSettings = {
    regionId: spec.region,
    controlPlaneInstanceIds: pulumi.all([...a.instanceIds]),
    drainBudgetSeconds: spec.upgrade.drainTimeoutSeconds,
    gateSeconds: spec.upgrade.gateTimeoutSeconds,
    budgetMinutes: spec.upgrade.timeBudgetMinutes,
    etcdSnapshots: spec.etcdBackup.enabled,
  };
  const controlPlaneRollout = new ControlPlaneRollout(
    resourceName(spec.clusterName, "rollout", "control-planes"),
    {
      ...rolloutSettings,
      configKey: "kubernetesVersion",
      version: spec.kubernetesVersion,
      controlPlaneVersion: spec.kubernetesVersion,
      upgradeCommands: {
        apply: upgradeNodeCommand("apply", spec.kubernetesVersion),
        node: upgradeNodeCommand("node", spec.kubernetesVersion),
      },
      packageRepository: kubernetesRepository(
        spec.nodeSoftware.packageSource,
        spec.kubernetesVersion.split(".").slice(0, 2).join("."),
      ),
    },
    { parent, dependsOn: [...a.after] },
  );
  return { controlPlaneRollout, rolloutSettings };
}
