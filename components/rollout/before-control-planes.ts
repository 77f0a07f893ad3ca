// What happens once before the first control plane moves (`kubeadm upgrade apply`): the
// plan's preflight and an etcd snapshot stored off the nodes. Split from cloud-ports.ts,
// whose closures it is given.
import {
  ETCD_BACKUP_SECONDS,
  ETCD_BACKUP_SERVICE,
  SNAPSHOT_COMMAND_MARGIN_SECONDS,
} from "../../plan/etcd-backup";
import type { ClusterSnapshot, RolloutNodeResult } from "../../plan/rollout/node-script";
import { preflight } from "../../plan/upgrade/preflight";
import { RolloutHalted } from "./engine";

/** A finished command (components/readiness.ts waitForCommand's result). */
type Ran = { readonly invokeId: string; readonly output: string; readonly exitCode: number };
type RanStep = Ran & { readonly result: RolloutNodeResult | undefined };

export interface BeforeContext {
  /** cloud-ports.ts CloudPortsArgs' fields of the same names. */
  readonly args: {
    readonly controlPlaneInstanceIds: readonly string[];
    readonly packageRepository?: string;
    readonly version: string;
  };
  readonly run: (instanceId: string, script: string, timeoutSeconds: number, what: string) => Promise<Ran>;
  readonly onControlPlane: (
    step: { kind: "preflight"; version: string; repository: string },
    what: string,
  ) => Promise<RanStep>;
  readonly requireOk: (r: RanStep, what: string) => void;
  readonly lastSnapshot: () => ClusterSnapshot | undefined;
}

export function beforeControlPlanesMove(c: BeforeContext) {
  /**
   * The scheduled backup's own oneshot unit on the first control plane: `systemctl start`
   * returns when the snapshot is stored in the bucket, or failed (plan/etcd-backup.ts).
   */
  const snapshot = async () => {
    const a = c.args;
    const [first] = a.controlPlaneInstanceIds;
    if (!first) throw new RolloutHalted("no control plane to take the etcd snapshot on");
    const script = [
      "#!/usr/bin/env bash",
      "set -euo pipefail",
      `if ! systemctl start ${ETCD_BACKUP_SERVICE}; then`,
      `  journalctl -u ${ETCD_BACKUP_SERVICE} -n 40 --no-pager || true`,
      "  exit 1",
      "fi",
      "echo 'kubeadm-alicloud: etcd snapshot stored before the upgrade'",
      "",
    ].join("\n");
    const r = await c.run(
      first,
      script,
      ETCD_BACKUP_SECONDS + SNAPSHOT_COMMAND_MARGIN_SECONDS,
      "take an etcd snapshot",
    );
    if (r.exitCode !== 0)
      throw new RolloutHalted(
        `the etcd snapshot before the upgrade failed (exit ${r.exitCode}); nothing was upgraded. Its output:\n${r.output.trimEnd().split("\n").slice(-40).join("\n")}`,
      );
  };

  /**
   * The plan's preflight (plan/upgrade/preflight.ts), before the first control plane
   * moves: every node Ready and uncordoned, etcd's members healthy, no learner, one per
   * control plane, kubelets within the skew of the target, no request to an API the
   * target removes, the target's package repository reachable from a control plane. The
   * free vSwitch addresses for a pool's surge are not checked here (no VPC call yet).
   */
  const runPreflight = async (moving: string) => {
    const a = c.args;
    if (!a.packageRepository) throw new RolloutHalted("no package repository to check was given");
    const [first] = a.controlPlaneInstanceIds;
    const r = await c.onControlPlane(
      { kind: "preflight", version: a.version, repository: a.packageRepository },
      "run the preflight",
    );
    if (!r.result?.ok) return c.requireOk(r, "the preflight");
    const snapshot = c.lastSnapshot();
    if (!snapshot || !first) throw new RolloutHalted("the preflight has no observation of the cluster");
    const failures = preflight({
      target: a.version,
      nodes: snapshot.nodes.map((n) => ({
        name: n[0],
        ready: (n[3] & 1) !== 0,
        // The control plane about to move may be cordoned by this rollout's earlier run.
        cordoned: (n[3] & 2) !== 0 && n[0] !== moving,
        kubeletVersion: n[2],
        ...(snapshot.apiServers[n[0]] ? { apiServerVersion: snapshot.apiServers[n[0]] } : {}),
      })),
      etcdMembers: r.result.etcd ?? [],
      controlPlaneCount: a.controlPlaneInstanceIds.length,
      apiServerMetrics: (r.result.metrics ?? []).join("\n"),
      replacedPools: [],
      packageRepository: { url: a.packageRepository, reachable: r.result.repository === true },
    });
    if (failures.length > 0)
      throw new RolloutHalted(
        `the preflight failed; nothing was changed:\n${failures.map((f) => `- ${f.check}: ${f.message}`).join("\n")}`,
      );
  };

  return { snapshot, runPreflight };
}
