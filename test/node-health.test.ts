// Unhealthy pool instances reported to ESS, with a brake (bootstrap/node-health.py,
// plan/node-health.ts, components/node-health.ts). The decision is property-tested over
// generated pools, Nodes and ledgers (one Python process per batch); a whole pass runs
// against the fake cloud (metadata service, ESS) and the fake Kubernetes API driven by the
// REAL kubectl; the component under mocks.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  HEALTH_ESS_CALL_SECONDS,
  HEALTH_KUBECTL_SECONDS,
  HEALTH_PASS_BUDGET_SECONDS,
  HEALTH_ROLE_WAIT_SECONDS,
  HEALTH_SERVICE_SECONDS,
  NODE_HEALTH_PATHS,
  nodeHealthFiles,
  nodeHealthInstaller,
  renderNodeHealthEnv,
  renderNodeHealthTimer,
  type HealthSettings,
} from "../plan/node-health";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import { verifyUnits } from "./systemd";
import type { Recorder } from "../tools/render/mock-runtime";
import { startFakeCloud, type FakeCloud } from "./harness/harness";
import { haveKubectl, kubeconfig, startFake, stopFakes } from "./harness/kube";
import { declareCluster, installMocks, specFor } from "./kit";

const SCRIPT = join(__dirname, "..", "bootstrap", "node-health.py");
const R = "cn-hangzhou";
const MIN = 60;
const NOW = 1_800_000_000;
/** The defaults (config/defaults.ts): 30 min to join, 15 min not Ready, a tenth per hour. */
const H: HealthSettings = specFor({}).nodeHealth;
const py = {
  join_deadline: H.joinDeadlineMinutes,
  unready: H.unreadyMinutes,
  window: H.windowMinutes,
  max_share: H.maxShare,
};

interface Verdict {
  id: string;
  pool: string;
  reason: string;
}
interface Decision {
  report: Verdict[];
  braked: Verdict[];
  ledger: Record<string, { id: string; at: number }[]>;
}
interface Case {
  instances: { id: string; pool: string; inServiceSince: number }[];
  nodes: { name: string; ready: string; readySince: number; problems?: { type: string; since: number }[] }[];
  ledger: Record<string, { id: string; at: number }[]>;
  now?: number;
}

/** node-health.py's decide() on each case, in one process. */
function decide(cases: readonly Case[]): Decision[] {
  const input = cases.map((c) => JSON.stringify({ region: R, now: NOW, settings: py, ...c })).join("\n");
  const r = spawnSync("python3", [SCRIPT, "--decide"], { input, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Decision);
}
const cap = (inService: number) => Math.max(1, Math.floor(inService * H.maxShare));

const pools = fc.constantFrom("general", "batch", "gpu");
const arbWorld = fc
  .record({
    instances: fc.array(
      fc.record({
        pool: pools,
        ageMin: fc.integer({ min: 0, max: 600 }),
        node: fc.constantFrom("none", "True", "False", "Unknown"),
        sinceMin: fc.integer({ min: 0, max: 600 }),
      }),
      { maxLength: 60 },
    ),
    ledger: fc.dictionary(pools, fc.array(fc.integer({ min: 0, max: 180 }), { maxLength: 8 })),
  })
  .map((w) => ({
    raw: w.instances,
    instances: w.instances.map((i, n) => ({
      id: `i-${n}`,
      pool: i.pool,
      inServiceSince: NOW - i.ageMin * MIN,
    })),
    nodes: w.instances.flatMap((i, n) =>
      i.node === "none" ? [] : [{ name: `${R}.i-${n}`, ready: i.node, readySince: NOW - i.sinceMin * MIN }],
    ),
    // Earlier reports of instances that are gone now.
    ledger: Object.fromEntries(
      Object.entries(w.ledger).map(([p, ts]) => [
        p,
        ts.map((m, k) => ({ id: `i-gone-${p}-${k}`, at: NOW - m * MIN })),
      ]),
    ),
  }));

describe("deciding which pool instances to report, with a brake", () => {
  const worlds = fc.sample(arbWorld, { numRuns: 300, seed: 16 });
  let decisions: Decision[];
  beforeAll(() => {
    decisions = decide(worlds);
  });

  it("never reports a Ready node, nor one inside its deadline; reports or brakes every other", () => {
    worlds.forEach(({ raw }, w) => {
      const d = decisions[w] as Decision;
      const flagged = new Set([...d.report, ...d.braked].map((v) => v.id));
      raw.forEach((i, n) => {
        const due =
          i.node === "none"
            ? i.ageMin > H.joinDeadlineMinutes
            : i.node !== "True" && i.sinceMin > H.unreadyMinutes;
        expect(flagged.has(`i-${n}`), JSON.stringify(i)).toBe(due);
      });
    });
  });

  it("replaces no more than the cap of a pool in any window, counting earlier reports", () => {
    worlds.forEach(({ instances, ledger }, w) => {
      const d = decisions[w] as Decision;
      for (const pool of new Set(instances.map((i) => i.pool))) {
        const recent = (ledger[pool] ?? []).filter((e) => NOW - e.at < H.windowMinutes * MIN).length;
        const now = d.report.filter((v) => v.pool === pool).length;
        expect(now).toBeLessThanOrEqual(
          Math.max(0, cap(instances.filter((i) => i.pool === pool).length) - recent),
        );
        expect(d.ledger[pool]?.length ?? 0).toBe(recent + now);
      }
    });
  });

  it("a zone outage of half a 40-node pool replaces 4 now, names the other 16, and 4 more an hour later", () => {
    const instances = Array.from({ length: 40 }, (_, n) => ({
      id: `i-${n}`,
      pool: "general",
      inServiceSince: NOW - 600 * MIN,
    }));
    const nodes = instances.map((i, n) => ({
      name: `${R}.${i.id}`,
      ready: n < 20 ? "Unknown" : "True",
      readySince: NOW - 30 * MIN,
    }));
    const [first] = decide([{ instances, nodes, ledger: {} }]) as [Decision];
    expect(first.report).toHaveLength(4);
    expect(first.braked).toHaveLength(16);
    expect(first.braked[0]?.reason).toContain("held back: 4 of 4 replacements in the last 60 min");
    const replacements = [0, 1, 2, 3].map((n) => ({
      id: `i-new-${n}`,
      pool: "general",
      inServiceSince: NOW,
    }));
    // ESS has not removed them yet (the scale-in hook drains first): not reported again, not counted twice.
    const [again, later] = decide([
      { instances, nodes, ledger: first.ledger, now: NOW + 10 * MIN },
      // An hour on, ESS has replaced the four with new, Ready instances.
      {
        instances: [...replacements, ...instances.slice(4)],
        nodes: [
          ...nodes,
          ...replacements.map((i) => ({ name: `${R}.${i.id}`, ready: "True", readySince: NOW })),
        ],
        ledger: first.ledger,
        now: NOW + 61 * MIN,
      },
    ]) as [Decision, Decision];
    expect(again.report).toHaveLength(0);
    expect(again.braked.map((v) => v.id)).not.toContain("i-0");
    expect(later.report).toHaveLength(4);
  });

  it("replaces a Ready node that node-problem-detector found broken for good, not one with a passing problem", () => {
    const instances = [0, 1, 2].map((n) => ({
      id: `i-${n}`,
      pool: "general",
      inServiceSince: NOW - 600 * MIN,
    }));
    const ready = { ready: "True", readySince: NOW - 600 * MIN };
    const [d] = decide([
      {
        instances,
        nodes: [
          { name: `${R}.i-0`, ...ready, problems: [{ type: "ReadonlyFilesystem", since: NOW - 20 * MIN }] },
          { name: `${R}.i-1`, ...ready, problems: [{ type: "KernelDeadlock", since: NOW - 5 * MIN }] },
          { name: `${R}.i-2`, ...ready, problems: [{ type: "MemoryPressure", since: NOW - 60 * MIN }] },
        ],
        ledger: {},
      },
    ]) as [Decision];
    expect(d.report).toEqual([
      { id: "i-0", pool: "general", reason: "ReadonlyFilesystem for 20 min (node-problem-detector)" },
    ]);
    expect(d.braked).toEqual([]);
  });

  it("always allows one replacement, however small the pool", () => {
    const one = (n: number) =>
      Array.from({ length: n }, (_, k) => ({ id: `i-${k}`, pool: "p", inServiceSince: NOW - 600 * MIN }));
    const counts = decide([1, 9, 1000].map((n) => ({ instances: one(n), nodes: [], ledger: {} }))).map(
      (d) => d.report.length,
    );
    expect(counts).toEqual([1, 1, 100]);
  });
});

describe.skipIf(!haveKubectl)(
  "a pass, against the fake cloud and the fake Kubernetes API with the real kubectl",
  () => {
    let cloud: FakeCloud | undefined;
    afterEach(() => {
      stopFakes();
      cloud?.stop();
    });
    const iso = (secondsAgo: number) =>
      new Date(Date.now() - secondsAgo * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const essTime = (secondsAgo: number) => iso(secondsAgo).replace(/:\d\dZ$/, "Z"); // ESS: 2014-08-14T10:58Z
    const ready = (status: string, secondsAgo: number) => [
      { type: "Ready", status, lastTransitionTime: iso(secondsAgo) },
    ];

    async function world(
      extra: {
        configmapConflict?: boolean;
        configmapForbidden?: boolean;
        essDeny?: string[];
        budgetSeconds?: number;
      } = {},
    ) {
      const instance = (id: string, minutesAgo: number, health = "Healthy") => ({
        InstanceId: id,
        CreationTime: essTime(minutesAgo * 60),
        LifecycleState: "InService",
        HealthStatus: health,
      });
      cloud = await startFakeCloud({
        parameters: {},
        scalingInstances: {
          "asg-general": [
            instance("i-ok", 600),
            instance("i-never", 120),
            instance("i-young", 5),
            instance("i-broken", 600),
            instance("i-already", 600, "Unhealthy"),
            instance("i-kept", 600),
            // A time the script cannot read: judged as just launched, never against the deadline.
            {
              InstanceId: "i-odd",
              CreationTime: "soon",
              LifecycleState: "InService",
              HealthStatus: "Healthy",
            },
          ],
          "asg-batch": Array.from({ length: 60 }, (_, n) => instance(`i-b${n}`, 600)),
        },
        ...(extra.essDeny ? { essDeny: extra.essDeny } : {}),
      });
      const kube = await startFake({
        nodes: [
          { name: `${R}.i-ok`, conditions: ready("True", 36000) },
          { name: `${R}.i-broken`, conditions: ready("Unknown", 3600) },
          // Down on purpose: an operator said so on the Node.
          {
            name: `${R}.i-kept`,
            conditions: ready("False", 3600),
            annotations: { "kubeadm-alicloud.io/skip-health-replacement": "true" },
          },
          ...Array.from({ length: 60 }, (_, n) => ({
            name: `${R}.i-b${n}`,
            conditions: ready(n < 20 ? "False" : "True", 3600),
          })),
        ],
        pods: [],
        daemonsets: [],
        pdbs: [],
        ...(extra.configmapForbidden ? { configmapForbidden: true } : {}),
        ...(extra.configmapConflict
          ? {
              configmapConflict: true,
              configmaps: [
                {
                  apiVersion: "v1",
                  kind: "ConfigMap",
                  metadata: {
                    name: "kubeadm-alicloud-node-health",
                    namespace: "kube-system",
                    resourceVersion: "1",
                  },
                  data: {},
                },
              ],
            }
          : {}),
      });
      const settings = join(kube.dir, "node-health.env");
      writeFileSync(
        settings,
        renderNodeHealthEnv(R, { general: "asg-general", batch: "asg-batch" }, H)
          .replace(/^ESS_ENDPOINT=.*$/m, `ESS_ENDPOINT=${cloud.url}`)
          .replace(/^METADATA_URL=.*$/m, `METADATA_URL=${cloud.url}`)
          .replace(/^KUBECONFIG=.*$/m, `KUBECONFIG=${kubeconfig(kube.dir, kube.url)}`)
          .replace(/^LOG=.*$/m, `LOG=${join(kube.dir, "log", "node-health.log")}`)
          .replace(/^RETRY_BACKOFF_SECONDS=.*$/m, "RETRY_BACKOFF_SECONDS=0.01")
          .replace(/^PASS_BUDGET_SECONDS=.*$/m, `PASS_BUDGET_SECONDS=${extra.budgetSeconds ?? 600}`),
      );
      const run = () =>
        spawnSync("python3", [SCRIPT, "--settings", settings], { encoding: "utf8", timeout: 120_000 });
      const reported = () =>
        (cloud as FakeCloud)
          .requests()
          .filter((q) => q.headers["x-acs-action"] === "SetInstanceHealth")
          .map((q) => new URL(q.path, "http://x").searchParams.get("InstanceId"));
      return {
        kube,
        run,
        reported,
        log: () => readFileSync(join(kube.dir, "log", "node-health.log"), "utf8"),
      };
    }

    it("reports the node that never came and the broken one, brakes the batch pool, records it all, and does not repeat", async () => {
      const w = await world();
      const first = w.run();
      expect(first.status, first.stdout + first.stderr).toBe(0);
      // general: 7 in service, 6 Healthy (i-already is ESS's business): cap 1 per window (at least one).
      // batch: 60 -> cap 6 of the 20 NotReady; the other 14 named as held back.
      expect(w.reported().sort()).toEqual(
        ["i-b0", "i-b1", "i-b10", "i-b11", "i-b12", "i-b13", "i-broken"].sort(),
      );
      const ledger = (w.kube.state().configmaps as { data: Record<string, string> }[])[0]?.data ?? {};
      expect(JSON.parse(ledger["held-back"] ?? "[]")).toHaveLength(14 + 1);
      expect(ledger["held-back"]).toContain("i-never");
      expect(Object.keys(JSON.parse(ledger.ledger ?? "{}")).sort()).toEqual(["batch", "general"]);
      expect(w.log()).toMatch(/reported i-broken \(general\) Unhealthy: Node Ready=Unknown for 60 min/);
      expect(w.log()).toMatch(/i-odd \(general\): no usable CreationTime/);
      expect(ledger["held-back"]).not.toContain("i-kept");
      expect(w.log()).toMatch(/held back i-b19 \(batch\): Node Ready=False for 60 min; held back: 6 of 6/);
      // The next pass (the timer, or another control plane) finds the brake full and reports nothing new.
      expect(w.run().status).toBe(0);
      expect(w.reported()).toHaveLength(7);
    });

    it("does nothing when another control plane wrote the ledger first", async () => {
      const w = await world({ configmapConflict: true });
      const r = w.run();
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(w.reported()).toEqual([]);
      expect(w.log()).toMatch(/ledger not written, nothing reported this pass: .*Conflict|modified/);
    });

    it("starts no ESS call once the pass's budget is spent, and says so", async () => {
      const w = await world({ budgetSeconds: 0 });
      const r = w.run();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the pass's budget of 0 s is spent before ESS DescribeScalingInstances/);
      expect(w.reported()).toEqual([]);
    });

    it("fails the pass, reporting nothing, when the ledger cannot be written for another reason", async () => {
      const w = await world({ configmapForbidden: true });
      expect(w.run().status).toBe(1);
      expect(w.reported()).toEqual([]);
      expect(w.log()).toMatch(/ledger not written, nothing reported this pass: .*forbidden/);
    });

    it("fails the pass, naming the instance, when ESS refuses the report", async () => {
      const w = await world({ essDeny: ["SetInstanceHealth"] });
      const r = w.run();
      // 403 is retried (a new RAM policy takes a while to apply: fetch-secrets.py RETRY_STATUS), then named.
      expect(r.status).toBe(1);
      expect(w.log()).toMatch(
        /could not report i-broken \(general\): ESS SetInstanceHealth: gave up after 4 tries: HTTP 403 Forbidden\.RAM/,
      );
    });
  },
);

describe("settings, units and limits", () => {
  it("systemd-analyze verify accepts the units as a control plane gets them, and fails without the script", () => {
    const files = nodeHealthFiles(R, { general: "asg-1" }, H);
    const units = [NODE_HEALTH_PATHS.service, NODE_HEALTH_PATHS.timer];
    expect(verifyUnits(files, units)).toEqual({ status: 0, output: "" });
    const missing = verifyUnits(files, units, NODE_HEALTH_PATHS.script);
    expect(missing.output).toContain(`Command ${NODE_HEALTH_PATHS.script} is not executable`);
  });

  it("refuses a join deadline inside the bootstrap's own limit and a zero share, naming both keys at once", () => {
    let message = "";
    try {
      specFor({ nodeHealth: { ...H, joinDeadlineMinutes: 10, maxShare: 0 } });
    } catch (e) {
      message = String(e);
    }
    expect(message).toMatch(/nodeHealth\.joinDeadlineMinutes.*at least 25/);
    expect(message).toMatch(/nodeHealth\.maxShare.*more than 0/);
  });

  it("nests its limits: kubectl request < kubectl call; the pass's budget and what may follow it < the unit's limit", () => {
    expect(20).toBeLessThan(HEALTH_KUBECTL_SECONDS);
    expect(HEALTH_ROLE_WAIT_SECONDS).toBeLessThan(HEALTH_PASS_BUDGET_SECONDS);
    // 4 tries of 10 s, 2 + 4 + 8 s between them.
    expect(HEALTH_ESS_CALL_SECONDS).toBe(54);
    expect(HEALTH_PASS_BUDGET_SECONDS + HEALTH_ESS_CALL_SECONDS + HEALTH_KUBECTL_SECONDS).toBeLessThan(
      HEALTH_SERVICE_SECONDS,
    );
    const files = Object.fromEntries(
      nodeHealthFiles(R, { general: "asg-1" }, H).map((f) => [f.path, f.content]),
    );
    expect(files[NODE_HEALTH_PATHS.service]).toContain(`TimeoutStartSec=${HEALTH_SERVICE_SECONDS}\n`);
    expect(renderNodeHealthTimer()).toMatch(/OnUnitActiveSec=2min\nAccuracySec=10s\n/);
    expect(files[NODE_HEALTH_PATHS.env]).toContain("POOLS=general=asg-1\n");
    // The VPC endpoint: every region has one; the public names are not all regional.
    expect(files[NODE_HEALTH_PATHS.env]).toContain(`ESS_ENDPOINT=https://ess-vpc.${R}.aliyuncs.com\n`);
    expect(() => renderNodeHealthEnv(R, { "bad pool": "asg" }, H)).toThrow();
    const installer = nodeHealthInstaller(
      R,
      Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`pool-${n}`, `asg-${"x".repeat(20)}`])),
      H,
    );
    expect(commandContentSize(installer)).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
  });
});

describe("under mocks", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });

  it("grants the control planes the two ESS calls on this cluster's groups, installs on each control plane after the others", async () => {
    const spec = specFor({ clusterName: "nh" });
    const rs = await declareCluster(recorder, spec);
    const policy = rs.find((r) => r.name === "nh-node-health-policy");
    const doc = JSON.parse(String(policy?.inputs.policyDocument)) as {
      Statement: { Action: string[]; Resource: string[] }[];
    };
    expect(doc.Statement).toEqual([
      {
        Effect: "Allow",
        Action: ["ess:SetInstanceHealth"],
        Resource: spec.nodePools.map(() =>
          expect.stringMatching(new RegExp(`^acs:ess:${R}:\\*:scalinggroup/.+`)),
        ),
      },
      { Effect: "Allow", Action: ["ess:DescribeScalingInstances"], Resource: [`acs:ess:${R}:*:*`] },
    ]);
    expect(rs.find((r) => r.name === "nh-node-health-attachment")?.inputs.roleName).toBe(
      `${spec.ram.namePrefix}-nodes`,
    );
    const installers = rs.filter((r) => r.name.endsWith("-node-health") && r.type.includes("ReadinessCheck"));
    expect(installers.map((r) => r.name).sort()).toEqual(
      Array.from({ length: spec.controlPlane.count }, (_, i) => `nh-cp-${i}-node-health`),
    );
    const lastCpInstall = rs.find((r) => r.name === `nh-cp-${spec.controlPlane.count - 1}-csr-approver`);
    expect(installers[0]?.dependsOn).toContain(lastCpInstall?.urn);
    const off = await declareCluster(
      recorder,
      specFor({ clusterName: "nh", nodeHealth: { ...H, enabled: false } }),
    );
    expect(off.filter((r) => r.name.includes("node-health"))).toEqual([]);
  });
});
