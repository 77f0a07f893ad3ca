// The adoption's ECS instance calls (components/ecs-instances.ts) through Alibaba's ECS SDK,
// signed, against the fake ECS API (test/harness/fake-ecs.py answers in the field names of
// aliyun/alibaba-cloud-sdk-go services/ecs struct_instance.go). Not checked here: ECS itself.
import { describe, expect, it } from "vitest";
import { instanceClient } from "../components/ecs-instances";
import { fakeEcsPerTest, signedBy } from "./harness/fake-ecs";

const fake = fakeEcsPerTest("AK-instances");

const described = (i: number) => ({
  Status: i % 2 ? "Running" : "Stopped",
  InstanceType: "ecs.g7.large",
  ImageId: `m-${i}`,
  VpcAttributes: { VpcId: "vpc-1", VSwitchId: "vsw-h", PrivateIpAddress: { IpAddress: [`10.0.1.${i}`] } },
  SecurityGroupIds: { SecurityGroupId: ["sg-own"] },
  MetadataOptions: { HttpTokens: "optional", HttpEndpoint: "enabled" },
  Tags: { Tag: [{ TagKey: "team", TagValue: "data" }] },
});

describe("the ECS instance client", () => {
  it("describes instances 100 a call, leaving out those ECS does not know", async () => {
    const instances = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`i-${i}`, described(i)]));
    const f = await fake({ instances });
    const api = instanceClient("cn-hangzhou", f.url);
    const ids = [...Object.keys(instances), "i-gone"];
    const seen = await api.describe(ids);
    expect(seen).toHaveLength(130);
    expect(seen[1]).toEqual({
      instanceId: "i-1",
      status: "Running",
      vpcId: "vpc-1",
      vswitchId: "vsw-h",
      instanceType: "ecs.g7.large",
      imageId: "m-1",
      securityGroupIds: ["sg-own"],
      httpTokens: "optional",
      tags: { team: "data" },
      privateIps: ["10.0.1.1"],
    });
    const calls = f.calls("DescribeInstances");
    expect(calls.map((c) => (JSON.parse(c.query.InstanceIds ?? "[]") as string[]).length)).toEqual([100, 31]);
    for (const r of f.requests()) expect(signedBy(r)).toBe("AK-instances");
  });

  it("finds a VPC's instances by their private addresses, with the filters ECS wants", async () => {
    const instances = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`i-${i}`, described(i)]));
    const f = await fake({ instances });
    const api = instanceClient("cn-hangzhou", f.url);
    const found = await api.findByPrivateIps("vpc-1", ["10.0.1.2", "10.0.1.3"]);
    expect(found.map((i) => [i.instanceId, i.privateIps])).toEqual([
      ["i-2", ["10.0.1.2"]],
      ["i-3", ["10.0.1.3"]],
    ]);
    expect(f.calls("DescribeInstances")[0]?.query).toMatchObject({
      VpcId: "vpc-1",
      InstanceNetworkType: "vpc",
      PrivateIpAddresses: JSON.stringify(["10.0.1.2", "10.0.1.3"]),
    });
    await expect(api.findByPrivateIps("vpc-2", ["10.0.1.2"])).resolves.toEqual([]);
  });

  it("joins and leaves a security group and requires metadata tokens, naming an unknown instance", async () => {
    const f = await fake({ instances: { "i-1": described(1) } });
    const api = instanceClient("cn-hangzhou", f.url);
    await api.joinSecurityGroup("i-1", "sg-pool");
    await api.leaveSecurityGroup("i-1", "sg-pool");
    await api.requireMetadataTokens("i-1");
    expect(f.calls("JoinSecurityGroup")[0]?.query).toMatchObject({
      InstanceId: "i-1",
      SecurityGroupId: "sg-pool",
    });
    expect(f.calls("LeaveSecurityGroup")[0]?.query).toMatchObject({
      InstanceId: "i-1",
      SecurityGroupId: "sg-pool",
    });
    expect(f.calls("ModifyInstanceMetadataOptions")[0]?.query).toMatchObject({
      InstanceId: "i-1",
      HttpTokens: "required",
      HttpEndpoint: "enabled",
    });
    await expect(api.joinSecurityGroup("i-2", "sg-pool")).rejects.toThrow(/InvalidInstanceId.NotFound/);
  });

  it("lifts an instance's release protection (ModifyInstanceAttribute DeletionProtection=false) and reads its image", async () => {
    const f = await fake({ instances: { "i-1": described(1) } });
    const api = instanceClient("cn-hangzhou", f.url);
    await api.liftDeletionProtection("i-1");
    expect(f.calls("ModifyInstanceAttribute")[0]?.query).toMatchObject({
      InstanceId: "i-1",
      DeletionProtection: "false",
    });
    await expect(api.liftDeletionProtection("i-2")).rejects.toThrow(/InvalidInstanceId.NotFound/);
    expect((await api.describe(["i-1"]))[0]?.imageId).toBe("m-1");
  });

  it("tags an instance (TagResources, ResourceType instance), which DescribeInstances then shows; an unknown one is named", async () => {
    const f = await fake({ instances: { "i-1": described(1) } });
    const api = instanceClient("cn-hangzhou", f.url);
    await api.tag("i-1", { "kubeadm-alicloud.io/bootstrap": "b".repeat(40) });
    expect(f.calls("TagResources")[0]?.query).toMatchObject({
      RegionId: "cn-hangzhou",
      ResourceType: "instance",
      "ResourceId.1": "i-1",
      "Tag.1.Key": "kubeadm-alicloud.io/bootstrap",
      "Tag.1.Value": "b".repeat(40),
    });
    expect((await api.describe(["i-1"]))[0]?.tags["kubeadm-alicloud.io/bootstrap"]).toBe("b".repeat(40));
    await expect(api.tag("i-2", { a: "b" })).rejects.toThrow(/InvalidResourceId.NotFound/);
  });
});
