// The rollout executor end to end inside the cluster: cloudPorts and the engine
// (components/rollout/) with a Cloud Assistant that RUNS each command it is given (the
// real rollout-node.py, drain.sh and their real kubectl) against test/harness/fake-kube.py,
// whose eviction answers 429 for a budget, and an ESS stand-in whose launched instances
// register as Nodes in that fake API and whose removed ones leave it. What is not run:
// kubeadm and the package upgrade (upgrade-node.sh: control planes are at the target here,
// and the pool is replaced, not upgraded in place), the etcd snapshot and the preflight
// (only before a control plane moves), ESS and Cloud Assistant themselves.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandApi, InvocationResult } from "../components/cloud-assistant";
import type { EssApi } from "../components/ess";
import { cloudPorts } from "../components/rollout/cloud-ports";
import { RolloutHalted, runEngine } from "../components/rollout/engine";
import { upgradeNodeCommand } from "../plan/upgrade-node";
import {
  haveKubectl,
  kubeNode as node,
  kubeconfig,
  startFake,
  stopFakes,
  type Scenario,
} from "./harness/kube";

afterEach(stopFakes);
const TO = "1.36.5";
const agent = (id: string) => ({
  namespace: "kube-system",
  name: `cilium-${id}`,
  node: `cn-hangzhou.${id}`,
  labels: { "k8s-app": "cilium" },
  owner: { kind: "DaemonSet", name: "cilium" },
  ready: true,
});
const web = (id: string, n: number) => ({
  namespace: "shop",
  name: `web-${n}`,
  node: `cn-hangzhou.${id}`,
  labels: { app: "web" },
  owner: { kind: "ReplicaSet", name: "web-7d9" },
  ready: true,
});

function scenario(disruptionsAllowed: number): Scenario {
  return {
    nodes: [
      node("i-cp0", TO, { labels: { "node-role.kubernetes.io/control-plane": "" } }),
      node("i-w1", "1.35.2"),
      node("i-w2", "1.35.2"),
    ],
    pods: [
      // The control plane's API server, at the target (kubeadm's mirror pod, as the fake lists it).
      {
        namespace: "kube-system",
        name: "kube-apiserver-cn-hangzhou.i-cp0",
        node: "cn-hangzhou.i-cp0",
        labels: { component: "kube-apiserver" },
        owner: { kind: "Node", name: "cn-hangzhou.i-cp0" },
        image: `registry.k8s.io/kube-apiserver:v${TO}`,
        ready: true,
      },
      agent("i-w1"),
      agent("i-w2"),
      web("i-w1", 1),
      web("i-w2", 2),
    ],
    daemonsets: [{ namespace: "kube-system", name: "cilium" }],
    pdbs: [{ namespace: "shop", name: "web-budget", matchLabels: { app: "web" }, disruptionsAllowed }],
    configmaps: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { namespace: "kube-system", name: "kubeadm-config", resourceVersion: "1" },
        data: { ClusterConfiguration: `apiVersion: kubeadm.k8s.io/v1beta4\nkubernetesVersion: v${TO}\n` },
      },
    ],
  };
}

async function cluster(disruptionsAllowed: number) {
  const fake = await startFake(scenario(disruptionsAllowed));
  const config = kubeconfig(fake.dir, fake.url);
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${fake.url}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
    }).then((r) => {
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
    });
  // Cloud Assistant: each command runs now, as root would run it on the node, its output kept.
  const journal: string[] = [];
  const results = new Map<string, InvocationResult>();
  const commands: CommandApi = {
    agentOnline: async () => true,
    run: async (instanceId, script) => {
      const what =
        /exec python3 -c "[^"]*" (\S+)/.exec(script)?.[1] ?? (/^set -- (\S+)/m.test(script) ? "drain" : "?");
      journal.push(`${instanceId} ${what}`);
      const r = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          KUBEADM_ALICLOUD_KUBECONFIG: config,
          KUBEADM_ALICLOUD_ROOT: join(fake.dir, "root"),
          KUBEADM_ALICLOUD_LOG_DIR: fake.dir,
          KUBEADM_ALICLOUD_GATE_INTERVAL: "0.2",
        },
      });
      const id = `t-${results.size}`;
      results.set(id, {
        status: r.status === 0 ? "Success" : "Failed",
        exitCode: r.status ?? -1,
        output: `${r.stdout}${r.stderr}`,
      });
      return id;
    },
    result: async (id) => results.get(id),
  };
  // ESS: one group; a larger total launches instances that register at once, with their agent pod.
  const group = { desired: 2, maxSize: 3, instances: ["i-w1", "i-w2"] };
  let next = 100;
  const ess: EssApi = {
    group: async () => ({
      desired: group.desired,
      maxSize: group.maxSize,
      minSize: 0,
      lifecycleState: "Active",
      launchTemplateVersion: "",
      vswitchIds: [],
    }),
    instances: async () =>
      group.instances.map((instanceId) => ({
        instanceId,
        lifecycleState: "InService",
        launchTemplateVersion: "",
        creationType: "AutoCreated",
      })),
    scaleTo: async (_g, total) => {
      while (group.instances.length < total) {
        const id = `i-w${next++}`;
        group.instances.push(id);
        await admin("POST", "/fake/nodes", { node: node(id, TO), pods: [agent(id)] });
      }
      group.desired = total;
    },
    remove: async (_g, ids) => {
      for (const id of ids) await admin("DELETE", `/api/v1/nodes/cn-hangzhou.${id}`);
      group.instances = group.instances.filter((x) => !ids.includes(x));
      group.desired -= ids.length;
    },
    attach: async () => undefined,
    detach: async () => undefined,
    protect: async () => undefined,
  };
  const log: string[] = [];
  const ports = cloudPorts({
    commands,
    ess,
    controlPlaneInstanceIds: ["i-cp0"],
    pools: [{ name: "general", scalingGroupId: "asg-1", strategy: "replace", version: TO }],
    version: TO,
    upgradeCommands: { node: upgradeNodeCommand("node", TO) },
    drainBudgetSeconds: 4,
    gateSeconds: 20,
    etcdSnapshots: true,
    log: (l) => log.push(l),
    wait: { pollMs: 0, sleep: async () => undefined },
  });
  const roll = () =>
    runEngine(
      ports,
      { version: TO, pools: [{ name: "general", version: TO, waves: [1, 1] }] },
      { budgetMs: 600_000, waitMs: 0, stuckMs: 600_000, sleep: async () => undefined },
    );
  return { fake, journal, group, roll, log };
}

describe.skipIf(!haveKubectl)(
  "the rollout, end to end against the fake Kubernetes API with the real kubectl",
  () => {
    it("replaces a pool: marks, surges, gates, drains through the Eviction API, removes, and releases", async () => {
      const c = await cluster(1);
      await expect(c.roll()).resolves.toMatchObject({ status: "done" });
      const nodes = c.fake.state().nodes;
      expect(nodes.map((n) => [n.name, n.kubeletVersion, n.unschedulable ?? false]).sort()).toEqual([
        ["cn-hangzhou.i-cp0", `v${TO}`, false],
        ["cn-hangzhou.i-w100", `v${TO}`, false],
        ["cn-hangzhou.i-w101", `v${TO}`, false],
      ]);
      // Nothing the rollout held is left on the new nodes: no gate record, no autoscaler hold.
      for (const n of nodes) expect(n.annotations ?? {}, n.name).toEqual({});
      // The workload went through the Eviction API, honouring its budget.
      expect(c.fake.log()).toContain('"POST", "path": "/api/v1/namespaces/shop/pods/web-1/eviction');
      expect(c.fake.log()).toContain('"POST", "path": "/api/v1/namespaces/shop/pods/web-2/eviction');
      expect(c.group.instances.sort()).toEqual(["i-w100", "i-w101"]);
      // Every step ran on the control plane, never on a worker.
      expect(c.journal.every((j) => j.startsWith("i-cp0 "))).toBe(true);
      expect(c.journal.filter((j) => j.endsWith(" drain"))).toHaveLength(2);
    });

    it("halts on a budget that allows no disruption, naming the pod and the budget, with the old node uncordoned and still there", async () => {
      const c = await cluster(0);
      const err = await c.roll().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RolloutHalted);
      expect(String((err as Error).message)).toMatch(/shop\/web-1/);
      expect(String((err as Error).message)).toMatch(/shop\/web-budget/);
      const w1 = c.fake.state().nodes.find((n) => n.name === "cn-hangzhou.i-w1");
      expect(w1?.unschedulable ?? false).toBe(false);
      expect(w1?.annotations?.["kubeadm-alicloud.io/drained"]).toBeUndefined();
      expect(c.group.instances).toContain("i-w1");
      expect(c.fake.log()).toContain('"POST", "path": "/api/v1/namespaces/shop/pods/web-1/eviction');
    });
  },
);
