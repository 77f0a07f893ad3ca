// The rollout engine's ports on Alibaba Cloud: what it observes (the cluster through
// bootstrap/rollout-node.py on a control plane, each pool through ESS) and how it acts
// (Cloud Assistant commands on control planes and upgraded nodes, ESS for a pool's size
// and removals). Every command has its own Cloud Assistant Timeout and the wait for it
// its own limit beyond (components/readiness.ts waitForCommand, through ./commands.ts);
// a failed step halts with the node's output.
import type { Action } from "../../plan/rollout/decision";
import {
  mergeSnapshots,
  parseRolloutResult,
  parseSnapshot,
  rolloutNodeCommand,
  toObserved,
  type ClusterSnapshot,
} from "../../plan/rollout/node-script";
import type { Observed } from "../../plan/rollout/observed";
import { UPGRADE_NODE_COMMAND_SECONDS } from "../../plan/upgrade-node";
import type { CommandApi } from "../cloud-assistant";
import type { InstanceApi } from "../ecs-instances";
import { whileEssBusy, type EssApi } from "../ess";
import { poolObserver, type RolloutPool } from "./observe-pools";
import type { VpcApi } from "../vpc";
import type { WaitOptions } from "../readiness";
import { ESS_BUSY_SECONDS } from "../../plan/rollout/limits";
import { beforeControlPlanesMove } from "./before-control-planes";
import { rolloutCommands } from "./commands";
import { RolloutHalted, type RolloutPorts } from "./engine";

export type { RolloutPool } from "./observe-pools";

export interface CloudPortsArgs {
  readonly commands: CommandApi;
  readonly ess: EssApi;
  /** ECS, for an `in-place` pool's template tags (components/rollout/observe-pools.ts). */
  readonly instances?: InstanceApi;
  readonly vpc?: VpcApi;
  /** The control planes' instance ids in placement order (cp-0 first). */
  readonly controlPlaneInstanceIds: readonly string[];
  readonly pools: readonly RolloutPool[];
  /** The version the control planes go to. */
  readonly version: string;
  /**
   * The on-node upgrade commands (plan/upgrade-node.ts upgradeNodeCommand), rendered where
   * the program runs: `apply` for the first control plane, `node` for the others and for
   * in-place pool nodes (at the pool's version).
   */
  readonly upgradeCommands: { readonly apply?: string; readonly node: string };
  readonly drainBudgetSeconds: number;
  /** How long a node may take to pass its gate after its upgrade or launch. */
  readonly gateSeconds: number;
  readonly log: (line: string) => void;
  /**
   * Whether the control planes take scheduled etcd snapshots (etcdBackup.enabled): the
   * rollout starts one, stored off the nodes, before the first control plane moves.
   */
  readonly etcdSnapshots: boolean;
  /**
   * The target minor's package repository (plan/upgrade-node.ts kubernetesRepository): the
   * preflight before the first control plane moves checks that a control plane reaches it.
   */
  readonly packageRepository?: string;
  /** Overrides for tests (poll interval, clock). */
  readonly wait?: WaitOptions;
}

/**
 * Node names per mark or release command: with 100 names of about 32 characters the
 * command is about 14.4 KB of Base64, under Cloud Assistant's 16 KB (measured; 150 names
 * would be 16.7 KB, which rolloutNodeCommand refuses).
 */
const NODE_BATCH = 100;

/** A ClientToken per step and its inputs (ESS: at most 64 ASCII characters): a retry is not done twice. */
export const clientToken = (...parts: readonly (string | number)[]) =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  `ka-${(require("node:crypto") as typeof import("node:crypto")).createHash("sha256").update(parts.join("|")).digest("hex").slice(0, 40)}`;

export function cloudPorts(a: CloudPortsArgs): RolloutPorts {
  const pools = poolObserver(a.pools, a.ess, a.instances, a.log);
  const byNode = new Map<string, string>();
  let lastSnapshot: ClusterSnapshot | undefined;
  let lastObserved: Observed | undefined;
  const nameOf = (instanceId: string) => {
    const hit = [...byNode].find(([, id]) => id === instanceId);
    if (!hit) throw new RolloutHalted(`instance ${instanceId} has no Node in the last observation`);
    return hit[0];
  };
  const instanceOf = (node: string) => {
    const id = byNode.get(node);
    if (!id) throw new RolloutHalted(`node ${node} was not in the last observation`);
    return id;
  };

  const { run, onControlPlane, requireOk, drain } = rolloutCommands(a);

  const upgradeInPlace = async (
    node: string,
    kind: "apply" | "node",
    version: string,
    gate: "gate" | "cp-gate",
  ) => {
    const instanceId = instanceOf(node);
    const command = a.upgradeCommands[kind];
    if (!command) throw new RolloutHalted(`no kubeadm upgrade ${kind} command was given for ${node}`);
    // kubeadm upgrade node moves a node one minor (kubernetes/website content/en/docs/
    // tasks/administer-cluster/kubeadm/kubeadm-upgrade.md): an in-place pool node further
    // behind (its pool created before the rollout had a memory) is refused before its drain.
    const running = lastSnapshot?.nodes.find((n) => n[0] === node)?.[2] ?? version;
    if (Number(version.split(".")[1]) - Number(running.split(".")[1]) > 1)
      throw new RolloutHalted(
        `${node} runs ${running}: kubeadm upgrades a node in place one minor at a time, and ${version} is further; set the pool's kubernetesVersion to the next minor first${lastObserved?.pools.some((p) => p.nodes.some((n) => n.name === node && n.attached)) ? " (an adopted instance is always upgraded in place)" : ", or use upgradeStrategy: replace"}`,
      );
    await drain(node, gate === "cp-gate" ? instanceId : undefined);
    const up = await run(instanceId, command, UPGRADE_NODE_COMMAND_SECONDS, `upgrade ${node}`);
    if (up.exitCode !== 0) {
      const tail = up.output.trimEnd().split("\n").slice(-30).join("\n");
      throw new RolloutHalted(
        `the upgrade of ${node} to ${version} failed (exit ${up.exitCode}); it stays cordoned. Its output:\n${tail}`,
      );
    }
    requireOk(await onControlPlane({ kind: "uncordon", node }, `uncordon ${node}`), `uncordoning ${node}`);
    // A control plane's gate runs on itself: /readyz of its own API server.
    const g =
      gate === "cp-gate"
        ? await (async () => {
            const { script, timeoutSeconds } = rolloutNodeCommand({
              kind: gate,
              node,
              version,
              seconds: a.gateSeconds,
            });
            const r = await run(instanceId, script, timeoutSeconds, `gate ${node}`);
            return { ...r, result: parseRolloutResult(r.output) };
          })()
        : await onControlPlane({ kind: gate, node, version, seconds: a.gateSeconds }, `gate ${node}`);
    requireOk(g, `the gate of ${node} at ${version}`);
  };

  const { snapshot, runPreflight } = beforeControlPlanesMove({
    args: a,
    run,
    onControlPlane,
    requireOk,
    lastSnapshot: () => lastSnapshot,
  });

  /** An ESS call, waited out while the group is busy (ESS_BUSY_SECONDS), then a halt naming ESS's code. */
  const busyRetry = async (what: string, f: () => Promise<void>) => {
    try {
      await whileEssBusy(f, {
        seconds: ESS_BUSY_SECONDS,
        log: (l) => a.log(`${what}: ${l}`),
        ...(a.wait?.now ? { now: a.wait.now } : {}),
        ...(a.wait?.sleep ? { sleep: a.wait.sleep } : {}),
      });
    } catch (err) {
      throw new RolloutHalted(`${what}: ESS refused: ${(err as Error).message}`);
    }
  };

  const pool = (name: string) => {
    const p = a.pools.find((x) => x.name === name);
    if (!p) throw new RolloutHalted(`pool ${name} is not part of this rollout`);
    return p;
  };

  return {
    log: a.log,
    async observe(): Promise<Observed> {
      const pages: ClusterSnapshot[] = [];
      for (let page = 0; page < (pages[0]?.pages ?? 1); page++) {
        const r = await onControlPlane({ kind: "observe", page }, "observe the cluster");
        if (!r.result)
          throw new RolloutHalted(`the observation printed no result:\n${r.output.slice(-2000)}`);
        pages.push(parseSnapshot(r.result));
      }
      const essPools = await pools.observe();
      const snapshot = mergeSnapshots(pages);
      lastSnapshot = snapshot;
      const observed = toObserved(snapshot, a.controlPlaneInstanceIds, essPools);
      lastObserved = observed;
      byNode.clear();
      for (const n of snapshot.nodes) byNode.set(n[0], n[1] || n[0].slice(n[0].lastIndexOf(".") + 1));
      return observed;
    },
    async finish(observed: Observed): Promise<void> {
      const held = observed.pools.flatMap((p) => p.nodes.filter((n) => n.gated).map((n) => n.name));
      for (let i = 0; i < held.length; i += NODE_BATCH) {
        const nodes = held.slice(i, i + NODE_BATCH);
        requireOk(
          await onControlPlane({ kind: "release", nodes }, "release the gated nodes"),
          "releasing nodes",
        );
      }
    },
    async act(action: Action, deadline: number): Promise<void> {
      switch (action.kind) {
        case "upgrade-control-plane":
          // The first control plane to move (`upgrade apply`): a snapshot first.
          if (action.command === "kubeadm upgrade apply") {
            if (!a.etcdSnapshots)
              throw new RolloutHalted(
                "the control planes would move without an etcd snapshot stored off the nodes: set etcdBackup.enabled: true (one pulumi up), then upgrade",
              );
            await runPreflight(action.node);
            await snapshot();
          }
          return upgradeInPlace(
            action.node,
            action.command === "kubeadm upgrade apply" ? "apply" : "node",
            a.version,
            "cp-gate",
          );
        case "uncordon":
          return requireOk(
            await onControlPlane({ kind: "uncordon", node: action.node }, `uncordon ${action.node}`),
            `uncordoning ${action.node}`,
          );
        case "mark": {
          // In batches: a wave marked in part is a smaller wave (the next pass surges for
          // the nodes marked), never an unsafe one.
          const all = action.instanceIds.map(nameOf);
          for (let i = 0; i < all.length; i += NODE_BATCH) {
            const nodes = all.slice(i, i + NODE_BATCH);
            const r = await onControlPlane(
              { kind: "mark", steady: action.steady, nodes },
              "mark nodes for replacement",
            );
            requireOk(r, `marking ${nodes.length} nodes from ${nodes[0] ?? ""}`);
          }
          return;
        }
        case "surge": {
          const p = pool(action.pool);
          // The plan's surge-addresses check, for this wave: its new instances must find
          // addresses in the pool's vSwitches, or ESS fails to launch them.
          const now = lastObserved?.pools.find((x) => x.name === p.name)?.desired ?? 0;
          const vswitchIds = pools.vswitchesOf(p.name);
          if (a.vpc && vswitchIds.length > 0) {
            const free = await a.vpc.freeAddresses(vswitchIds);
            const total = Object.values(free).reduce((x, y) => x + y, 0);
            if (total < action.desired - now)
              throw new RolloutHalted(
                `pool ${p.name}: the wave adds ${action.desired - now} nodes, but its vSwitches have ${total} free addresses (${Object.entries(
                  free,
                )
                  .map(([id, n]) => `${id}: ${n}`)
                  .join(", ")}): free addresses, or lower upgrade.maxWaveShare or upgrade.waves`,
              );
          }
          return busyRetry(`scale pool ${p.name}`, () => a.ess.scaleTo(p.scalingGroupId, action.desired));
        }
        case "gate": {
          const p = pool(action.pool);
          const r = await onControlPlane(
            { kind: "gate", node: action.node, version: p.version, seconds: a.gateSeconds },
            `gate ${action.node}`,
          );
          return requireOk(r, `the gate of new node ${action.node} at ${p.version}`);
        }
        // A failed drain uncordons (drain.sh) and halts; a rerun drains again. A node
        // left cordoned by a killed run carries no drained record, so it is drained again.
        case "drain":
          return drain(action.node);
        case "remove": {
          const p = pool(action.pool);
          const ids = [...action.instanceIds].sort();
          // Retried whole while ESS is busy: each batch's ClientToken keeps a batch ESS took once.
          // Without surge the group keeps its capacity and ESS launches as many (plan/rollout/no-surge.ts).
          const keep = action.keepCapacity === true;
          return busyRetry(`remove from pool ${p.name}`, () =>
            a.ess.remove(p.scalingGroupId, ids, clientToken(p.scalingGroupId, "remove", ...ids), keep),
          );
        }
        case "upgrade-in-place": {
          const p = pool(action.pool);
          // Each node is a step of its own length: none starts after the budget.
          const now = a.wait?.now ?? Date.now;
          for (const node of action.nodes) {
            if (now() >= deadline) return;
            await upgradeInPlace(node, "node", p.version, "gate");
          }
          return;
        }
      }
    },
  };
}
