// How a pool's nodes are split into waves: a canary of one node, then the configured
// sizes (default 1, 5, 10, 50, 100), then each wave twice the one before, and never
// more than a share of the pool (default a fifth) in one wave. A failed wave stops the
// rollout, so the early waves are small and the cost of a bad image is one node; the
// share bounds what one bad wave can take away. With the defaults, 1,000 nodes take 10
// waves: 1, 5, 10, 50, 100, 200, 200, 200, 200, 34.
//
// The anchors' batch sizes: kops rolling-update's --max-surge/--max-unavailable and
// ACK's first-batch pause (../shared/reference/upgrades.md §2 and §4.4); the 1/5/10/50/100
// ladder is that document's design §9(b).

export interface WaveSettings {
  /** The first waves' sizes; starts with 1 and grows (config: upgrade.waves). */
  readonly waves: readonly number[];
  /** No wave above this share of the pool (config: upgrade.maxWaveShare). */
  readonly maxWaveShare: number;
}

/** The largest wave for a pool of `nodes`: a share of it, and at least one node. */
export function waveCap(nodes: number, maxWaveShare: number): number {
  return Math.max(1, Math.floor(nodes * maxWaveShare));
}

/** The sizes of the waves that replace `nodes` nodes, in order; they add up to `nodes`. */
export function waveSizes(nodes: number, settings: WaveSettings): number[] {
  if (!Number.isInteger(nodes) || nodes < 0) throw new Error(`a pool of ${nodes} nodes`);
  const cap = waveCap(nodes, settings.maxWaveShare);
  const out: number[] = [];
  let remaining = nodes;
  let next = 0;
  for (let i = 0; remaining > 0; i++) {
    const configured = settings.waves[i];
    next = configured ?? next * 2;
    const size = Math.min(Math.max(next, 1), cap, remaining);
    out.push(size);
    remaining -= size;
  }
  return out;
}

/**
 * The size of the next wave, from the nodes already at the target: the rollout observes
 * afresh on every pass (plan/rollout/), so a rerun continues the sequence where it stands.
 */
export function nextWave(waves: readonly number[], done: number): number {
  let covered = 0;
  for (const w of waves) {
    covered += w;
    if (covered > done) return w;
  }
  return waves[waves.length - 1] ?? 1;
}
