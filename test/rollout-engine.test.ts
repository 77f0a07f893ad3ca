// The rollout engine's decisions (plan/rollout) driven against a model world
// (test/rollout-model.ts) over generated clusters, with a crash injected at generated
// points: every run must converge by running again, never break a safety rule, and never
// redo finished work. The invariants: no kubelet newer than an API server, at most
// one control plane in flight, no old node removed before its replacement passed the
// gate, every cordon resolved, a crash followed by a rerun converges.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextStep } from "../plan/rollout/next";
import { nextWave } from "../plan/rollout/pool";
import type { RolloutTarget } from "../plan/rollout/observed";
import { waveSizes } from "../plan/upgrade/waves";
import { Crash, apply, observe, type World } from "./rollout-model";

const FROM = "1.35.2";
const TO = "1.36.5";

function world(
  cps: number,
  pools: { size: number; room: number; strategy: "replace" | "in-place" }[],
  registerAfter = 0,
): World {
  return {
    clusterVersion: FROM,
    target: TO,
    cps: Array.from({ length: cps }, (_, i) => ({
      name: `cp-${i}`,
      api: FROM,
      kubelet: FROM,
      cordoned: false,
    })),
    pools: pools.map((p, i) => ({
      name: `pool-${i}`,
      version: TO,
      desired: p.size,
      maxSize: p.size + p.room,
      strategy: p.strategy,
      launching: [],
      nodes: Array.from({ length: p.size }, (_, j) => ({
        name: `pool-${i}-old-${j}`,
        instanceId: `old-${i}-${j}`,
        kubeletVersion: FROM,
        ready: true,
        cordoned: false,
        marked: false,
        gated: false,
      })),
    })),
    nextId: 0,
    registerAfter,
    violations: [],
  };
}

function targetOf(w: World, share = 0.2): RolloutTarget {
  return {
    version: TO,
    pools: w.pools.map((p) => ({
      name: p.name,
      version: p.version,
      waves: waveSizes(p.maxSize, { waves: [1, 5, 10, 50, 100], maxWaveShare: share }),
    })),
  };
}

/** Runs passes until done or halted; `crashes[i]` crashes the i-th pass after that many effects. */
function run(w: World, crashes: readonly number[], limit = 5000) {
  const target = targetOf(w);
  for (let pass = 0; pass < limit; pass++) {
    const d = nextStep(observe(w), target);
    if (d.kind === "done" || d.kind === "halt") return { decision: d, passes: pass };
    if (d.kind === "wait") continue;
    try {
      apply(w, d, crashes[pass] ?? Infinity);
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
    }
  }
  throw new Error("no convergence");
}

const cluster = fc.record({
  cps: fc.constantFrom(1, 3, 5),
  pools: fc.array(
    fc.record({
      size: fc.integer({ min: 1, max: 40 }),
      room: fc.integer({ min: 1, max: 10 }),
      strategy: fc.constantFrom("replace" as const, "in-place" as const),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  registerAfter: fc.integer({ min: 0, max: 3 }),
  crashes: fc.array(fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 4 })), { maxLength: 400 }),
});

describe("the rollout engine against a model world", () => {
  it("converges to the target, crashes or not, breaking no safety rule and redoing nothing", () => {
    fc.assert(
      fc.property(cluster, ({ cps, pools, registerAfter, crashes }) => {
        const w = world(cps, pools, registerAfter);
        const { decision } = run(w, crashes);
        expect(decision.kind).toBe("done");
        expect(w.violations).toEqual([]);
        expect(w.clusterVersion).toBe(TO);
        for (const c of w.cps) expect([c.api, c.kubelet, c.cordoned]).toEqual([TO, TO, false]);
        for (const [i, p] of w.pools.entries()) {
          expect(p.nodes.length).toBe(pools[i]?.size);
          expect(p.desired).toBe(pools[i]?.size);
          for (const n of p.nodes)
            expect([n.kubeletVersion, n.cordoned, n.marked]).toEqual([TO, false, false]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("halts, changing nothing in the pool, when a replaced pool has no room for one new node", () => {
    const w = world(1, [{ size: 3, room: 0, strategy: "replace" }]);
    const { decision } = run(w, []);
    expect(decision).toMatchObject({ kind: "halt" });
    expect(decision.kind === "halt" && decision.reason).toContain("maxSize");
    expect(w.pools[0]?.nodes.every((n) => !n.marked && n.kubeletVersion === FROM)).toBe(true);
    expect(w.cps[0]?.api).toBe(TO);
  });

  it("the model sees a broken rule (negative control): pools before the control plane", () => {
    const w = world(3, [{ size: 5, room: 2, strategy: "in-place" }]);
    apply(w, { kind: "upgrade-in-place", pool: "pool-0", nodes: ["pool-0-old-0"] });
    expect(w.violations.join()).toContain("newer than an API server");
    const v = world(3, [{ size: 2, room: 2, strategy: "replace" }]);
    apply(v, { kind: "mark", pool: "pool-0", instanceIds: ["old-0-0"], steady: 2 });
    apply(v, { kind: "drain", pool: "pool-0", node: "pool-0-old-0" });
    apply(v, { kind: "remove", pool: "pool-0", instanceIds: ["old-0-0"] });
    expect(v.violations.join()).toContain("before their replacements passed the gate");
  });

  it("continues the wave sequence from the nodes already at the target", () => {
    expect([0, 1, 5, 6, 15, 16, 300].map((done) => nextWave([1, 4, 4, 4], done))).toEqual([
      1, 4, 4, 4, 4, 4, 4,
    ]);
    expect(nextWave([1, 5, 10], 0)).toBe(1);
    expect(nextWave([1, 5, 10], 6)).toBe(10);
  });
});
