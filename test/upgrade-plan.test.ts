// The staged-rollout planner (issue: staged rollouts, "Rules enforced at preview" and
// "The plan"), by property over generated versions and pools (fast-check), and the
// render's upgrade-plan files. Upstream rules cited in plan/upgrade/version-policy.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_KUBELET_SKEW } from "../config/versions";
import { deployedAsRequested, upgradePlan, type Stage } from "../plan/upgrade/plan";
import { compareVersions, versionStepRefusals } from "../plan/upgrade/version-policy";
import { waveCap, waveSizes } from "../plan/upgrade/waves";
import { specFor } from "./kit";
import { ETCD_BACKUP_SECONDS, backupBucketName } from "../plan/etcd-backup";
import { controlPlanePlacements } from "../plan/control-plane";

const DEFAULT_WAVES = { waves: [1, 5, 10, 50, 100], maxWaveShare: 0.2 };
const version = fc
  .record({ minor: fc.integer({ min: 31, max: 37 }), patch: fc.integer({ min: 0, max: 12 }) })
  .map(({ minor, patch }) => `1.${minor}.${patch}`);
const minor = (v: string) => Number(v.split(".")[1]);

describe("version steps, against the version last confirmed", () => {
  it("refuse the control plane exactly when it goes down or skips a minor", () => {
    fc.assert(
      fc.property(version, version, (deployed, target) => {
        const refused = versionStepRefusals(
          { controlPlane: deployed, pools: {} },
          { controlPlane: target, pools: [] },
        );
        const expected = compareVersions(target, deployed) < 0 || minor(target) > minor(deployed) + 1;
        expect(refused.length > 0).toBe(expected);
        for (const r of refused) expect(r.path).toEqual(["kubernetesVersion"]);
      }),
    );
  });

  it("name the chain of minors to apply, one pulumi up each, and what is allowed now", () => {
    const [r] = versionStepRefusals(
      { controlPlane: "1.33.2", pools: {} },
      { controlPlane: "1.36.5", pools: [] },
    );
    expect(r?.message).toContain("a 1.34 release, then a 1.35 release, then 1.36.5");
    expect(r?.message).toContain("Allowed now: 1.33.2 or a newer 1.33 patch, or a 1.34 release");
  });

  it("refuse a pool newer than the control plane, too far behind it, or left too far behind by its move", () => {
    fc.assert(
      fc.property(version, version, version, (cpDeployed, cpTarget, pool) => {
        fc.pre(compareVersions(cpTarget, cpDeployed) >= 0 && minor(cpTarget) <= minor(cpDeployed) + 1);
        const refused = versionStepRefusals(
          { controlPlane: cpDeployed, pools: { a: pool } },
          { controlPlane: cpTarget, pools: [{ name: "a", kubernetesVersion: pool }] },
        );
        const expected =
          compareVersions(pool, cpTarget) > 0 || minor(cpTarget) - minor(pool) > MAX_KUBELET_SKEW;
        expect(refused.length > 0).toBe(expected);
        for (const r of refused) expect(r.path).toEqual(["nodePools", 0, "kubernetesVersion"]);
      }),
    );
  });

  it("refuse moving the control plane while a pool it would leave 4 minors behind still runs", () => {
    const refused = versionStepRefusals(
      { controlPlane: "1.36.1", pools: { old: "1.33.4" } },
      { controlPlane: "1.37.0", pools: [{ name: "old", kubernetesVersion: "1.37.0" }] },
    );
    expect(refused.map((r) => r.message).join()).toContain("upgrade old to 1.34 or newer first");
  });
});

describe("waves", () => {
  const settings = fc.record({
    waves: fc
      .array(fc.integer({ min: 1, max: 200 }), { minLength: 0, maxLength: 6 })
      .map((ws) => [1, ...ws.sort((a, b) => a - b)]),
    maxWaveShare: fc.double({ min: 0.01, max: 1, noNaN: true }),
  });

  it("cover the pool exactly, a canary of one first, none above the share", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), settings, (nodes, s) => {
        const waves = waveSizes(nodes, s);
        expect(waves.reduce((a, b) => a + b, 0)).toBe(nodes);
        if (nodes > 0) expect(waves[0]).toBe(1);
        for (const w of waves) expect(w).toBeGreaterThanOrEqual(1);
        for (const w of waves) expect(w).toBeLessThanOrEqual(waveCap(nodes, s.maxWaveShare));
      }),
    );
  });

  it("take a 1,000-node pool in at most 12 waves with the defaults (10: 1, 5, 10, 50, 100, 200 x4, 34)", () => {
    expect(waveSizes(1000, DEFAULT_WAVES)).toEqual([1, 5, 10, 50, 100, 200, 200, 200, 200, 34]);
    for (let n = 1; n <= 1000; n++) expect(waveSizes(n, DEFAULT_WAVES).length).toBeLessThanOrEqual(12);
  });
});

describe("the plan", () => {
  const prod = specFor(
    {
      clusterName: "up",
      kubernetesVersion: "1.36.5",
      nodePools: [
        { name: "general", instanceTypes: ["ecs.g7.xlarge"], minSize: 3, maxSize: 20 },
        { name: "batch", instanceTypes: ["ecs.c7.2xlarge"], minSize: 1, maxSize: 10 },
      ],
    },
    "prod",
  );

  /** Replays the stages and checks the skew at every step: no kubelet newer than an API server. */
  function replay(stages: readonly Stage[], from: string, pools: Record<string, string>) {
    // Every control plane runs `from` until its stage.
    const apiServers = new Map(
      stages.filter((s) => s.kind === "control-plane").map((s): [string, string] => [s.name, from]),
    );
    const kubelets = new Map(Object.entries(pools));
    const oldest = () => [...apiServers.values()].reduce((a, b) => (compareVersions(a, b) <= 0 ? a : b));
    for (const s of stages) {
      if (s.kind === "control-plane") apiServers.set(s.name, prod.kubernetesVersion);
      if (s.kind === "pool") {
        for (let w = 0; w < s.waves.length; w++) {
          kubelets.set(s.name, s.to);
          expect(compareVersions(s.to, oldest())).toBeLessThanOrEqual(0);
        }
      }
      for (const k of kubelets.values())
        expect(minor(oldest()) - minor(k)).toBeLessThanOrEqual(MAX_KUBELET_SKEW);
    }
  }

  it("runs preflight, one etcd snapshot, each control plane alone (apply, then node), then the pools", () => {
    const result = upgradePlan(prod, deployedAsRequested(prod, "1.35.2"));
    if (!result.ok) throw new Error(JSON.stringify(result.refusals));
    const kinds = result.plan.stages.map((s) => s.kind);
    expect(kinds).toEqual([
      "preflight",
      "etcd-snapshot",
      "control-plane",
      "control-plane",
      "control-plane",
      "pool",
      "pool",
    ]);
    const cps = result.plan.stages.filter((s) => s.kind === "control-plane");
    expect(cps.map((s) => s.command)).toEqual([
      "kubeadm upgrade apply",
      "kubeadm upgrade node",
      "kubeadm upgrade node",
    ]);
    replay(result.plan.stages, "1.35.2", deployedAsRequested(prod, "1.35.2").pools);
    for (const s of result.plan.stages) {
      if (s.kind !== "pool") continue;
      const pool = prod.nodePools.find((p) => p.name === s.name);
      expect(s.waves.reduce((a, b) => a + b, 0)).toBe(pool?.maxSize);
    }
  });

  // Issue 16 item 4: the rollout takes a snapshot before it touches a control plane, into
  // the cluster's bucket, with the scheduled backup's own unit (plan/etcd-backup.ts).
  it("takes the etcd snapshot with the backup unit into the cluster's bucket, or refuses without one", () => {
    const result = upgradePlan(prod, deployedAsRequested(prod, "1.35.2"));
    if (!result.ok) throw new Error(JSON.stringify(result.refusals));
    const snap = result.plan.stages.find((s) => s.kind === "etcd-snapshot");
    expect(snap).toMatchObject({
      bucket: backupBucketName(prod),
      runsOn: controlPlanePlacements(prod)[0]?.name,
      command: "systemctl start kubeadm-alicloud-etcd-backup.service",
    });
    if (snap?.kind !== "etcd-snapshot") throw new Error("no snapshot stage");
    expect(snap.timeoutSeconds).toBeGreaterThan(ETCD_BACKUP_SECONDS);
    const off = specFor({ etcdBackup: { enabled: false } }, "prod");
    const refused = upgradePlan(off, deployedAsRequested(off, "1.35.2"));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.refusals.map((r) => r.path.join("."))).toEqual(["etcdBackup.enabled"]);
    // A pool-only step touches no control plane: no snapshot is needed.
    const poolOnly = upgradePlan(off, {
      controlPlane: "1.36.5",
      pools: { general: "1.35.0", batch: "1.36.5" },
    });
    expect(poolOnly.ok).toBe(true);
  });

  it("has nothing to do when every version is what it was, and only pools when only they move", () => {
    const same = upgradePlan(prod, deployedAsRequested(prod, "1.36.5"));
    expect(same.ok && same.plan.stages).toEqual([]);
    const poolOnly = upgradePlan(prod, {
      controlPlane: "1.36.5",
      pools: { general: "1.35.0", batch: "1.36.5" },
    });
    expect(poolOnly.ok && poolOnly.plan.stages.map((s) => `${s.kind}:${s.name}`)).toEqual([
      "preflight:preflight",
      "pool:general",
    ]);
  });

  it("is refused, with the config key, for a skipped minor", () => {
    const result = upgradePlan(prod, deployedAsRequested(prod, "1.34.0"));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.refusals.map((r) => r.path.join("."))).toEqual(["kubernetesVersion"]);
  });
});
