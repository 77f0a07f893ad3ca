// The one drain (bootstrap/drain.sh through plan/drain.ts drainCommand), run as Cloud
// Assistant would run it, with the REAL kubectl of this machine against
// test/harness/fake-kube.py, a protocol model of the API server (what it does not model
// is listed in its docstring: no RBAC, no watches, pods vanish when evicted, budgets'
// disruptionsAllowed fixed by the scenario). kubectl's drain (k8s.io/kubectl pkg/drain)
// finds the Eviction API by discovery, evicts through it and retries a 429 every 5 s
// until --timeout: the fake answers as the API server's eviction handler does.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DRAIN_MARGIN_SECONDS, drainCommand, drainFailure, parseDrainResult } from "../plan/drain";
import { haveKubectl, kubeconfig, pod, startFake, stopFakes } from "./harness/kube";

afterEach(stopFakes);

/** Runs the exact Cloud Assistant command, with the script's paths under `dir`. */
function runDrain(dir: string, kube: string, node: string, budget: number, keepCordoned = false) {
  const { script, timeoutSeconds } = drainCommand(node, budget, { keepCordoned });
  const started = Date.now();
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    timeout: timeoutSeconds * 1000,
    env: { ...process.env, KUBEADM_ALICLOUD_ROOT: join(dir, "root"), KUBEADM_ALICLOUD_KUBECONFIG: kube },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!haveKubectl)("the drain, with the real kubectl", () => {
  it("cordons, evicts every pod but DaemonSets' through the Eviction API, and leaves the node cordoned", async () => {
    const fake = await startFake({
      nodes: [{ name: "n1" }, { name: "n2" }],
      pods: [
        pod("default", "web-1", { labels: { app: "web" }, emptyDir: true }),
        pod("kube-system", "agent-x", { owner: { kind: "DaemonSet", name: "agent" } }),
        pod("default", "web-2", { node: "n2" }),
      ],
      daemonsets: [{ namespace: "kube-system", name: "agent" }],
      pdbs: [{ namespace: "default", name: "web", matchLabels: { app: "web" }, disruptionsAllowed: 1 }],
    });
    const r = runDrain(fake.dir, kubeconfig(fake.dir, fake.url), "n1", 30);
    expect(r.status, r.output).toBe(0);
    expect(parseDrainResult(r.output)).toMatchObject({ node: "n1", ok: true, reason: "drained" });
    const state = fake.state();
    expect(state.pods.map((p) => p.name).sort()).toEqual(["agent-x", "web-2"]);
    expect(state.nodes.find((n) => n.name === "n1")?.unschedulable).toBe(true);
    // Recorded on the node: the rollout removes a replaced node only with this (a cordon alone
    // may be a drain killed halfway: plan/rollout/pool.ts).
    expect(state.nodes.find((n) => n.name === "n1")?.annotations).toEqual({
      "kubeadm-alicloud.io/drained": "true",
    });
    expect(fake.log()).toContain('"POST", "path": "/api/v1/namespaces/default/pods/web-1/eviction');
    expect(fake.log()).not.toContain('"DELETE"');
  });

  it("stops when the budget runs out, names the pod and the budget, and uncordons", async () => {
    const fake = await startFake({
      // A record of an earlier drain: this failed one drops it.
      nodes: [{ name: "n1", annotations: { "kubeadm-alicloud.io/drained": "true" } }],
      pods: [pod("shop", "db-0", { labels: { app: "db" } }), pod("default", "web-1")],
      daemonsets: [],
      pdbs: [{ namespace: "shop", name: "db-budget", matchLabels: { app: "db" }, disruptionsAllowed: 0 }],
    });
    const budget = 6;
    const r = runDrain(fake.dir, kubeconfig(fake.dir, fake.url), "n1", budget);
    expect(r.status, r.output).toBe(3);
    expect(parseDrainResult(r.output)).toEqual({
      node: "n1",
      ok: false,
      reason: "blocked",
      pods: ["shop/db-0"],
      budgets: ["shop/db-budget"],
    });
    expect(drainFailure("n1", r.output)).toContain(
      "blocked by pods shop/db-0 (PodDisruptionBudgets: shop/db-budget)",
    );
    // It waited for the budget, and ended well inside Cloud Assistant's Timeout.
    expect(r.seconds).toBeGreaterThanOrEqual(budget);
    expect(r.seconds).toBeLessThan(budget + DRAIN_MARGIN_SECONDS);
    expect(fake.state().nodes[0]?.unschedulable).toBe(false);
    expect(fake.state().nodes[0]?.annotations ?? {}).toEqual({});
    expect(fake.state().pods.map((p) => p.name)).toEqual(["db-0"]);
  });

  it("keeps a node about to be removed cordoned, and names a pod no controller would recreate", async () => {
    const fake = await startFake({
      nodes: [{ name: "n1" }],
      pods: [pod("default", "bare", { owner: null })],
      daemonsets: [],
      pdbs: [],
    });
    const r = runDrain(fake.dir, kubeconfig(fake.dir, fake.url), "n1", 5, true);
    expect(r.status, r.output).toBe(3);
    expect(parseDrainResult(r.output)?.pods).toEqual(["default/bare"]);
    expect(fake.state().nodes[0]?.unschedulable).toBe(true);
  });

  it("says it could not start when the API does not answer, without waiting out the budget", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drain-"));
    const r = runDrain(dir, kubeconfig(dir, "http://127.0.0.1:9"), "n1", 300);
    expect(r.status, r.output).toBe(4);
    expect(parseDrainResult(r.output)?.reason).toBe("cannot start");
    expect(drainFailure("n1", r.output)).toContain("could not start");
    expect(r.seconds).toBeLessThan(60);
    // The node's log keeps the run.
    expect(readFileSync(join(dir, "root/var/log/kubeadm-alicloud/drain-n1.log"), "utf8")).toContain(
      "cannot cordon n1",
    );
  });
});

describe("the drain command", () => {
  it("refuses a name that is no node name, and a budget of nothing", () => {
    expect(() => drainCommand("n1; rm -rf /", 60)).toThrow("not a node name");
    expect(() => drainCommand("n1", 0)).toThrow("budget");
  });

  it("gives Cloud Assistant more time than the drain's own budget", () => {
    expect(drainCommand("cn-hangzhou.i-abc", 600).timeoutSeconds).toBe(600 + DRAIN_MARGIN_SECONDS);
  });

  it("reports a drain killed before its result line as such", () => {
    expect(drainFailure("n1", "evicting pod a/b\n")).toContain("ended without a result");
  });
});
