// A control plane drained before an instance-type restart (components/control-plane-drain.ts):
// which control plane runs the one drain, what stops `pulumi up` before anything is stopped,
// its diff, and its place in the chain under mocks. The drain script itself (its result
// line, the budget, the uncordon on failure) is tested with the real kubectl in
// test/drain.test.ts; the uncordon after the restart in test/wait-ready-kube.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import type { CommandApi, InvocationResult } from "../components/cloud-assistant";
import {
  drainBeforeRestart,
  provider,
  type ControlPlaneDrainInputs,
} from "../components/control-plane-drain";
import type { InstanceApi, InstanceView } from "../components/ecs-instances";
import { declareCluster, installMocks, specFor, type RecordedResource } from "./kit";

const A: ControlPlaneDrainInputs = {
  regionId: "cn-hangzhou",
  vpcId: "vpc-1",
  privateIp: "10.0.0.11",
  peerIps: ["10.0.0.10", "10.0.0.12"],
  instanceType: "ecs.g7.2xlarge",
  drainBudgetSeconds: 60,
};

type Answer = "drained" | "cannot start" | "blocked" | "offline";

function world(instances: Record<string, { id: string; status?: string }>, answers: Record<string, Answer>) {
  const ran: string[] = [];
  const results = new Map<string, InvocationResult>();
  const view = (ip: string, i: { id: string; status?: string }): InstanceView => ({
    instanceId: i.id,
    status: i.status ?? "Running",
    vpcId: "vpc-1",
    vswitchId: "vsw-1",
    instanceType: "ecs.g7.xlarge",
    securityGroupIds: [],
    httpTokens: "required",
    tags: {},
    privateIps: [ip],
  });
  const instancesApi = {
    findByPrivateIps: async (vpcId: string, ips: readonly string[]) =>
      vpcId === "vpc-1" ? ips.flatMap((ip) => (instances[ip] ? [view(ip, instances[ip])] : [])) : [],
  } as unknown as InstanceApi;
  const commands: CommandApi = {
    agentOnline: async (id) => answers[id] !== "offline",
    run: async (id, script) => {
      const node = /^set -- (\S+) /m.exec(script)?.[1] ?? "";
      ran.push(`${id} drain ${node}`);
      const answer = answers[id] ?? "drained";
      const ok = answer === "drained";
      const line = JSON.stringify({
        node,
        ok,
        reason: answer,
        pods: answer === "blocked" ? ["kube-system/coredns-1"] : [],
        budgets: answer === "blocked" ? ["kube-system/coredns-pdb"] : [],
      });
      const invoke = `t-${results.size}`;
      results.set(invoke, {
        status: ok ? "Success" : "Failed",
        exitCode: ok ? 0 : answer === "blocked" ? 3 : 4,
        output: `kubeadm-alicloud-drain: ${line}\n`,
      });
      return invoke;
    },
    result: async (invoke) => results.get(invoke),
  };
  return { ran, ports: { commands, instances: instancesApi } };
}

const wait = { pollMs: 0, sleep: async () => undefined, agentOnlineSeconds: 0 };
const three = {
  "10.0.0.10": { id: "i-cp0" },
  "10.0.0.11": { id: "i-cp1" },
  "10.0.0.12": { id: "i-cp2" },
};

describe("draining a control plane before its restart", () => {
  it("drains it from the first other control plane that answers, never from itself while another can", async () => {
    const w = world(three, { "i-cp0": "cannot start" });
    await drainBeforeRestart(w.ports, A, () => undefined, wait);
    expect(w.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1", "i-cp2 drain cn-hangzhou.i-cp1"]);
    const offline = world(three, { "i-cp0": "offline" });
    await drainBeforeRestart(offline.ports, A, () => undefined, wait);
    expect(offline.ran).toEqual(["i-cp2 drain cn-hangzhou.i-cp1"]);
  });

  it("stops before anything is stopped when a budget blocks the drain, naming the pod and the budget", async () => {
    const w = world(three, { "i-cp0": "blocked" });
    const err = await drainBeforeRestart(w.ports, A, () => undefined, wait).catch((e: Error) => e.message);
    expect(err).toMatch(/kube-system\/coredns-1/);
    expect(err).toMatch(/kube-system\/coredns-pdb/);
    expect(err).toContain("The control plane was not stopped");
    expect(w.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1"]);
  });

  it("drains a single control plane from itself, and does nothing where no instance runs yet", async () => {
    const single = world({ "10.0.0.11": { id: "i-cp1" } }, {});
    await drainBeforeRestart(single.ports, { ...A, peerIps: [] }, () => undefined, wait);
    expect(single.ran).toEqual(["i-cp1 drain cn-hangzhou.i-cp1"]);
    const none = world({}, {});
    await drainBeforeRestart(none.ports, A, () => undefined, wait);
    expect(none.ran).toEqual([]);
    const stopped = world({ ...three, "10.0.0.11": { id: "i-cp1", status: "Stopped" } }, {});
    await drainBeforeRestart(stopped.ports, A, () => undefined, wait);
    expect(stopped.ran).toEqual([]);
  });

  it("says so when no control plane can drain it", async () => {
    const w = world(three, { "i-cp0": "offline", "i-cp1": "cannot start", "i-cp2": "cannot start" });
    await expect(drainBeforeRestart(w.ports, A, () => undefined, wait)).rejects.toThrow(
      /no control plane could drain cn-hangzhou.i-cp1 before its restart; it was not stopped/,
    );
  });

  it("runs only for a new instance type", async () => {
    const diff = provider.diff as NonNullable<typeof provider.diff>;
    await expect(diff("id", A, { ...A, drainBudgetSeconds: 900 })).resolves.toEqual({ changes: false });
    await expect(diff("id", A, { ...A, instanceType: "ecs.g8i.2xlarge" })).resolves.toEqual({
      changes: true,
    });
  });
});

describe("the control planes' drains in the chain, under mocks", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    const recorder = await installMocks("prod");
    rs = await declareCluster(recorder, specFor({ clusterName: "dr" }, "prod"));
  });

  it("drains each control plane before its instance, after the one before it serves again with the settings", () => {
    const drains = rs.filter((r) => r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:ControlPlaneDrain");
    expect(drains.map((d) => d.name)).toEqual(["dr-cp-0-drain", "dr-cp-1-drain", "dr-cp-2-drain"]);
    const byName = (n: string) => rs.find((r) => r.name === n) as RecordedResource;
    drains.forEach((d, i) => {
      expect(byName(`dr-cp-${i}`).dependsOn).toContain(d.urn);
      if (i > 0) {
        // The one before serves (its readiness check), has the renewal's library and took the
        // control planes' settings (plan/control-plane-settings.ts) before this one is touched.
        const settings = byName(`dr-cp-${i - 1}-settings`);
        expect(d.dependsOn).toContain(settings.urn);
        expect(settings.dependsOn).toContain(byName(`dr-cp-${i - 1}-ready`).urn);
        expect(settings.dependsOn).toContain(byName(`dr-cp-${i - 1}-cert-renewal`).urn);
      }
      const ips = drains.map((x) => x.inputs.privateIp);
      expect(d.inputs.peerIps).toEqual(ips.filter((_, j) => j !== i));
      expect(d.inputs).toMatchObject({ instanceType: expect.any(String), drainBudgetSeconds: 600 });
    });
  });
});
