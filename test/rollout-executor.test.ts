// The rollout executor (components/rollout: the engine loop and its Cloud Assistant and
// ESS ports) against a fake cloud and cluster (test/harness/rollout-world.ts), whose
// Cloud Assistant reads the exact commands the executor sends. Invariants from the
// staged-rollout issue: at most one control plane in flight, no kubelet newer than an
// API server, no old node removed before its replacement passed the gate, every cordon
// resolved, a killed run followed by a rerun converges without redoing finished work.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloudPorts } from "../components/rollout/cloud-ports";
import { RolloutHalted, runEngine, type EngineResult } from "../components/rollout/engine";
import type { RolloutTarget } from "../plan/rollout/observed";
import { waveSizes } from "../plan/upgrade/waves";
import { upgradeNodeCommand } from "../plan/upgrade-node";
import { Crash, DIGEST_1, DIGEST_2, RolloutWorld } from "./harness/rollout-world";

const FROM = "1.35.2";
const TO = "1.36.5";
/** No real waiting: the ports' clock moves only when they sleep (ESS busy retries, polling). */
let portsClock = 0;
const instant = {
  pollMs: 0,
  now: () => portsClock,
  sleep: async (ms: number) => void (portsClock += ms),
};

function ports(w: RolloutWorld, cps: number, log: string[] = [], etcdSnapshots = true) {
  return cloudPorts({
    commands: w.commands(),
    ess: w.ess(),
    instances: w.instances(),
    vpc: {
      freeAddresses: async (ids) => Object.fromEntries(ids.map((id) => [id, w.freeAddresses.get(id) ?? 100])),
    },
    controlPlaneInstanceIds: Array.from({ length: cps }, (_, i) => `i-cp${i}`),
    pools: [...w.pools].map(([name, p]) => ({
      name,
      scalingGroupId: p.group,
      strategy: p.strategy,
      version: TO,
      templateDigest: p.digest,
      // The pools were last confirmed at their first template version and digest.
      confirmedTemplateVersion: "1",
      confirmedTemplateDigest: DIGEST_1,
    })),
    version: TO,
    drainBudgetSeconds: 60,
    packageRepository: "https://pkgs.k8s.io/core:/stable:/v1.36",
    upgradeCommands: { apply: upgradeNodeCommand("apply", TO), node: upgradeNodeCommand("node", TO) },
    etcdSnapshots,
    gateSeconds: 60,
    log: (l) => log.push(l),
    wait: instant,
  });
}

function target(w: RolloutWorld): RolloutTarget {
  return {
    version: TO,
    pools: [...w.pools].map(([name, p]) => ({
      name,
      version: TO,
      waves: waveSizes(p.instances.length, { waves: [1, 5, 10], maxWaveShare: 0.5 }),
    })),
  };
}

const run = (w: RolloutWorld, cps: number, budgetMs = 3_600_000): Promise<EngineResult> =>
  runEngine(ports(w, cps), target(w), {
    budgetMs,
    waitMs: 0,
    stuckMs: 3_600_000,
    sleep: async () => undefined,
  });

function expectFinished(w: RolloutWorld, sizes: readonly number[]) {
  expect(w.violations).toEqual([]);
  w.settle();
  expect(w.clusterVersion).toBe(TO);
  for (const [name, n] of w.nodes) {
    expect(n.kubelet, name).toBe(TO);
    expect(n.cordoned, name).toBe(false);
    // Nothing the rollout held is left: no marks, no autoscaler hold (but an adopted node's own).
    expect(n.annotations, name).toEqual(
      n.annotations["kubeadm-alicloud.io/adopted"]
        ? {
            "kubeadm-alicloud.io/adopted": "true",
            "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
          }
        : {},
    );
  }
  expect([...w.pools.values()].map((p) => p.instances.length)).toEqual(sizes);
}

describe("the rollout executor against the fake cloud", () => {
  it("upgrades control planes one at a time, in placement order, each drained from another control plane, then replaces the pool in waves", async () => {
    const w = new RolloutWorld(TO, FROM, 3, [{ size: 7, room: 2 }]);
    await expect(run(w, 3)).resolves.toMatchObject({ status: "done" });
    expectFinished(w, [7]);
    const cpSteps = w.journal.filter((j) =>
      /upgrade-node|drain cn-hangzhou.i-cp|cp-gate|snapshot|rollout-node preflight/.test(j),
    );
    expect(cpSteps).toEqual([
      "i-cp0 rollout-node preflight 1.36.5 https://pkgs.k8s.io/core:/stable:/v1.36",
      "i-cp0 etcd snapshot",
      "i-cp1 drain cn-hangzhou.i-cp0",
      "i-cp0 upgrade-node apply 1.36.5",
      "i-cp0 rollout-node cp-gate cn-hangzhou.i-cp0 1.36.5 60",
      "i-cp0 drain cn-hangzhou.i-cp1",
      "i-cp1 upgrade-node node 1.36.5",
      "i-cp1 rollout-node cp-gate cn-hangzhou.i-cp1 1.36.5 60",
      "i-cp0 drain cn-hangzhou.i-cp2",
      "i-cp2 upgrade-node node 1.36.5",
      "i-cp2 rollout-node cp-gate cn-hangzhou.i-cp2 1.36.5 60",
    ]);
    // A canary of one, then waves no larger than the room above the pool's size.
    expect(w.journal.filter((j) => j.startsWith("ess scale"))).toEqual([
      "ess scale asg-0 8",
      "ess scale asg-0 9",
      "ess scale asg-0 9",
      "ess scale asg-0 9",
    ]);
    // Nothing touched a pool before the last control plane passed its gate.
    const lastCp = w.journal.indexOf("i-cp2 rollout-node cp-gate cn-hangzhou.i-cp2 1.36.5 60");
    expect(w.journal.findIndex((j) => j.startsWith("ess ") || / mark /.test(j))).toBeGreaterThan(lastCp);
  });

  it("upgrades a replace pool's adopted instances in place once its launched nodes are replaced, and never removes them", async () => {
    const w = new RolloutWorld(TO, FROM, 1, [{ size: 5, room: 2, attached: 2 }]);
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
    expectFinished(w, [5]);
    const pool = w.pools.get("pool-0");
    const adopted = [...(pool?.attached ?? [])];
    expect(adopted).toHaveLength(2);
    for (const id of adopted) {
      expect(pool?.instances).toContain(id);
      expect(w.journal).toContain(`${id} upgrade-node node ${TO}`);
    }
    // Upgraded where they are only after every launched node was replaced.
    const lastRemove = w.journal.map((j) => j.startsWith("ess remove")).lastIndexOf(true);
    const firstInPlace = w.journal.findIndex((j) =>
      adopted.some((id) => j === `${id} upgrade-node node ${TO}`),
    );
    expect(firstInPlace).toBeGreaterThan(lastRemove);
    expect(w.journal.filter((j) => j.startsWith("ess remove")).join(" ")).not.toMatch(adopted.join("|"));
  });

  it("waits out a scaling group busy with another activity (the autoscaler's, say), and halts naming ESS when it stays busy", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 3, room: 1 }]);
    const pool = w.pools.get("pool-0");
    if (pool) pool.templateVersion = 2;
    w.essBusy = 3;
    const lines: string[] = [];
    await expect(
      runEngine(ports(w, 1, lines), target(w), {
        budgetMs: 3_600_000,
        waitMs: 0,
        stuckMs: 3_600_000,
        sleep: async () => undefined,
      }),
    ).resolves.toMatchObject({ status: "done" });
    expect(lines.filter((l) => /ESS is busy \(ScalingActivityInProgress\)/.test(l)).length).toBeGreaterThan(
      0,
    );
    expect(w.violations).toEqual([]);

    const stuck = new RolloutWorld(TO, TO, 1, [{ size: 3, room: 1 }]);
    const sp = stuck.pools.get("pool-0");
    if (sp) sp.templateVersion = 2;
    stuck.essBusy = 1_000;
    await expect(run(stuck, 1)).rejects.toThrow(/scale pool pool-0: ESS refused: ScalingActivityInProgress/);
  });

  it("marks a wave larger than one command can name in batches, every command within Cloud Assistant's size limit", async () => {
    const w = new RolloutWorld(TO, FROM, 1, [{ size: 230, room: 120 }]);
    const big: RolloutTarget = { version: TO, pools: [{ name: "pool-0", version: TO, waves: [1, 200] }] };
    const r = await runEngine(ports(w, 1), big, { budgetMs: 3_600_000, waitMs: 0, stuckMs: 3_600_000 });
    expect(r.status).toBe("done");
    expect(w.violations).toEqual([]);
    const marks = w.journal.filter((j) => / rollout-node mark /.test(j)).map((j) => j.split(" ").length - 4);
    expect(Math.max(...marks)).toBeLessThanOrEqual(100);
    expect(marks.reduce((a, b) => a + b, 0)).toBe(230);
  }, 60_000);

  it("refuses to upgrade an in-place node more than one minor, before draining it", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 2, room: 1, strategy: "in-place" }]);
    for (const n of w.nodes.values()) if (!n.controlPlane) n.kubelet = "1.34.9";
    await expect(run(w, 1)).rejects.toThrow(
      /runs 1\.34\.9: kubeadm upgrades a node in place one minor at a time/,
    );
    expect(w.journal.filter((j) => / drain | upgrade-node /.test(j))).toEqual([]);
  });

  it("halts a wave its pool's vSwitches have no addresses for, before asking ESS for it", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 3, room: 2 }]);
    for (const p of w.pools.values()) p.templateVersion = 2;
    w.freeAddresses.set("vsw-h", 0);
    w.freeAddresses.set("vsw-i", 0);
    await expect(run(w, 1)).rejects.toThrow(
      /pool pool-0: the wave adds 1 nodes, but its vSwitches have 0 free addresses \(vsw-h: 0, vsw-i: 0\)/,
    );
    expect(w.journal.filter((j) => j.startsWith("ess"))).toEqual([]);
    w.freeAddresses.set("vsw-i", 1);
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
  });

  it("halts on a drain a PodDisruptionBudget blocks, naming the pod and the budget, with the node uncordoned", async () => {
    const w = new RolloutWorld(TO, FROM, 1, [{ size: 2, room: 1 }]);
    const [first] = [...w.nodes].find(([, n]) => !n.controlPlane) ?? [];
    w.blocked.add(first ?? "");
    await expect(run(w, 1)).rejects.toThrow(
      /drain of .* was blocked by pods shop\/db-0 \(PodDisruptionBudgets: shop\/db-budget\)/,
    );
    expect(w.node(first ?? "").cordoned).toBe(false);
    expect(w.violations).toEqual([]);
    // The budget allows it later: the next run finishes without redoing the control plane.
    w.blocked.clear();
    const before = w.journal.filter((j) => j.includes("upgrade-node")).length;
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
    expect(w.journal.filter((j) => j.includes("upgrade-node")).length).toBe(before);
    expectFinished(w, [2]);
  });

  it("halts when a new node fails its gate, and removes no old node for it", async () => {
    const w = new RolloutWorld(TO, FROM, 1, [{ size: 3, room: 1 }]);
    w.registerAfter = 0;
    const failing = "cn-hangzhou.i-w1003"; // the first instance the surge launches
    w.failingGate.add(failing);
    const err = await run(w, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolloutHalted);
    expect(String(err)).toMatch(
      /gate of new node cn-hangzhou.i-w1003 at 1.36.5 failed: DaemonSet pod kube-system\/cilium-x not Ready/,
    );
    expect(w.journal.some((j) => j.startsWith("ess remove"))).toBe(false);
    expect(w.violations).toEqual([]);
    w.failingGate.clear();
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
    expectFinished(w, [3]);
  });

  it("runs the plan's preflight before anything moves, and moves nothing when it fails, naming each problem", async () => {
    const w = new RolloutWorld(TO, FROM, 3, [{ size: 2, room: 1 }]);
    w.deprecatedMetrics = [
      'apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.36",resource="flowschemas",subresource="",version="v1beta3"} 1',
    ];
    w.etcdUnhealthy.add("cn-hangzhou.i-cp2");
    const [worker] = [...w.nodes].find(([, n]) => !n.controlPlane) ?? [];
    w.node(worker ?? "").ready = false;
    const err = await run(w, 3).catch((e: unknown) => e);
    expect(String(err)).toMatch(/the preflight failed; nothing was changed/);
    expect(String(err)).toContain(`- nodes-ready: not Ready: ${worker}`);
    expect(String(err)).toContain("- etcd-healthy: unhealthy members: cn-hangzhou.i-cp2");
    expect(String(err)).toMatch(
      /- removed-apis: flowcontrol.apiserver.k8s.io\/v1beta3 flowschemas was requested and is removed in 1.36/,
    );
    expect(w.journal.filter((j) => !/observe|preflight/.test(j))).toEqual([]);
  });

  it("takes an etcd snapshot before the first control plane moves, and moves nothing when it fails or backups are off", async () => {
    const w = new RolloutWorld(TO, FROM, 3, []);
    w.snapshotFails = true;
    await expect(run(w, 3)).rejects.toThrow(
      /etcd snapshot before the upgrade failed \(exit 1\); nothing was upgraded[^]*upload failed: 403/,
    );
    expect(w.journal.filter((j) => !/observe|preflight/.test(j))).toEqual(["i-cp0 etcd snapshot"]);
    const off = new RolloutWorld(TO, FROM, 3, []);
    await expect(
      runEngine(ports(off, 3, [], false), target(off), {
        budgetMs: 3_600_000,
        waitMs: 0,
        stuckMs: 3_600_000,
      }),
    ).rejects.toThrow(/set etcdBackup.enabled: true/);
    expect(off.journal.filter((j) => !j.includes("observe"))).toEqual([]);
  });

  it("replaces a replace pool's nodes launched from an older template version, and leaves an in-place pool's whose template differs only in version", async () => {
    // Everything at the target already; both pools have a new template version, the
    // in-place pool's with the same digest (what a version change alone makes).
    const w = new RolloutWorld(TO, TO, 1, [
      { size: 3, room: 1, strategy: "replace" },
      { size: 2, room: 1, strategy: "in-place" },
    ]);
    for (const p of w.pools.values()) p.templateVersion = 2;
    const before = [...w.pools.values()].map((p) => [...p.instances]);
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
    expect(w.violations).toEqual([]);
    w.settle();
    const [replaced, inPlace] = [...w.pools.values()];
    expect(replaced?.instances.filter((i) => before[0]?.includes(i))).toEqual([]);
    expect(replaced?.instances.map((i) => replaced.instanceTemplate.get(i))).toEqual([2, 2, 2]);
    expect(inPlace?.instances).toEqual(before[1]);
    expect(w.journal.filter((j) => j.includes("upgrade-node"))).toEqual([]);
    // Only the in-place pool's tags are read, each instance's once.
    expect(w.describedIds).toEqual(before[1]);
  });

  it("replaces an in-place pool's nodes of another template digest without surge: a wave removed keeping the capacity, its replacements gated before the next", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 5, room: 0, strategy: "in-place", minSize: 3 }]);
    const pool = w.pools.get("pool-0");
    if (!pool) throw new Error("no pool");
    Object.assign(pool, { templateVersion: 2, digest: DIGEST_2 });
    const before = [...pool.instances];
    await expect(run(w, 1)).resolves.toMatchObject({ status: "done" });
    expectFinished(w, [5]);
    expect(pool.instances.filter((i) => before.includes(i))).toEqual([]);
    expect(pool.instances.map((i) => pool.instanceDigest.get(i))).toEqual(Array(5).fill(DIGEST_2));
    expect(pool.desired).toBe(5);
    const ess = w.journal.filter((j) => j.startsWith("ess"));
    expect(ess.some((j) => j.startsWith("ess scale"))).toBe(false);
    // Waves 1, then 2 (the room above minSize 3), each removal keeping the capacity.
    expect(ess.map((j) => j.split(" ")[3]?.split(",").length)).toEqual([1, 2, 2]);
    expect(ess.every((j) => j.endsWith("keeping capacity"))).toBe(true);
    expect(w.journal.filter((j) => j.includes("upgrade-node"))).toEqual([]);
  });

  it("keeps an in-place pool's instances launched before templates were tagged, saying so once", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 3, room: 0, strategy: "in-place", minSize: 1 }]);
    const pool = w.pools.get("pool-0");
    if (!pool) throw new Error("no pool");
    Object.assign(pool, { templateVersion: 2, digest: DIGEST_2 });
    const [untagged, ...tagged] = pool.instances;
    pool.instanceDigest.set(untagged ?? "", "");
    const log: string[] = [];
    await expect(
      runEngine(ports(w, 1, log), target(w), { budgetMs: 3_600_000, waitMs: 0, stuckMs: 3_600_000 }),
    ).resolves.toMatchObject({ status: "done" });
    expect(w.violations).toEqual([]);
    expect(pool.instances).toContain(untagged);
    expect(pool.instances.filter((i) => tagged.includes(i))).toEqual([]);
    expect(log.filter((l) => l.includes("carry no template tag"))).toEqual([
      "pool pool-0: 1 instances carry no template tag (launched before this release recorded one): kept, upgraded in place for versions only",
    ]);
  });

  it("halts, touching no node, when an in-place pool's minSize leaves no room for a wave without surge", async () => {
    const w = new RolloutWorld(TO, TO, 1, [{ size: 3, room: 0, strategy: "in-place", minSize: 3 }]);
    Object.assign(w.pools.get("pool-0") ?? {}, { templateVersion: 2, digest: DIGEST_2 });
    await expect(run(w, 1)).rejects.toThrow(/holds 3 nodes, its minSize.*Lower the pool's minSize/);
    expect(w.journal.filter((j) => / (mark|drain)|^ess/.test(j))).toEqual([]);
  });

  it("refuses to start on a cluster two minors behind the target or newer than it", async () => {
    const w = new RolloutWorld(TO, "1.34.9", 1, [{ size: 1, room: 1 }]);
    await expect(run(w, 1)).rejects.toThrow(/nothing changed: the cluster runs 1.34.9: 1.36.5 skips a minor/);
    expect(w.journal.filter((j) => !j.includes("observe"))).toEqual([]);
    const newer = new RolloutWorld(TO, "1.37.0", 1, []);
    await expect(run(newer, 1)).rejects.toThrow(/newer than the target 1.36.5: no downgrades/);
    // A pool still at 1.32 would fall 4 minors behind 1.36: it moves first.
    const lagging = new RolloutWorld(TO, FROM, 1, [{ size: 2, room: 1 }]);
    for (const n of lagging.nodes.values()) if (!n.controlPlane) n.kubelet = "1.32.9";
    await expect(run(lagging, 1)).rejects.toThrow(
      /nodes run kubelet 1\.32\.9, which 1\.36\.5 would leave more than 3 minors behind/,
    );
    expect(lagging.journal.filter((j) => !j.includes("observe"))).toEqual([]);
  });

  it("stops at its time budget between steps, and the next run goes on from there", async () => {
    const w = new RolloutWorld(TO, FROM, 3, [{ size: 4, room: 1 }]);
    let t = 0;
    const clockPorts = ports(w, 3);
    const act = clockPorts.act.bind(clockPorts);
    clockPorts.act = async (a, deadline) => {
      t += 60_000; // each step takes a minute
      return act(a, deadline);
    };
    const first = await runEngine(clockPorts, target(w), {
      budgetMs: 150_000,
      waitMs: 0,
      stuckMs: 3_600_000,
      now: () => t,
      sleep: async () => undefined,
    });
    expect(first).toMatchObject({ status: "out-of-time", steps: 3 });
    await expect(run(w, 3)).resolves.toMatchObject({ status: "done" });
    expectFinished(w, [4]);
    expect(w.journal.filter((j) => j.includes("upgrade-node"))).toHaveLength(3);
  });

  it("halts when instances never register, instead of waiting for ever", async () => {
    const w = new RolloutWorld(TO, FROM, 1, [{ size: 2, room: 1 }]);
    w.registerAfter = 1_000_000;
    let t = 0;
    await expect(
      runEngine(ports(w, 1), target(w), {
        budgetMs: 24 * 3_600_000,
        waitMs: 30_000,
        stuckMs: 1_200_000,
        now: () => t,
        sleep: async (ms) => void (t += ms),
      }),
    ).rejects.toThrow(
      /no progress for 20 min: pool pool-0: 0 new nodes passed the gate, 1 needed before old ones go \(1 launching\)/,
    );
  });

  it("converges after a kill at any point, never breaking a safety rule or redoing a finished control plane", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 9 }),
            room: fc.integer({ min: 1, max: 4 }),
            strategy: fc.constantFrom("replace" as const, "in-place" as const),
            /** Its launch template changed too (a new image, say): in place, replaced without surge. */
            templateChanged: fc.boolean(),
            /** How far above the pool's minSize it is (a wave without surge takes no more). */
            minRoom: fc.integer({ min: 1, max: 3 }),
            /** Instances the operator brought (nodePools[].adoptInstanceIds). */
            attached: fc.integer({ min: 0, max: 2 }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 2 }),
        async (cps, pools, crashes, registerAfter) => {
          const w = new RolloutWorld(
            TO,
            FROM,
            cps,
            pools.map((p) => ({ ...p, minSize: Math.max(0, p.size - p.minRoom) })),
          );
          w.registerAfter = registerAfter;
          pools.forEach((p, i) => {
            const pool = w.pools.get(`pool-${i}`);
            if (pool && p.templateChanged) Object.assign(pool, { templateVersion: 2, digest: DIGEST_2 });
          });
          for (const at of crashes) {
            w.crashAfter = at;
            await run(w, cps).catch((e: unknown) => {
              if (!(e instanceof Crash) && !(e instanceof RolloutHalted)) throw e;
              if (e instanceof RolloutHalted && !/the run was killed|crash before/.test(e.message)) throw e;
            });
            w.revive();
            expect(w.violations).toEqual([]);
          }
          await expect(run(w, cps)).resolves.toMatchObject({ status: "done" });
          expectFinished(
            w,
            pools.map((p) => p.size),
          );
          // A replaced pool runs only nodes of its current template, an in-place pool only of its digest.
          pools.forEach((p, i) => {
            const pool = w.pools.get(`pool-${i}`);
            if (!pool) return;
            for (const id of pool.instances)
              if (!pool.attached.has(id) && p.strategy === "in-place")
                expect(pool.instanceDigest.get(id)).toBe(pool.digest);
            if (p.strategy !== "replace") return;
            for (const id of pool.instances)
              if (!pool.attached.has(id)) expect(pool.instanceTemplate.get(id)).toBe(pool.templateVersion);
            // The operator's instances are all still there.
            for (const id of pool.attached) expect(pool.instances).toContain(id);
          });
          // Each control plane's upgrade command ran once, or again only after a kill in it.
          for (let i = 0; i < cps; i++) {
            const n = w.journal.filter((j) => j.startsWith(`i-cp${i} upgrade-node`)).length;
            expect(n).toBeGreaterThanOrEqual(1);
            expect(n).toBeLessThanOrEqual(1 + crashes.length);
          }
        },
      ),
      { numRuns: 150, seed: 20261205 },
    );
  });
});
