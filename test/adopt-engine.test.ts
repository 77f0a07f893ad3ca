// Adopting and letting go of existing ECS instances (components/adopt/engine.ts) against
// the fake cloud of test/harness/adopt-world.ts, with the real commands plan/adopt.ts and
// plan/scale-in.ts render. The world checks the safety rules on every effect: nothing
// attached before its node passed the gate, nothing detached while protected, while its
// Node exists or while its kubelet runs, the group never under minSize.
import { describe, expect, it } from "vitest";
import { adoptInstances, releaseInstances } from "../components/adopt/engine";
import { Crash } from "./harness/adopt-world";
import { install, setup } from "./harness/adopt-setup";

const IDS = ["i-adopt0001", "i-adopt0002"];

describe("adopting existing instances into a pool", () => {
  it("joins the pool's security group and role, installs the bootstrap in parts, gates the node, then attaches and protects", async () => {
    const { w, args, ports } = setup();
    await adoptInstances(ports, args, IDS);
    expect(w.violations).toEqual([]);
    const mine = w.journal.filter(
      (j) => j.startsWith("i-adopt0001") || j.includes("cn-hangzhou.i-adopt0001"),
    );
    expect(mine).toEqual([
      "i-adopt0001 join sg-pool",
      "i-adopt0001 role kac-pool-role",
      "i-adopt0001 tokens",
      ...install.slice(0, -1).map((_, n) => `i-adopt0001 part ${n}`),
      "i-adopt0001 install",
      "i-adopt0001 joins",
      "adopt cn-hangzhou.i-adopt0001",
    ]);
    // The second already had the group and the role: only what was missing.
    expect(w.journal.filter((j) => /^i-adopt0002 (join sg|role )/.test(j))).toEqual([]);
    // One attach for both, after both gates; then protected from scale-in.
    expect(w.journal.slice(-2)).toEqual([`attach ${IDS.join(",")}`, `protect true ${IDS.join(",")}`]);
    expect(w.group.members.get("i-adopt0001")).toEqual({ protected: true });
  });

  it("changes nothing on a rerun but the protection, and installs nothing twice", async () => {
    const { w, args, ports } = setup();
    await adoptInstances(ports, args, IDS);
    const before = w.journal.length;
    await adoptInstances(ports, args, IDS);
    expect(w.journal.slice(before)).toEqual([`protect true ${IDS.join(",")}`]);
  });

  it("reports every instance's problem at once, naming the config key, and changes nothing", async () => {
    const { w, args, ports } = setup();
    w.addInstance("i-stopped01", { status: "Stopped" });
    w.addInstance("i-othervpc1", { vpcId: "vpc-9" });
    w.addInstance("i-otherrole", { role: "someone-elses" });
    w.addInstance("i-controlp1", { tags: { "kubeadm-alicloud.io/role": "control-plane" } });
    const ids = ["i-adopt0001", "i-missing01", "i-stopped01", "i-othervpc1", "i-otherrole", "i-controlp1"];
    const err = await adoptInstances(ports, args, ids).catch((e: Error) => e.message);
    expect(err).toContain("kubeadm-alicloud:nodePools[0].adoptInstanceIds: nothing was changed");
    expect(err).toContain("i-missing01: ECS has no such instance in cn-hangzhou");
    expect(err).toContain("i-stopped01 is Stopped: ESS attaches only Running instances");
    expect(err).toContain("i-othervpc1 is in vpc-9, not the cluster's vpc-1");
    expect(err).toContain("i-otherrole has the RAM role someone-elses");
    expect(err).toContain("i-controlp1 is already a control-plane node");
    expect(w.journal).toEqual([]);
  });

  it("refuses an instance the pool's group launched itself, before anything changes", async () => {
    const { w, args, ports } = setup();
    w.addInstance("i-launched1", {
      tags: { "kubeadm-alicloud.io/role": "worker", "kubeadm-alicloud.io/pool": "default" },
    });
    const err = await adoptInstances(ports, args, ["i-adopt0001", "i-launched1"]).catch(
      (e: Error) => e.message,
    );
    expect(err).toContain("i-launched1 was launched by the pool's scaling group itself");
    expect(w.journal).toEqual([]);
  });

  it("keeps an instance whose bootstrap failed out of the scaling group, with the bootstrap's output", async () => {
    const { w, args, ports } = setup();
    w.failBootstrap.add("i-adopt0002");
    const err = await adoptInstances(ports, args, IDS).catch((e: Error) => e.message);
    expect(err).toContain("i-adopt0002: the bootstrap did not succeed; it stays out of the scaling group");
    expect(err).toContain("couldn't validate the identity of the API Server");
    expect(w.group.members.has("i-adopt0001")).toBe(false);
    expect(w.violations).toEqual([]);
  });

  it("refuses before anything changes when the group has no room, and waits out a busy group", async () => {
    const full = setup();
    full.w.group.maxSize = 2;
    const err = await adoptInstances(full.ports, full.args, IDS).catch((e: Error) => e.message);
    expect(err).toContain("the group holds 1 instances and maxSize is 2; 2 more do not fit");
    expect(full.w.journal).toEqual([]);

    const busy = setup();
    busy.w.busy = 2;
    await adoptInstances(busy.ports, busy.args, IDS);
    expect(busy.log.filter((l) => l.includes("ESS is busy (ScalingActivityInProgress)"))).toHaveLength(2);
    expect(busy.w.group.members.size).toBe(3);
  });
});

describe("letting go of an adopted instance", () => {
  it("drains it from a control plane, resets it, deletes its Node, lifts protection, detaches, and takes back role and group", async () => {
    const { w, args, ports } = setup();
    await adoptInstances(ports, args, IDS);
    const before = w.journal.length;
    await releaseInstances(ports, args, ["i-adopt0001"]);
    expect(w.violations).toEqual([]);
    expect(w.journal.slice(before)).toEqual([
      "cordon cn-hangzhou.i-adopt0001",
      // The kubelet still ran: it registered again, and the second pass deletes it for good.
      "delete node cn-hangzhou.i-adopt0001",
      "i-adopt0001 reset",
      "cordon cn-hangzhou.i-adopt0001",
      "delete node cn-hangzhou.i-adopt0001",
      "protect false i-adopt0001",
      "detach i-adopt0001",
      "i-adopt0001 role -kac-pool-role",
      "i-adopt0001 leave sg-pool",
    ]);
    expect(w.nodes.has("cn-hangzhou.i-adopt0001")).toBe(false);
    expect(w.instances.get("i-adopt0001")?.status).toBe("Running");
  });

  it("halts on a drain a PodDisruptionBudget blocks, naming the pod and the budget, with the instance still in the pool", async () => {
    const { w, args, ports } = setup();
    await adoptInstances(ports, args, IDS);
    w.blockedDrain.add("cn-hangzhou.i-adopt0001");
    const err = await releaseInstances(ports, args, ["i-adopt0001"]).catch((e: Error) => e.message);
    expect(err).toMatch(/shop\/db-0/);
    expect(err).toMatch(/shop\/db-budget/);
    expect(w.instances.get("i-adopt0001")?.kubeletRunning).toBe(true);
    expect(w.group.members.get("i-adopt0001")).toEqual({ protected: true });
  });

  it("refuses to go under the group's minSize, and detaches an instance that no longer exists without touching it", async () => {
    const low = setup();
    await adoptInstances(low.ports, low.args, IDS);
    low.w.group.minSize = 3;
    const err = await releaseInstances(low.ports, low.args, ["i-adopt0001"]).catch((e: Error) => e.message);
    expect(err).toContain(
      "leaves 2, under minSize 3 (ESS refuses): lower kubeadm-alicloud:nodePools[0].minSize",
    );

    const gone = setup();
    await adoptInstances(gone.ports, gone.args, IDS);
    gone.w.instances.delete("i-adopt0002");
    gone.w.nodes.delete("cn-hangzhou.i-adopt0002");
    const before = gone.w.journal.length;
    await releaseInstances(gone.ports, gone.args, ["i-adopt0002"]);
    expect(gone.w.journal.slice(before)).toEqual(["protect false i-adopt0002", "detach i-adopt0002"]);
  });

  it("converges after a kill at any point of adopting and then of letting go, breaking no rule", async () => {
    for (let at = 0; ; at++) {
      const { w, args, ports } = setup();
      w.crashAfter = at;
      const first = await adoptInstances(ports, args, IDS).then(
        () => "done",
        (e: unknown) => {
          if (!(e instanceof Crash) && !/crash before|the run was killed/.test(String(e))) throw e;
          return "killed";
        },
      );
      w.revive();
      await adoptInstances(ports, args, IDS);
      w.crashAfter = at;
      await releaseInstances(ports, args, ["i-adopt0001"]).catch((e: unknown) => {
        if (!(e instanceof Crash) && !/crash before|the run was killed/.test(String(e))) throw e;
      });
      w.revive();
      await releaseInstances(ports, args, ["i-adopt0001"]);
      expect(w.violations, `killed before effect ${at}`).toEqual([]);
      expect([...w.group.members.keys()].sort()).toEqual(["i-adopt0002", "i-launched1"]);
      expect(w.nodes.has("cn-hangzhou.i-adopt0001")).toBe(false);
      expect(w.nodes.get("cn-hangzhou.i-adopt0002")?.annotations["kubeadm-alicloud.io/adopted"]).toBe("true");
      if (first === "done") {
        // Every effect of the adoption was a kill point once.
        expect(at).toBeGreaterThan(15);
        break;
      }
    }
  });
});
