// A pool's next step. Replace: mark a wave of old nodes (recording the pool's size),
// surge the scaling group by as many, gate each new node, and only once the pool again
// holds its size in gated new and unmarked old nodes, drain the marked ones one by one and
// remove them. In place: upgrade a wave of old nodes where they are; nodes whose template
// differs in more than the version are replaced without surge (plan/rollout/no-surge.ts).
// Waves follow plan/upgrade/waves.ts, indexed by how many nodes are at the target
// already, so that a rerun continues the wave sequence where it stands.
import type { Decision } from "./decision";
import { nextNoSurgeStep } from "./no-surge";
import type { ObservedPool, ObservedPoolNode } from "./observed";
import { nextWave } from "../upgrade/waves";

export function nextPoolStep(
  pool: ObservedPool,
  version: string,
  waves: readonly number[],
): Decision | undefined {
  if (pool.strategy === "in-place") return nextNoSurgeStep(pool, version, waves, nextInPlaceStep);
  // An instance the operator brought (nodePools[].adoptInstanceIds) is never replaced:
  // removing it would hand the operator's machine back. It stays through the waves, counted
  // in the pool's size, and is upgraded where it is once the launched nodes are done.
  const attached = pool.nodes.filter((n) => n.attached === true);
  const launched = { ...pool, nodes: pool.nodes.filter((n) => n.attached !== true) };
  return (
    nextReplaceStep(launched, version, waves, attached.length) ??
    nextInPlaceStep({ ...pool, nodes: attached }, version, waves)
  );
}

export function nextInPlaceStep(
  pool: ObservedPool,
  version: string,
  waves: readonly number[],
): Decision | undefined {
  // In place can change only the version.
  const old = pool.nodes.filter((n) => n.kubeletVersion !== version);
  const fresh = pool.nodes.filter((n) => n.kubeletVersion === version);
  const cordoned = fresh.find((n) => n.cordoned);
  if (cordoned) return { kind: "uncordon", node: cordoned.name };
  if (old.length === 0) return undefined;
  const size = Math.min(nextWave(waves, fresh.length), old.length);
  return { kind: "upgrade-in-place", pool: pool.name, nodes: old.slice(0, size).map((n) => n.name) };
}

/** `kept`: nodes of the pool outside `pool.nodes` that stay through the waves (attached ones). */
function nextReplaceStep(
  pool: ObservedPool,
  version: string,
  waves: readonly number[],
  kept: number,
): Decision | undefined {
  // Replacement also carries template changes.
  const isOld = (n: ObservedPoolNode) => n.kubeletVersion !== version || n.outdated === true;
  const old = pool.nodes.filter(isOld);
  const fresh = pool.nodes.filter((n) => !isOld(n));
  const marked = old.filter((n) => n.marked);
  const unmarked = old.filter((n) => !n.marked);

  if (marked.length > 0) {
    const steady = pool.steady ?? pool.desired;
    const wanted = steady + marked.length;
    if (pool.desired < wanted) return { kind: "surge", pool: pool.name, desired: wanted };
    const ungated = fresh.find((n) => n.ready && !n.gated);
    if (ungated) return { kind: "gate", pool: pool.name, node: ungated.name };
    const gated = fresh.filter((n) => n.ready && n.gated).length;
    if (unmarked.length + gated + kept < steady) {
      return {
        kind: "wait",
        reason: `pool ${pool.name}: ${gated} new nodes passed the gate, ${steady - unmarked.length - kept} needed before old ones go (${pool.pending} launching)`,
      };
    }
    // Drained means drain.sh finished: a node cordoned by a drain a kill interrupted is drained again.
    const undrained = marked.find((n) => !n.cordoned || n.drained !== true);
    if (undrained) return { kind: "drain", pool: pool.name, node: undrained.name };
    return { kind: "remove", pool: pool.name, instanceIds: marked.map((n) => n.instanceId) };
  }
  if (old.length === 0) return undefined;
  const room = pool.maxSize - pool.desired;
  if (room <= 0) {
    return {
      kind: "halt",
      reason: `pool ${pool.name} is at its maxSize (${pool.maxSize}): no room for new nodes; raise maxSize for the rollout or set upgradeStrategy: in-place`,
    };
  }
  const size = Math.min(nextWave(waves, fresh.length), old.length, room);
  return {
    kind: "mark",
    pool: pool.name,
    instanceIds: old.slice(0, size).map((n) => n.instanceId),
    steady: pool.desired,
  };
}
