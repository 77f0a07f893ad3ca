// Network and SecurityGroups under Pulumi mocks: what gets registered, parented,
// wired and tagged for a given spec.
import { beforeAll, describe, expect, it } from "vitest";
import { adoptedVpcProblem } from "../components/network";
import { securityRules } from "../plan/security-rules";
import {
  TAGGABLE,
  answerCalls,
  declareCluster,
  installMocks,
  specFor,
  type RecordedResource,
  type Recorder,
} from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const T = {
  vpc: "alicloud:vpc/network:Network",
  vswitch: "alicloud:vpc/switch:Switch",
  nat: "alicloud:vpc/natGateway:NatGateway",
  eip: "alicloud:ecs/eipAddress:EipAddress",
  eipAssoc: "alicloud:ecs/eipAssociation:EipAssociation",
  snat: "alicloud:vpc/snatEntry:SnatEntry",
  sg: "alicloud:ecs/securityGroup:SecurityGroup",
  rule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
};

const ofType = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type);
const one = (rs: RecordedResource[], type: string) => {
  const found = ofType(rs, type);
  expect(found, type).toHaveLength(1);
  return found[0] as RecordedResource;
};

describe("Network", () => {
  it("creates a VPC and one vSwitch per zone with the planned CIDRs", async () => {
    const spec = specFor({ clusterName: "net-a", network: { vpcCidr: "10.8.0.0/16" } });
    const rs = await declareCluster(recorder, spec);
    const vpc = one(rs, T.vpc);
    expect(vpc.inputs.cidrBlock).toBe("10.8.0.0/16");
    const vswitches = ofType(rs, T.vswitch);
    expect(vswitches.map((v) => [v.inputs.zoneId, v.inputs.cidrBlock])).toEqual([
      // By zone letter (plan/zones.ts): h, i, j are the 8th, 9th and 10th /20.
      ["cn-hangzhou-h", "10.8.112.0/20"],
      ["cn-hangzhou-i", "10.8.128.0/20"],
      ["cn-hangzhou-j", "10.8.144.0/20"],
      // The control plane's own /28 in its zone, from the VPC's last /24, also by letter.
      ["cn-hangzhou-h", "10.8.255.112/28"],
    ]);
    for (const v of vswitches) expect(String(v.inputs.vpcId)).toMatch(/^net-a-vpc-/);
  });

  it("gives nodes egress: Enhanced NAT, an EIP bound to it, SNAT per vSwitch after the binding", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "net-b" }));
    const nat = one(rs, T.nat);
    expect(nat.inputs).toMatchObject({
      natType: "Enhanced",
      networkType: "internet",
      paymentType: "PayAsYouGo",
    });
    const firstVswitch = ofType(rs, T.vswitch)[0] as RecordedResource;
    expect(String(nat.inputs.vswitchId)).toMatch(new RegExp(`^${firstVswitch.name}-`));
    const eip = one(rs, T.eip);
    expect(eip.inputs.bandwidth).toBe("20"); // a string, as the provider wants it; dev default
    const assoc = one(rs, T.eipAssoc);
    expect(assoc.inputs.instanceType).toBe("Nat");
    expect(String(assoc.inputs.allocationId)).toMatch(/^net-b-nat-eip-/);
    expect(String(assoc.inputs.instanceId)).toMatch(/^net-b-nat-/);
    const snats = ofType(rs, T.snat);
    expect(snats.map((s) => String(s.inputs.sourceVswitchId).replace(/-[0-9a-f]{8}$/, ""))).toEqual(
      ofType(rs, T.vswitch).map((v) => v.name),
    );
    for (const s of snats) {
      expect(s.inputs.snatTableId).toBe("stb-net-b-nat"); // a string, not a list
      expect(s.inputs.snatIp).toMatch(/^203\.0\.113\.\d+$/);
      expect(s.dependsOn).toEqual([assoc.urn]);
    }
  });

  it("leaves out NAT entirely when disabled in an adopted VPC that has its own egress", async () => {
    answerCalls((args) =>
      args.token === "alicloud:vpc/getNetworks:getNetworks"
        ? { vpcs: [{ id: "vpc-bp1egress", cidrBlock: "10.0.0.0/16" }] }
        : undefined,
    );
    const rs = await declareCluster(
      recorder,
      specFor({
        clusterName: "net-c",
        network: { existingVpcId: "vpc-bp1egress", vpcCidr: "10.0.0.0/16", natGateway: { enabled: false } },
      }),
    );
    answerCalls(undefined);
    for (const t of [T.nat, T.eip, T.eipAssoc, T.snat]) expect(ofType(rs, t)).toEqual([]);
    // No egress to wait for: the first control plane waits only for its secrets.
    const secretStore = new Set(
      rs
        .filter(
          (r) =>
            (r.type === "alicloud:oos/secretParameter:SecretParameter" &&
              !r.name.endsWith("cluster-initialized")) ||
            (r.type === "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment" &&
              r.name.includes("-secrets-")),
        )
        .map((r) => r.urn),
    );
    // (and for the guard that keeps its disk from changing under it, and its own drain
    // before an instance-type restart)
    const guard = rs
      .filter(
        (r) =>
          r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:ImmutableSettings" ||
          r.name === "net-c-cp-0-drain",
      )
      .map((r) => r.urn);
    const waits = (rs.find((r) => r.name === "net-c-cp-0")?.dependsOn ?? []).filter(
      (u) => !guard.includes(u),
    );
    expect(waits.length).toBe(secretStore.size);
    for (const urn of waits) expect(secretStore.has(urn)).toBe(true);
  });

  it("adopts an existing VPC after checking its CIDR, and creates none", async () => {
    const asked: unknown[] = [];
    answerCalls((args) => {
      asked.push(args.inputs);
      return args.token === "alicloud:vpc/getNetworks:getNetworks"
        ? { vpcs: [{ id: "vpc-bp1adopted", cidrBlock: "10.9.0.0/16" }] }
        : undefined;
    });
    const spec = specFor({
      clusterName: "net-d",
      network: { existingVpcId: "vpc-bp1adopted", vpcCidr: "10.9.0.0/16" },
    });
    const rs = await declareCluster(recorder, spec);
    expect(ofType(rs, T.vpc)).toEqual([]);
    expect(asked).toContainEqual(expect.objectContaining({ ids: ["vpc-bp1adopted"] }));
    expect(ofType(rs, T.vswitch).map((v) => v.inputs.vpcId)).toEqual([
      "vpc-bp1adopted",
      "vpc-bp1adopted",
      "vpc-bp1adopted",
      "vpc-bp1adopted",
    ]);
    answerCalls(undefined);
  });

  it("refuses an adopted VPC that is missing or whose real CIDR differs from the config", () => {
    const found = [{ id: "vpc-bp1other", cidrBlock: "192.168.0.0/16" }];
    expect(adoptedVpcProblem(found, "vpc-bp1other", "10.9.0.0/16")).toBe(
      "network.vpcCidr is 10.9.0.0/16 but VPC vpc-bp1other has CIDR 192.168.0.0/16; set network.vpcCidr to 192.168.0.0/16",
    );
    expect(adoptedVpcProblem([], "vpc-bp1other", "10.9.0.0/16")).toMatch(/VPC vpc-bp1other was not found/);
    expect(adoptedVpcProblem(found, "vpc-bp1other", "192.168.0.0/16")).toBeUndefined();
  });

  it("protects the NAT gateway and EIP from deletion in prod", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "net-g" }, "prod"));
    expect(one(rs, T.nat).inputs.deletionProtection).toBe(true);
    expect(one(rs, T.eip).inputs.deletionProtection).toBe(true);
  });
});

describe("SecurityGroups", () => {
  it("creates two hardened groups in the VPC and one resource per matrix rule", async () => {
    const spec = specFor({ clusterName: "sg-a", network: { peerCidrs: ["172.16.0.0/16"] } });
    const rs = await declareCluster(recorder, spec);
    const groups = ofType(rs, T.sg);
    expect(groups.map((g) => g.name).sort()).toEqual(["sg-a-sg-control-plane", "sg-a-sg-workers"]);
    for (const g of groups) {
      expect(g.inputs).toMatchObject({ innerAccessPolicy: "Drop", securityGroupType: "normal" });
      expect(String(g.inputs.vpcId)).toMatch(/^sg-a-vpc-/);
    }
    const rules = ofType(rs, T.rule);
    const planned = securityRules(spec);
    expect(rules.map((r) => r.name).sort()).toEqual(planned.map((p) => `sg-a-sg-${p.key}`).sort());
  });

  it("wires each rule to its group, and group peers by sourceSecurityGroupId on the intranet NIC", async () => {
    const spec = specFor({ clusterName: "sg-b" });
    const rs = await declareCluster(recorder, spec);
    const groupId = (suffix: string) => new RegExp(`^sg-b-sg-${suffix}-[0-9a-f]{8}$`);
    for (const plan of securityRules(spec)) {
      const r = recorder.byName(`sg-b-sg-${plan.key}`);
      expect(r.inputs).toMatchObject({
        type: plan.direction,
        ipProtocol: plan.protocol,
        portRange: plan.portRange,
        policy: plan.policy,
        priority: plan.priority,
        nicType: "intranet",
        description: plan.description,
      });
      expect(String(r.inputs.securityGroupId)).toMatch(
        groupId(plan.group === "controlPlane" ? "control-plane" : "workers"),
      );
      if ("group" in plan.peer) {
        expect(String(r.inputs.sourceSecurityGroupId)).toMatch(
          groupId(plan.peer.group === "controlPlane" ? "control-plane" : "workers"),
        );
        expect(r.inputs.cidrIp).toBeUndefined();
      } else {
        expect(r.inputs.cidrIp).toBe(plan.peer.cidr);
        expect(r.inputs.sourceSecurityGroupId).toBeUndefined();
      }
    }
    // The loop above proves nothing over an empty matrix: Kubernetes' ports alone make 16 rules here.
    expect(securityRules(spec).length).toBeGreaterThanOrEqual(16);
    expect(rs.filter((r) => r.type === T.rule)).toHaveLength(securityRules(spec).length);
  });
});

describe("the cluster as a whole", () => {
  it("parents every resource under a component, and components under the cluster", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "tree-a" }));
    const byUrn = new Map(rs.map((r) => [r.urn, r]));
    const root = one(rs, "kubeadm-alicloud:index:Cluster");
    expect(root.parent).toBe("");
    for (const r of rs) {
      if (r === root) continue;
      const parent = byUrn.get(r.parent);
      expect(parent, `${r.type} ${r.name} has no recorded parent`).toBeDefined();
      expect(parent?.type, `${r.type} ${r.name}`).toMatch(/^kubeadm-alicloud:/);
      if (!r.custom && r.type.startsWith("kubeadm-alicloud:"))
        expect(parent?.type).toBe("kubeadm-alicloud:index:Cluster");
    }
  });

  it("tags every taggable resource with the cluster, the stack and the user's tags", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "tags-a", tags: { team: "platform" } }));
    const taggable = rs.filter((r) => TAGGABLE.includes(r.type));
    expect(taggable.length).toBeGreaterThanOrEqual(7);
    for (const r of taggable) {
      expect(r.inputs.tags, `${r.type} ${r.name}`).toEqual({
        team: "platform",
        "kubeadm-alicloud.io/cluster": "tags-a",
        "kubeadm-alicloud.io/stack": "kubeadm-alicloud/dev",
        "kubeadm-alicloud.io/environment": "dev",
      });
    }
  });

  it("resource count follows the network, not the node count", async () => {
    const pools = (size: number) =>
      Array.from({ length: 10 }, (_, i) => ({
        name: `pool-${i}`,
        instanceTypes: ["ecs.g7.large"],
        minSize: size,
        maxSize: size,
      }));
    const small = await declareCluster(
      recorder,
      specFor({ clusterName: "scale-a", controlPlane: { count: 3 }, nodePools: pools(1) }),
    );
    const large = await declareCluster(
      recorder,
      specFor({
        clusterName: "scale-b",
        controlPlane: { count: 3 },
        network: { podCidr: "10.128.0.0/14" },
        nodePools: pools(100),
      }),
    );
    expect(large.length).toBe(small.length);
  });
});
