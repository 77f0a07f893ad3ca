// An `in-place` pool's next step. Its versions move where the nodes are (`kubeadm upgrade
// node`, one wave at a time); a node whose template differs in more than the version
// (its image, instance types, disk or user data: `outdated`) cannot change in place and is
// replaced without surge, for pools that have no room or quota to grow: a wave is marked,
// drained, and removed with the group's desired capacity kept, so that ESS launches as
// many from the group's template ("Auto Scaling automatically maintains ECS instances at
// this number": AlibabaCloudDocs/ess 3150f66 intl.en-US/API Reference/Scaling group/
// CreateScalingGroup.md DesiredCapacity; RemoveInstances.md DecreaseDesiredCapacity
// false). The next wave is marked only once every replacement is in and passed the gate.
// ESS refuses a removal that would leave fewer instances than MinSize (RemoveInstances.md),
// so no wave is larger than the group's size above it.
import type { Decision } from "./decision";
import type { ObservedPool } from "./observed";
import { nextWave } from "../upgrade/waves";

type InPlaceStep = (pool: ObservedPool, version: string, waves: readonly number[]) => Decision | undefined;

export function nextNoSurgeStep(
  pool: ObservedPool,
  version: string,
  waves: readonly number[],
  inPlace: InPlaceStep,
): Decision | undefined {
  const launched = pool.nodes.filter((n) => n.attached !== true);
  const marked = launched.filter((n) => n.marked);
  if (marked.length > 0) {
    // Drained means drain.sh finished: a node cordoned by a drain a kill interrupted is drained again.
    const undrained = marked.find((n) => !n.cordoned || n.drained !== true);
    if (undrained) return { kind: "drain", pool: pool.name, node: undrained.name };
    return {
      kind: "remove",
      pool: pool.name,
      instanceIds: marked.map((n) => n.instanceId),
      keepCapacity: true,
    };
  }
  const size = pool.nodes.length + pool.pending;
  // While replacing, a removed wave's replacements must be in before anything else moves
  // (ESS starts them after the removal: for a while the group is short and nothing launches).
  // Otherwise the pool may be short for its own reasons (the autoscaler asking past a quota,
  // which is why a pool is in-place at all), and a version change does not wait for it.
  if (pool.replacing === true && (pool.pending > 0 || size < pool.desired))
    return {
      kind: "wait",
      reason: `pool ${pool.name}: ${pool.desired - pool.nodes.length} instances launching or joining (${pool.pending} without a Node yet)`,
    };
  // Nodes launched since the pool was last confirmed (replacements, and the autoscaler's):
  // Ready and gated before anything else in the pool moves.
  const joined = launched.filter((n) => n.current === true);
  const ungated = joined.find((n) => n.ready && !n.gated);
  if (ungated) return { kind: "gate", pool: pool.name, node: ungated.name };
  const notReady = joined.find((n) => !n.ready);
  if (notReady)
    return { kind: "wait", reason: `pool ${pool.name}: new node ${notReady.name} is not Ready yet` };

  const staying = pool.nodes.filter((n) => n.outdated !== true || n.attached === true);
  const upgrade = inPlace({ ...pool, nodes: staying }, version, waves);
  if (upgrade) return upgrade;

  const outdated = launched.filter((n) => n.outdated === true);
  if (outdated.length === 0) return undefined;
  const room = size - (pool.minSize ?? 0);
  if (room <= 0)
    return {
      kind: "halt",
      reason: `pool ${pool.name} holds ${size} nodes, its minSize: ${outdated.length} nodes launched from an older template are replaced without surge (upgradeStrategy: in-place), which removes nodes before ESS launches their replacements, and ESS refuses a removal below minSize. Lower the pool's minSize below ${size} for the rollout, or set upgradeStrategy: replace`,
    };
  const wave = Math.min(nextWave(waves, joined.length), outdated.length, room);
  return {
    kind: "mark",
    pool: pool.name,
    instanceIds: outdated.slice(0, wave).map((n) => n.instanceId),
    steady: pool.desired,
  };
}
