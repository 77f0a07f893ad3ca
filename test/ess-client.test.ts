// The rollout's ESS client (components/ess.ts) with Alibaba's own request machinery
// (@alicloud/openapi-core callApi, signed with the credential chain) against the fake
// ECS/ESS API (test/harness/fake-ecs.py, answers in the field names of
// aliyun/alibaba-cloud-sdk-go services/ess). Not checked here: ESS itself (how fast a
// group grows, which errors it gives while a scaling activity runs).
import { describe, expect, it } from "vitest";
import { essClient, REMOVE_BATCH } from "../components/ess";
import { essPublicEndpoint } from "../plan/rollout/ess-endpoint";
import { vpcClient, vpcPublicEndpoint } from "../components/vpc";
import { fakeEcsPerTest, signedBy } from "./harness/fake-ecs";

const fake = fakeEcsPerTest("AK-ess-test");
// Every tenth launched from template version 3; the others attached (no version).
const instances = Array.from({ length: 123 }, (_, i) => ({
  InstanceId: `i-${i}`,
  LifecycleState: i % 10 === 0 ? "Pending" : "InService",
  ...(i % 10 === 0
    ? { LaunchTemplateVersion: "3", CreationType: "AutoCreated" }
    : { CreationType: "Attached" }),
}));

describe("the ESS client", () => {
  it("reads a group's size and every instance across pages, signed, at ESS 2014-08-28", async () => {
    const f = await fake({
      groups: {
        "asg-1": {
          DesiredCapacity: 7,
          MaxSize: 9,
          MinSize: 1,
          LaunchTemplateVersion: "4",
          VSwitchIds: { VSwitchId: ["vsw-h", "vsw-i"] },
          instances,
        },
      },
    });
    const ess = essClient("cn-hangzhou", f.url);
    await expect(ess.group("asg-1")).resolves.toEqual({
      desired: 7,
      maxSize: 9,
      minSize: 1,
      lifecycleState: "Active",
      launchTemplateVersion: "4",
      vswitchIds: ["vsw-h", "vsw-i"],
    });
    const all = await ess.instances("asg-1");
    expect(all.map((i) => i.instanceId)).toEqual(instances.map((i) => i.InstanceId));
    expect(all[10]).toEqual({
      instanceId: "i-10",
      lifecycleState: "Pending",
      launchTemplateVersion: "3",
      creationType: "AutoCreated",
    });
    expect(all[11]).toEqual({
      instanceId: "i-11",
      lifecycleState: "InService",
      launchTemplateVersion: "",
      creationType: "Attached",
    });
    const pages = f.calls("DescribeScalingInstances");
    expect(pages.map((r) => r.query.PageNumber)).toEqual(["1", "2", "3"]);
    for (const r of f.requests()) {
      expect(signedBy(r)).toBe("AK-ess-test");
      expect(r.headers["x-acs-version"]).toBe("2014-08-28");
      expect(r.query.RegionId).toBe("cn-hangzhou");
    }
    await expect(ess.group("asg-none")).rejects.toThrow(/no scaling group asg-none in cn-hangzhou/);
  });

  it("sets the total capacity as cluster-autoscaler does, and removes instances 20 a call with the desired capacity", async () => {
    const f = await fake({ groups: { "asg-1": { DesiredCapacity: 7, MaxSize: 60, MinSize: 1, instances } } });
    const ess = essClient("cn-hangzhou", f.url);
    await ess.scaleTo("asg-1", 9);
    expect(f.calls("ScaleWithAdjustment").map((r) => r.query)).toEqual([
      expect.objectContaining({
        ScalingGroupId: "asg-1",
        AdjustmentType: "TotalCapacity",
        AdjustmentValue: "9",
      }),
    ]);
    const ids = instances.slice(0, 45).map((i) => i.InstanceId);
    await ess.remove("asg-1", ids, "ka-wave");
    const calls = f.calls("RemoveInstances").map((r) => r.query);
    expect(calls).toHaveLength(Math.ceil(45 / REMOVE_BATCH));
    expect(calls.map((q) => Object.keys(q).filter((k) => k.startsWith("InstanceId.")).length)).toEqual([
      20, 20, 5,
    ]);
    expect(
      calls.flatMap((q) =>
        Object.entries(q)
          .filter(([k]) => k.startsWith("InstanceId."))
          .map(([, v]) => v),
      ),
    ).toEqual(ids);
    for (const q of calls)
      expect(q).toMatchObject({ DecreaseDesiredCapacity: "true", RemovePolicy: "release" });
    expect(new Set(calls.map((q) => q.ClientToken)).size).toBe(3);
    // A wave without surge keeps the desired capacity: ESS launches as many (RemoveInstances.md).
    await ess.remove("asg-1", ids.slice(0, 2), "ka-keep", true);
    expect(
      f
        .calls("RemoveInstances")
        .map((r) => r.query)
        .slice(3),
    ).toEqual([
      expect.objectContaining({
        DecreaseDesiredCapacity: "false",
        RemovePolicy: "release",
        "InstanceId.2": ids[1],
      }),
    ]);
    // An ESS error reaches the caller with its code.
    await expect(ess.scaleTo("asg-gone", 1)).rejects.toThrow(/InvalidScalingGroupId.NotFound/);
  });

  it("attaches (not entrusted), protects and detaches 20 instances a call, and a busy group's error keeps its code", async () => {
    const f = await fake({
      groups: { "asg-1": { DesiredCapacity: 7, MaxSize: 60, MinSize: 1, instances } },
      essBusy: 1,
    });
    const ess = essClient("cn-hangzhou", f.url);
    const ids = instances.slice(0, 25).map((i) => i.InstanceId);
    // The engine retries on this code (components/adopt/engine.ts): it must reach the caller as `code`.
    const busy = await ess.attach("asg-1", ids, "ka-attach").catch((e: { code?: string }) => e);
    expect((busy as { code?: string }).code).toBe("ScalingActivityInProgress");
    await ess.attach("asg-1", ids, "ka-attach");
    await ess.protect("asg-1", ids, true);
    await ess.detach("asg-1", ids.slice(0, 3), "ka-detach");
    const ofCall = (action: string) => f.calls(action).map((r) => r.query);
    const count = (q: Record<string, string>) =>
      Object.keys(q).filter((k) => k.startsWith("InstanceId.")).length;
    const attach = ofCall("AttachInstances").slice(1);
    expect(attach.map(count)).toEqual([20, 5]);
    for (const q of attach) expect(q).toMatchObject({ ScalingGroupId: "asg-1", Entrusted: "false" });
    expect(attach.map((q) => q.ClientToken)).toEqual(["ka-attach-0", "ka-attach-1"]);
    expect(ofCall("SetInstancesProtection").map(count)).toEqual([20, 5]);
    for (const q of ofCall("SetInstancesProtection")) expect(q.ProtectedFromScaleIn).toBe("true");
    expect(ofCall("DetachInstances")).toEqual([
      expect.objectContaining({
        DecreaseDesiredCapacity: "true",
        "InstanceId.3": "i-2",
        ClientToken: "ka-detach-0",
      }),
    ]);
    expect(ofCall("DetachInstances")[0]).not.toHaveProperty("LifecycleHook");
  });

  it("reads each vSwitch's free addresses from VPC 2016-04-28, and names one VPC does not know", async () => {
    const f = await fake({ vswitches: { "vsw-h": 12, "vsw-i": 0 } });
    const vpc = vpcClient("cn-hangzhou", f.url);
    await expect(vpc.freeAddresses(["vsw-h", "vsw-i"])).resolves.toEqual({ "vsw-h": 12, "vsw-i": 0 });
    for (const r of f.calls("DescribeVSwitches")) {
      expect(r.headers["x-acs-version"]).toBe("2016-04-28");
      expect(signedBy(r)).toBe("AK-ess-test");
    }
    await expect(vpc.freeAddresses(["vsw-x"])).rejects.toThrow(/no vSwitch vsw-x in cn-hangzhou/);
    expect([vpcPublicEndpoint("cn-hangzhou"), vpcPublicEndpoint("cn-beijing")]).toEqual([
      "vpc.aliyuncs.com",
      "vpc.cn-beijing.aliyuncs.com",
    ]);
  });

  it("calls the public endpoint the ESS SDK resolves for the region", () => {
    expect(essPublicEndpoint("cn-hangzhou")).toBe("ess.aliyuncs.com");
    expect(essPublicEndpoint("ap-southeast-1")).toBe("ess.aliyuncs.com");
    expect(essPublicEndpoint("cn-chengdu")).toBe("ess.cn-chengdu.aliyuncs.com");
    expect(essPublicEndpoint("eu-central-1")).toBe("ess.eu-central-1.aliyuncs.com");
  });
});
