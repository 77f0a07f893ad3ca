// The rollout's steps inside the cluster (bootstrap/rollout-node.py through
// plan/rollout/node-script.ts), run as Cloud Assistant would run them, with the REAL
// kubectl of this machine against test/harness/fake-kube.py. What the fake does not
// model is in its docstring (no RBAC, no watches); here in particular: mirror pods are
// plain pods of the scenario, /readyz answers what the scenario says, and the snapshot's
// node and pod fields are the ones the fake fills (providerID, nodeInfo.kubeletVersion,
// conditions, annotations, the control-plane label).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./harness/net";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  parseRolloutResult,
  mergeSnapshots,
  parseSnapshot,
  rolloutNodeCommand,
  toObserved,
} from "../plan/rollout/node-script";
import { commandContentSize, COMMAND_CONTENT_LIMIT } from "../plan/node-commands";
import {
  READY as ready,
  haveKubectl,
  kubeNode as node,
  kubeconfig,
  startFake,
  stopFakes,
  type Scenario,
} from "./harness/kube";
import { ETCD, ETCDCTL, startEtcd } from "./harness/etcd";

const haveEtcd = existsSync(ETCD) && existsSync(ETCDCTL);
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
});

/** A local stand-in of the package repository: deb/Release under /core:/stable:/v1.36. */
async function serveRepository(dir: string): Promise<string> {
  const root = join(dir, "repo");
  mkdirSync(join(root, "core:", "stable:", "v1.36", "deb"), { recursive: true });
  writeFileSync(join(root, "core:", "stable:", "v1.36", "deb", "Release"), "Origin: stand-in\n");
  const port = await freePort();
  procs.push(
    spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root], {
      stdio: "ignore",
    }),
  );
  const url = `http://127.0.0.1:${port}/core:/stable:/v1.36`;
  for (let i = 0; i < 100; i++) {
    if (spawnSync("curl", ["-fsS", `${url}/deb/Release`]).status === 0) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the repository stand-in did not start");
}

afterEach(stopFakes);

type Step = Parameters<typeof rolloutNodeCommand>[0];

function run(dir: string, url: string, step: Step, localApi = url) {
  const { script, timeoutSeconds } = rolloutNodeCommand(step);
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    timeout: timeoutSeconds * 1000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      KUBEADM_ALICLOUD_KUBECONFIG: kubeconfig(dir, url),
      KUBEADM_ALICLOUD_LOG_DIR: dir,
      KUBEADM_ALICLOUD_LOCAL_API: localApi,
      KUBEADM_ALICLOUD_GATE_INTERVAL: "0.2",
    },
  });
  const output = `${r.stdout}${r.stderr}`;
  return { status: r.status, output, result: parseRolloutResult(output), stdout: r.stdout };
}

const cpLabel = { "node-role.kubernetes.io/control-plane": "" };
const staticPod = (component: string, id: string, version: string, readyPod = true) => ({
  namespace: "kube-system",
  name: `${component}-cn-hangzhou.${id}`,
  node: `cn-hangzhou.${id}`,
  labels: { component },
  owner: { kind: "Node", name: `cn-hangzhou.${id}` },
  image: `registry.k8s.io/${component}:v${version}`,
  ready: readyPod,
});
const kubeadmConfig = (version: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { namespace: "kube-system", name: "kubeadm-config", resourceVersion: "1" },
  data: { ClusterConfiguration: `apiVersion: kubeadm.k8s.io/v1beta4\nkubernetesVersion: v${version}\n` },
});

function cluster(): Scenario {
  return {
    nodes: [
      node("i-cp1", "1.36.5", { labels: cpLabel }),
      node("i-cp0", "1.35.2", { labels: cpLabel, unschedulable: true }),
      node("i-w1", "1.35.2", {
        annotations: { "kubeadm-alicloud.io/rollout-replace": "2", "kubeadm-alicloud.io/drained": "true" },
      }),
      node("i-w2", "1.35.2"),
      node("i-w3", "1.36.5", {
        annotations: { "kubeadm-alicloud.io/rollout-gated": "1.36.5" },
      }),
      node("i-w4", "1.36.5", { conditions: [{ type: "Ready", status: "False" }] }),
    ],
    pods: [
      staticPod("kube-apiserver", "i-cp0", "1.35.2"),
      staticPod("kube-apiserver", "i-cp1", "1.36.5"),
      // Not kube-system: not a control plane's API server.
      { ...staticPod("kube-apiserver", "i-w2", "1.30.0"), namespace: "default" },
    ],
    daemonsets: [],
    pdbs: [],
    configmaps: [kubeadmConfig("1.36.5")],
  };
}

describe.skipIf(!haveKubectl)("rollout-node.py with the real kubectl", () => {
  it("fits Cloud Assistant's command size limit", () => {
    const { script } = rolloutNodeCommand({ kind: "observe", page: 0 });
    expect(commandContentSize(script)).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
  });

  it("observes the cluster as the engine needs it: placement order, marks, gates, pending instances", async () => {
    const fake = await startFake(cluster());
    const r = run(fake.dir, fake.url, { kind: "observe", page: 0 });
    expect(r.status, r.output).toBe(0);
    const observed = toObserved(
      parseSnapshot(r.result ?? { ok: false }),
      ["i-cp0", "i-cp1"],
      [
        {
          name: "general",
          desired: 5,
          maxSize: 8,
          instanceIds: ["i-w1", "i-w2", "i-w3", "i-w4", "i-w5"],
          strategy: "replace",
          version: "1.36.5",
        },
      ],
    );
    expect(observed.clusterVersion).toBe("1.36.5");
    expect(observed.controlPlanes).toEqual([
      {
        name: "cn-hangzhou.i-cp0",
        apiServerVersion: "1.35.2",
        kubeletVersion: "1.35.2",
        ready: true,
        cordoned: true,
      },
      {
        name: "cn-hangzhou.i-cp1",
        apiServerVersion: "1.36.5",
        kubeletVersion: "1.36.5",
        ready: true,
        cordoned: false,
      },
    ]);
    const [pool] = observed.pools;
    expect(pool).toMatchObject({ name: "general", desired: 5, maxSize: 8, pending: 1, steady: 2 });
    expect(pool?.nodes.map((n) => [n.instanceId, n.marked, n.gated, n.ready, n.drained])).toEqual([
      ["i-w1", true, false, true, true],
      ["i-w2", false, false, true, false],
      ["i-w3", false, true, true, false],
      ["i-w4", false, false, false, false],
    ]);
    // Uncordoning drops the drain's record (the node serves again).
    expect(run(fake.dir, fake.url, { kind: "uncordon", node: "cn-hangzhou.i-w1" }).status).toBe(0);
    expect(fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-w1")?.annotations).toEqual({
      "kubeadm-alicloud.io/rollout-replace": "2",
    });
  });

  it("pages a 1,000-node snapshot, each page inside Cloud Assistant's output limit", async () => {
    const big = cluster();
    // Instance ids as random as real ones (they compress worse than a counter).
    const id = (i: number) =>
      `i-bp1${createHash("sha256").update(String(i)).digest("base64url").slice(0, 17).toLowerCase()}`;
    for (let i = 0; i < 1000; i++) big.nodes.push(node(id(i), "1.35.2"));
    const fake = await startFake(big);
    const pages = [0, 1].map((page) => run(fake.dir, fake.url, { kind: "observe", page }));
    const snapshots = pages.map((r) => parseSnapshot(r.result ?? { ok: false }));
    expect(snapshots.map((s) => [s.page, s.pages, s.nodes.length])).toEqual([
      [0, 2, 600],
      [1, 2, 406],
    ]);
    const merged = mergeSnapshots(snapshots);
    expect(new Set(merged.nodes.map((n) => n[0])).size).toBe(1006);
    // DescribeInvocationResults keeps the last 24 KB of output (ECS API reference,
    // "DescribeInvocationResults": Output); each page's result line must fit whole.
    for (const r of pages) {
      const line = r.stdout.split("\n").find((l) => l.startsWith("kubeadm-alicloud-rollout: ")) ?? "";
      expect(line.length).toBeLessThan(20 * 1024);
    }
    // Merging pages that overlap (a node added between two reads) counts each node once.
    const again = mergeSnapshots([...snapshots, ...snapshots.slice(1)]);
    expect(again.nodes).toHaveLength(1006);
  });

  it("marks old nodes with the pool's size, and a rerun changes nothing more", async () => {
    const fake = await startFake(cluster());
    const step: Step = { kind: "mark", steady: 4, nodes: ["cn-hangzhou.i-w2"] };
    expect(run(fake.dir, fake.url, step).status).toBe(0);
    expect(run(fake.dir, fake.url, step).status).toBe(0);
    const w2 = fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-w2");
    expect(w2?.annotations).toEqual({ "kubeadm-alicloud.io/rollout-replace": "4" });
  });

  it("gates a new pool node on Ready, its version and its DaemonSet pods, then records it and holds it from scale-down", async () => {
    const s = cluster();
    s.pods.push({
      namespace: "kube-system",
      name: "cilium-x",
      node: "cn-hangzhou.i-w4",
      owner: { kind: "DaemonSet", name: "cilium" },
      ready: false,
    });
    s.nodes = s.nodes.map((n) => (n.name === "cn-hangzhou.i-w4" ? { ...n, conditions: ready } : n));
    const fake = await startFake(s);
    const blocked = run(fake.dir, fake.url, {
      kind: "gate",
      node: "cn-hangzhou.i-w4",
      version: "1.36.5",
      seconds: 1,
    });
    expect(blocked.status, blocked.output).toBe(1);
    expect(blocked.result?.problems).toEqual(["DaemonSet pod kube-system/cilium-x not Ready"]);
    expect(fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-w4")?.annotations ?? {}).toEqual({});

    const wrong = run(fake.dir, fake.url, {
      kind: "gate",
      node: "cn-hangzhou.i-w2",
      version: "1.36.5",
      seconds: 1,
    });
    expect(wrong.result?.problems).toEqual(["kubelet 1.35.2 (want 1.36.5)"]);

    const passed = run(fake.dir, fake.url, {
      kind: "gate",
      node: "cn-hangzhou.i-w3",
      version: "1.36.5",
      seconds: 5,
    });
    expect(passed.status, passed.output).toBe(0);
    expect(fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-w3")?.annotations).toEqual({
      "kubeadm-alicloud.io/rollout-gated": "1.36.5",
      "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
    });
    // Two passes in a row (its pods are listed only by the gate's check).
    expect(fake.log().match(/pods\?fieldSelector=spec.nodeName%3Dcn-hangzhou.i-w3/g)).toHaveLength(2);

    // An adopted node (nodePools[].adoptInstanceIds): the same gate, then held for good.
    const adopted = run(fake.dir, fake.url, {
      kind: "adopt",
      node: "cn-hangzhou.i-w2",
      version: "1.35.2",
      seconds: 5,
    });
    expect(adopted.status, adopted.output).toBe(0);
    const annotationsOf = (name: string) => fake.state().nodes.find((n) => n.name === name)?.annotations;
    expect(annotationsOf("cn-hangzhou.i-w2")).toEqual({
      "kubeadm-alicloud.io/adopted": "true",
      "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
    });

    // Release drops the rollout's marks, and the autoscaler hold of every node but an adopted one.
    const released = run(fake.dir, fake.url, {
      kind: "release",
      nodes: ["cn-hangzhou.i-w3", "cn-hangzhou.i-w2"],
    });
    expect(released.status, released.output).toBe(0);
    expect(annotationsOf("cn-hangzhou.i-w3")).toEqual({});
    expect(annotationsOf("cn-hangzhou.i-w2")).toEqual({
      "kubeadm-alicloud.io/adopted": "true",
      "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
    });
    expect(run(fake.dir, fake.url, { kind: "release", nodes: ["cn-hangzhou.i-w3"] }).status).toBe(0);
  });

  it("gates a control plane on its static pods' images and readiness and its own /readyz", async () => {
    const s = cluster();
    s.pods.push(
      staticPod("kube-controller-manager", "i-cp1", "1.36.5"),
      staticPod("kube-scheduler", "i-cp1", "1.36.5", false),
      staticPod("kube-controller-manager", "i-cp0", "1.35.2"),
    );
    s.readyz = "[-]etcd failed: reason withheld";
    const fake = await startFake(s);
    const cp1 = run(fake.dir, fake.url, {
      kind: "cp-gate",
      node: "cn-hangzhou.i-cp1",
      version: "1.36.5",
      seconds: 1,
    });
    expect(cp1.status, cp1.output).toBe(1);
    // A failing /readyz is an HTTP 500 that kubectl reports as an error, with the body.
    expect(cp1.result?.problems).toEqual([
      "kube-scheduler-cn-hangzhou.i-cp1 not Ready",
      expect.stringMatching(/^\/readyz: .*\[-\]etcd failed: reason withheld/),
    ]);
    const cp0 = run(fake.dir, fake.url, {
      kind: "cp-gate",
      node: "cn-hangzhou.i-cp0",
      version: "1.36.5",
      seconds: 1,
    });
    expect(cp0.result?.problems).toEqual([
      "kubelet 1.35.2 (want 1.36.5)",
      "kube-apiserver-cn-hangzhou.i-cp0 runs 1.35.2 (want 1.36.5)",
      "kube-controller-manager-cn-hangzhou.i-cp0 runs 1.35.2 (want 1.36.5)",
      "kube-scheduler-cn-hangzhou.i-cp0 not found",
      expect.stringMatching(/^\/readyz: .*etcd failed/),
    ]);
  });

  it("passes a control plane whose node, static pods and /readyz are all at the target", async () => {
    const s = cluster();
    s.pods.push(
      staticPod("kube-controller-manager", "i-cp1", "1.36.5"),
      staticPod("kube-scheduler", "i-cp1", "1.36.5"),
    );
    const fake = await startFake(s);
    const r = run(fake.dir, fake.url, {
      kind: "cp-gate",
      node: "cn-hangzhou.i-cp1",
      version: "1.36.5",
      seconds: 5,
    });
    expect(r.status, r.output).toBe(0);
    expect(fake.log()).toContain('"path": "/readyz?');
    // A control plane's gate records nothing on the node.
    expect(fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-cp1")?.annotations ?? {}).toEqual({});
  });

  it("says the API did not answer, with exit 4", async () => {
    const fake = await startFake(cluster());
    const r = run(fake.dir, "http://127.0.0.1:9", { kind: "observe", page: 0 });
    expect(r.status, r.output).toBe(4);
    expect(r.result).toMatchObject({ ok: false, reason: "api" });
  });

  it.skipIf(!haveEtcd)(
    "gathers the preflight: deprecated APIs requested, etcd's members (the real etcd), the repository",
    async () => {
      const s = cluster();
      s.metrics = [
        "# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested",
        'apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.36",resource="flowschemas",subresource="",version="v1beta3"} 1',
        'apiserver_request_total{code="200"} 7',
      ].join("\n");
      const fake = await startFake(s);
      const etcdUrl = await startEtcd(mkdtempSync(join(tmpdir(), "etcd-")), procs);
      // etcdctl as in the etcd pod, minus the pod: kubeadm's TLS flags dropped, the member's URL kept.
      const exec = join(fake.dir, "etcd-exec");
      writeFileSync(
        exec,
        [
          "#!/usr/bin/env bash",
          "shift; args=()",
          'for a in "$@"; do case "$a" in --endpoints=*|--cacert=*|--cert=*|--key=*) ;; *) args+=("$a") ;; esac; done',
          `ETCDCTL_API=3 exec ${ETCDCTL} --endpoints ${etcdUrl} "\${args[@]}"`,
          "",
        ].join("\n"),
      );
      chmodSync(exec, 0o755);
      const repo = await serveRepository(fake.dir);
      const run2 = (repository: string) => {
        const { script } = rolloutNodeCommand({ kind: "preflight", version: "1.36.5", repository });
        const r = spawnSync("bash", ["-c", script], {
          encoding: "utf8",
          env: {
            ...process.env,
            KUBEADM_ALICLOUD_KUBECONFIG: kubeconfig(fake.dir, fake.url),
            KUBEADM_ALICLOUD_LOG_DIR: fake.dir,
            ETCD_EXEC: exec,
          },
        });
        return {
          status: r.status,
          result: parseRolloutResult(`${r.stdout}`),
          output: `${r.stdout}${r.stderr}`,
        };
      };
      const ok = run2(repo);
      expect(ok.status, ok.output).toBe(0);
      expect(ok.result?.metrics).toEqual([expect.stringContaining('resource="flowschemas"')]);
      expect(ok.result?.etcd).toEqual([{ name: "default", learner: false, healthy: true }]);
      expect(ok.result?.repository).toBe(true);
      // A repository that does not answer (nothing listens on port 9).
      expect(run2("http://127.0.0.1:9/core:/stable:/v1.36").result?.repository).toBe(false);
    },
  );

  it("refuses arguments that are not node names, versions or numbers", () => {
    expect(() => rolloutNodeCommand({ kind: "uncordon", node: "a; rm -rf /" })).toThrow(
      /neither a node name/,
    );
    expect(() => rolloutNodeCommand({ kind: "release", nodes: [] })).toThrow(/no nodes/);
  });
});
