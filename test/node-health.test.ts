// Which pool instances are reported unhealthy to ESS, and the brake (plan/node-health.ts).
// Pure decisions, property-tested over generated pools, Nodes and ledgers; what acts on
// them (a timer on the control planes, ESS's calls) is not built yet.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_HEALTH,
  brakeCap,
  healthDecision,
  type HealthInstance,
  type HealthNode,
} from "../plan/node-health";

const R = "cn-hangzhou";
const MIN = 60_000;
const NOW = 1_800_000_000_000;

const arbWorld = fc
  .record({
    pools: fc.array(fc.constantFrom("general", "batch", "gpu"), { minLength: 1, maxLength: 3 }),
    instances: fc.array(
      fc.record({
        pool: fc.constantFrom("general", "batch", "gpu"),
        ageMin: fc.integer({ min: 0, max: 600 }),
        node: fc.constantFrom("none", "True", "False", "Unknown"),
        sinceMin: fc.integer({ min: 0, max: 600 }),
      }),
      { maxLength: 60 },
    ),
    ledger: fc.dictionary(
      fc.constantFrom("general", "batch", "gpu"),
      fc.array(fc.integer({ min: 0, max: 180 }), { maxLength: 8 }),
    ),
  })
  .map((w) => {
    const instances: HealthInstance[] = w.instances.map((i, n) => ({
      id: `i-${n}`,
      pool: i.pool,
      inServiceSince: NOW - i.ageMin * MIN,
    }));
    const nodes: HealthNode[] = w.instances.flatMap((i, n) =>
      i.node === "none"
        ? []
        : [{ name: `${R}.i-${n}`, ready: i.node, readySince: NOW - i.sinceMin * MIN } as HealthNode],
    );
    const ledger = Object.fromEntries(
      Object.entries(w.ledger).map(([p, ts]) => [p, ts.map((m) => NOW - m * MIN)]),
    );
    return { instances, nodes, ledger, raw: w.instances };
  });

describe("reporting unhealthy pool instances, with a brake", () => {
  it("never reports a Ready node, nor one inside its deadline; reports or brakes every other", () => {
    fc.assert(
      fc.property(arbWorld, ({ instances, nodes, ledger, raw }) => {
        const d = healthDecision(R, instances, nodes, ledger, NOW);
        const flagged = new Set([...d.report, ...d.braked].map((v) => v.id));
        raw.forEach((i, n) => {
          const due =
            i.node === "none"
              ? i.ageMin > DEFAULT_HEALTH.joinDeadlineMinutes
              : i.node !== "True" && i.sinceMin > DEFAULT_HEALTH.unreadyMinutes;
          expect(flagged.has(`i-${n}`), JSON.stringify(i)).toBe(due);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("replaces no more than the cap of a pool in any window, counting earlier reports", () => {
    fc.assert(
      fc.property(arbWorld, ({ instances, nodes, ledger }) => {
        const d = healthDecision(R, instances, nodes, ledger, NOW);
        for (const pool of new Set(instances.map((i) => i.pool))) {
          const cap = brakeCap(instances.filter((i) => i.pool === pool).length, DEFAULT_HEALTH);
          const recent = (ledger[pool] ?? []).filter(
            (t) => NOW - t < DEFAULT_HEALTH.windowMinutes * MIN,
          ).length;
          const now = d.report.filter((v) => v.pool === pool).length;
          expect(now).toBeLessThanOrEqual(Math.max(0, cap - recent));
          expect(d.ledger[pool]?.length ?? 0).toBe(recent + now);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a zone outage of half a 40-node pool replaces 4 now, names the other 16, and 4 more an hour later", () => {
    const instances = Array.from({ length: 40 }, (_, n) => ({
      id: `i-${n}`,
      pool: "general",
      inServiceSince: NOW - 600 * MIN,
    }));
    const nodes: HealthNode[] = instances.map((i, n) => ({
      name: `${R}.${i.id}`,
      ready: n < 20 ? "Unknown" : "True",
      readySince: NOW - 30 * MIN,
    }));
    const first = healthDecision(R, instances, nodes, {}, NOW);
    expect(first.report).toHaveLength(4);
    expect(first.braked).toHaveLength(16);
    expect(first.braked[0]?.reason).toContain("held back: 4 of 4 replacements in the last 60 min");
    const again = healthDecision(R, instances, nodes, first.ledger, NOW + 10 * MIN);
    expect(again.report).toHaveLength(0);
    const later = healthDecision(R, instances, nodes, first.ledger, NOW + 61 * MIN);
    expect(later.report).toHaveLength(4);
  });

  it("replaces a Ready node that node-problem-detector found broken for good, not one with a passing problem", () => {
    const instances = [0, 1, 2].map((n) => ({
      id: `i-${n}`,
      pool: "general",
      inServiceSince: NOW - 600 * MIN,
    }));
    const nodes: HealthNode[] = [
      {
        name: `${R}.i-0`,
        ready: "True",
        readySince: NOW - 600 * MIN,
        problems: [{ type: "ReadonlyFilesystem", since: NOW - 20 * MIN }],
      },
      {
        name: `${R}.i-1`,
        ready: "True",
        readySince: NOW - 600 * MIN,
        problems: [{ type: "KernelDeadlock", since: NOW - 5 * MIN }],
      },
      {
        name: `${R}.i-2`,
        ready: "True",
        readySince: NOW - 600 * MIN,
        problems: [{ type: "MemoryPressure", since: NOW - 60 * MIN }],
      },
    ];
    const d = healthDecision(R, instances, nodes, {}, NOW);
    expect(d.report).toEqual([
      { id: "i-0", pool: "general", reason: "ReadonlyFilesystem for 20 min (node-problem-detector)" },
    ]);
    expect(d.braked).toEqual([]);
  });

  it("always allows one replacement, however small the pool", () => {
    expect(brakeCap(1, DEFAULT_HEALTH)).toBe(1);
    expect(brakeCap(9, DEFAULT_HEALTH)).toBe(1);
    expect(brakeCap(1000, DEFAULT_HEALTH)).toBe(100);
  });
});
