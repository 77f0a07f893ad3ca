// The staged rollout of a version change, as a plan shown before anything runs:
// preflight checks, an etcd snapshot stored off the node, each control plane strictly
// one at a time (the first `kubeadm upgrade apply`, the others `kubeadm upgrade node`),
// then each pool, a canary of one node first, in growing waves.
//
// Order, from kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/
// kubeadm-upgrade.md: the first control plane runs `kubeadm upgrade apply`, the others
// `kubeadm upgrade node`, then the kubelets, each node drained first. Control planes go
// one at a time because kubeadm (1.28 and later) upgrades CoreDNS and kube-proxy only
// once every API server runs the new version (../shared/reference/upgrades.md §7).
import type { ClusterSpec } from "../../config/spec";
import { controlPlanePlacements } from "../control-plane";
import {
  ETCD_BACKUP_SECONDS,
  ETCD_BACKUP_SERVICE,
  SNAPSHOT_COMMAND_MARGIN_SECONDS,
  backupBucketName,
} from "../etcd-backup";
import {
  compareVersions,
  versionStepRefusals,
  type DeployedVersions,
  type VersionRefusal,
} from "./version-policy";
import { waveSizes } from "./waves";

export const PREFLIGHT_CHECKS = [
  { name: "nodes-ready", what: "every node Ready, none cordoned by an earlier rollout" },
  { name: "etcd-healthy", what: "every etcd member healthy, no learner, one member per control plane" },
  {
    name: "version-skew",
    what: "every kubelet within 3 minors of the target and none newer than an API server",
  },
  {
    name: "removed-apis",
    what: "apiserver_requested_deprecated_apis shows no request to an API the target removes",
  },
  {
    name: "surge-addresses",
    what: "each replaced pool's vSwitches have free addresses for its largest wave",
  },
  { name: "package-repository", what: "the target minor's package repository answers from a control plane" },
] as const;

export type Stage =
  | { readonly kind: "preflight"; readonly name: "preflight"; readonly checks: readonly string[] }
  | {
      readonly kind: "etcd-snapshot";
      readonly name: "etcd-snapshot";
      readonly from: string;
      /** The cluster's backup bucket (plan/etcd-backup.ts): stored off the control planes. */
      readonly bucket: string;
      /** The control plane whose scheduled-backup unit takes it, through Cloud Assistant. */
      readonly runsOn: string;
      /** A oneshot unit: `systemctl start` returns when the snapshot is stored, or failed. */
      readonly command: string;
      /** Cloud Assistant's Timeout: the unit's own limit and a margin. */
      readonly timeoutSeconds: number;
    }
  | {
      readonly kind: "control-plane";
      readonly name: string;
      readonly zone: string;
      readonly command: "kubeadm upgrade apply" | "kubeadm upgrade node";
    }
  | {
      readonly kind: "pool";
      readonly name: string;
      readonly from: string;
      readonly to: string;
      readonly strategy: "replace" | "in-place";
      readonly waves: readonly number[];
      /** New nodes a wave adds before it removes old ones: its size when replacing, else 0. */
      readonly surge: number;
      /** Each node's drain must end within this (upgrade.drainTimeoutSeconds). */
      readonly drainSeconds: number;
    };

export interface UpgradePlan {
  readonly from: string;
  readonly to: string;
  readonly stages: readonly Stage[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: UpgradePlan }
  | { readonly ok: false; readonly refusals: readonly VersionRefusal[] };

/** What a stack that never rolled out remembers: everything at the version it asks for. */
export function deployedAsRequested(spec: ClusterSpec, controlPlane: string): DeployedVersions {
  return {
    controlPlane,
    pools: Object.fromEntries(
      spec.nodePools.map((p) => [
        p.name,
        compareVersions(p.kubernetesVersion, controlPlane) <= 0 ? p.kubernetesVersion : controlPlane,
      ]),
    ),
  };
}

export function upgradePlan(spec: ClusterSpec, deployed: DeployedVersions): PlanResult {
  const to = spec.kubernetesVersion;
  const refusals: VersionRefusal[] = [
    ...versionStepRefusals(deployed, {
      controlPlane: to,
      pools: spec.nodePools.map((p) => ({ name: p.name, kubernetesVersion: p.kubernetesVersion })),
    }),
  ];
  const controlPlaneMoves = compareVersions(to, deployed.controlPlane) !== 0;
  // The snapshot taken before a control plane is touched must be stored off the nodes.
  if (controlPlaneMoves && !spec.etcdBackup.enabled) {
    refusals.push({
      path: ["etcdBackup", "enabled"],
      message: `is false, but the upgrade of the control planes to ${to} takes an etcd snapshot into the cluster's backup bucket first; enable etcd backups (one pulumi up), then upgrade`,
    });
  }
  if (refusals.length > 0) return { ok: false, refusals };

  const stages: Stage[] = [];
  const pools = spec.nodePools.filter((p) => {
    const running = deployed.pools[p.name];
    return running !== undefined && compareVersions(p.kubernetesVersion, running) !== 0;
  });
  if (controlPlaneMoves || pools.length > 0) {
    stages.push({ kind: "preflight", name: "preflight", checks: PREFLIGHT_CHECKS.map((c) => c.name) });
  }
  if (controlPlaneMoves) {
    const placements = controlPlanePlacements(spec);
    stages.push({
      kind: "etcd-snapshot",
      name: "etcd-snapshot",
      from: deployed.controlPlane,
      bucket: backupBucketName(spec),
      runsOn: (placements[0] as { name: string }).name,
      command: `systemctl start ${ETCD_BACKUP_SERVICE}`,
      timeoutSeconds: ETCD_BACKUP_SECONDS + SNAPSHOT_COMMAND_MARGIN_SECONDS,
    });
    for (const p of placements) {
      stages.push({
        kind: "control-plane",
        name: p.name,
        zone: p.zone,
        command: p.index === 0 ? "kubeadm upgrade apply" : "kubeadm upgrade node",
      });
    }
  }
  for (const p of pools) {
    const waves = waveSizes(p.maxSize, spec.upgrade);
    stages.push({
      kind: "pool",
      name: p.name,
      from: deployed.pools[p.name] as string,
      to: p.kubernetesVersion,
      strategy: p.upgradeStrategy,
      waves,
      surge: p.upgradeStrategy === "replace" ? Math.max(...waves) : 0,
      drainSeconds: spec.upgrade.drainTimeoutSeconds,
    });
  }
  return { ok: true, plan: { from: deployed.controlPlane, to, stages } };
}
