// A control plane drained before an instance-type restart (components/control-plane-drain.ts):
// which control plane runs the one drain, what stops `pulumi up` before anything is stopped,
// its diff, and its place in the chain under mocks. The drain script itself (its result
// line, the budget, the uncordon on failure) is tested with the real kubectl in
// test/drain.test.ts; the uncordon after the restart in test/wait-ready-kube.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import type { CommandApi, InvocationResult } from "../components/cloud-assistant";
import {
  drainBeforeRestart,
  drainReason,
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

function world(
  instances: Record<string, { id: string; status?: string; image?: string }>,
  answers: Record<string, Answer>,
) {
  const ran: string[] = [];
  const results = new Map<string, InvocationResult>();
  const view = (ip: string, i: { id: string; status?: string; image?: string }): InstanceView => ({
    instanceId: i.id,
    status: i.status ?? "Running",
    vpcId: "vpc-1",
    vswitchId: "vsw-1",
    instanceType: "ecs.g7.xlarge",
    imageId: i.image ?? "m-old",
    securityGroupIds: [],
    httpTokens: "required",
    tags: {},
    privateIps: [ip],
  });
  const instancesApi = {
    findByPrivateIps: async (vpcId: string, ips: readonly string[]) =>
      vpcId === "vpc-1" ? ips.flatMap((ip) => (instances[ip] ? [view(ip, instances[ip])] : [])) : [],
    liftDeletionProtection: async (id: string) => {
      ran.push(`${id} protection off`);
    },
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

  it("runs only for a new instance type, system disk category or pinned image", async () => {
    const diff = provider.diff as NonNullable<typeof provider.diff>;
    await expect(diff("id", A, { ...A, drainBudgetSeconds: 900 })).resolves.toEqual({ changes: false });
    await expect(diff("id", A, { ...A, instanceType: "ecs.g8i.2xlarge" })).resolves.toEqual({
      changes: true,
    });
    const B = { ...A, systemDiskCategory: "cloud_essd", imageId: "m-old" };
    await expect(diff("id", B, { ...B, systemDiskCategory: "cloud_auto" })).resolves.toEqual({
      changes: true,
    });
    await expect(diff("id", B, { ...B, imageId: "m-new" })).resolves.toEqual({ changes: true });
    // A record made before the category was an input decided nothing about it.
    await expect(diff("id", A, B)).resolves.toEqual({ changes: true });
    expect(drainReason(A, { ...A, systemDiskCategory: "cloud_essd" })).toBeUndefined();
  });
});

describe("draining a control plane before its replacement", () => {
  it("a new system disk category: drained from another control plane, then its release protection lifted", async () => {
    const w = world(three, {});
    const B = { ...A, systemDiskCategory: "cloud_essd" };
    await drainBeforeRestart(
      w.ports,
      B,
      () => undefined,
      wait,
      drainReason(B, { ...B, systemDiskCategory: "cloud_auto" }),
    );
    expect(w.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1", "i-cp1 protection off"]);
  });

  it("a new pinned image: only an instance that does not run it is drained and unprotected", async () => {
    const B = { ...A, imageId: "m-old" };
    const change = drainReason(B, { ...B, imageId: "m-new" });
    const old = world(three, {});
    await drainBeforeRestart(old.ports, { ...B, imageId: "m-new" }, () => undefined, wait, change);
    expect(old.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1", "i-cp1 protection off"]);
    // Replaced already (a rerun), or the first run of a release that rolls images: nothing.
    const lines: string[] = [];
    const done = world({ ...three, "10.0.0.11": { id: "i-cp1b", image: "m-new" } }, {});
    await drainBeforeRestart(done.ports, { ...B, imageId: "m-new" }, (l) => lines.push(l), wait, change);
    expect(done.ran).toEqual([]);
    expect(lines).toEqual(["i-cp1b at 10.0.0.11 runs m-new already: nothing to drain"]);
  });

  it("a blocked drain lifts nothing: the instance stays protected and running", async () => {
    const w = world(three, { "i-cp0": "blocked" });
    const B = { ...A, imageId: "m-new" };
    await expect(
      drainBeforeRestart(w.ports, B, () => undefined, wait, drainReason({ ...A, imageId: "m-old" }, B)),
    ).rejects.toThrow(/kube-system\/coredns-pdb/);
    expect(w.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1"]);
  });

  it("never replaces a control plane unless two others run: the only one's etcd data would go", async () => {
    const B = { ...A, imageId: "m-new" };
    const change = drainReason({ ...A, imageId: "m-old" }, B);
    // Growing from 1 to 3 control planes with a new image in one run: the peers do not exist yet.
    const alone = world({ "10.0.0.11": { id: "i-cp1" } }, {});
    await expect(drainBeforeRestart(alone.ports, B, () => undefined, wait, change)).rejects.toThrow(
      /cn-hangzhou.i-cp1 would be replaced \(image m-new\) while 0 other control plane\(s\) run/,
    );
    const oneDown = world({ ...three, "10.0.0.12": { id: "i-cp2", status: "Stopped" } }, {});
    await expect(drainBeforeRestart(oneDown.ports, B, () => undefined, wait, change)).rejects.toThrow(
      /while 1 other control plane\(s\) run/,
    );
    expect([...alone.ran, ...oneDown.ran]).toEqual([]);
  });

  it("a new instance type restarts the instance: drained, protection kept", async () => {
    const w = world(three, {});
    await drainBeforeRestart(
      w.ports,
      A,
      () => undefined,
      wait,
      drainReason({ ...A, instanceType: "ecs.g7.xlarge" }, A),
    );
    expect(w.ran).toEqual(["i-cp0 drain cn-hangzhou.i-cp1"]);
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

describe("a new pinned image replaces control planes through the chain, under mocks", () => {
  const instanceType = "alicloud:ecs/instance:Instance";
  const declare = async (controlPlane: Record<string, unknown>, stack: "dev" | "prod") => {
    const recorder = await installMocks(stack);
    return declareCluster(recorder, specFor({ clusterName: "im", controlPlane }, stack));
  };

  it("pinned, 3 control planes: each instance is replaced for a new image, its drain first knows the image", async () => {
    const image = { os: "ubuntu-24.04", id: "m-pinned0001" };
    const rs = await declare({ count: 3, image }, "prod");
    const instances = rs.filter((r) => r.type === instanceType && r.name.startsWith("im-cp-"));
    expect(instances).toHaveLength(3);
    for (const i of instances) {
      expect(i.inputs.imageId).toBe("m-pinned0001");
      expect(i.ignoreChanges).toEqual(["userData"]);
      expect(i.replaceOnChanges).toEqual(["imageId"]);
      expect(i.deleteBeforeReplace).toBe(true);
      const drain = rs.find((r) => r.name === `${i.name}-drain`);
      expect(i.dependsOn).toContain(drain?.urn);
      expect(drain?.inputs).toMatchObject({
        imageId: "m-pinned0001",
        systemDiskCategory: expect.any(String),
      });
    }
  });

  it("unpinned, or fewer than 3 control planes: the image is never a reason to replace one", async () => {
    for (const [controlPlane, stack] of [
      [{ count: 3, image: { os: "ubuntu-24.04" } }, "prod"],
      [{ count: 1, image: { os: "ubuntu-24.04", id: "m-pinned0001" } }, "dev"],
    ] as const) {
      const rs = await declare(controlPlane, stack);
      for (const i of rs.filter((r) => r.type === instanceType && r.name.startsWith("im-cp-"))) {
        expect([...i.ignoreChanges].sort()).toEqual(["imageId", "userData"]);
        expect(i.replaceOnChanges).toEqual([]);
        expect(rs.find((r) => r.name === `${i.name}-drain`)?.inputs.imageId).toBeUndefined();
      }
    }
  });
});
