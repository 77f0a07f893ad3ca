// The cloud-controller-manager's RAM grant against the calls its pinned version makes in
// the mode run here (controllers node and service, CLB, ECS backends, no route
// controller), recorded from kubernetes/cloud-provider-alibaba-cloud at v2.14.0: each
// provider wrapper in pkg/provider/alibaba/{ecs,slb,vpc} traced to its callers.
import { describe, expect, it } from "vitest";
import { cloudControllerManager } from "../addons/ccm";
import type { AddonFacts } from "../addons/index";
import { specFor } from "./kit";

const FACTS: AddonFacts = {
  vpcId: "vpc-bp1test",
  vswitchIds: { "cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j" },
  scalingGroupIds: {},
};

/** Reachable here: granted. */
const REACHABLE: Readonly<Record<string, string>> = {
  "ecs:DescribeInstances":
    "ecs/ecs.go ListInstances, GetInstancesByIP <- node/manager.go, node/node_controller.go",
  "ecs:DescribeNetworkInterfaces":
    "ecs/ecs.go DescribeNetworkInterfacesByIDs <- node/node_controller.go:502 (new nodes)",
  // slb/loadbalancer.go, listener.go, vgroup.go, cert.go <- service/clbv1: granted as slb:* in the region.
  "slb:*": "slb/*.go <- service/clbv1",
};
/** Reachable only under a condition this project does not create: not granted. */
const CONDITIONAL: Readonly<Record<string, string>> = {
  "ecs:ModifyNetworkInterfaceAttribute":
    "node/node_controller.go:521, only for an ENI with source/dest check on",
  "vpc:DescribeEipAddresses": "service/clbv1/service_controller.go:411, only with external-ip-type: eip",
};
/** Called only by controllers that do not run here (NLB, ALB ingress, routes). */
const UNREACHABLE = [
  "ecs:DescribeSecurityGroups", // nlbv2/loadbalancer.go
  "ecs:CreateSecurityGroup", // nlbv2/loadbalancer.go
  "vpc:DescribeVSwitches", // ingress albconfig_manager/vswitch_discovery.go
  "vpc:DescribeRouteTableList", // vpc/vpc.go ListRouteTables <- route controller
  "vpc:CreateRouteEntry", // route controller
];

describe("the CCM's RAM policy, against the calls v2.14.0 makes here", () => {
  const statements =
    cloudControllerManager.install(specFor({ clusterName: "ram" }), FACTS, {}).ram?.statements ?? [];
  const granted = statements.flatMap((s) => s.Action);

  it("grants every reachable call, and nothing else", () => {
    expect([...granted].sort()).toEqual(Object.keys(REACHABLE).sort());
    for (const a of [...Object.keys(CONDITIONAL), ...UNREACHABLE]) expect(granted).not.toContain(a);
  });

  it("holds the SLB writes to the cluster's region", () => {
    const slb = statements.find((s) => s.Action.includes("slb:*"));
    expect(slb?.Resource).toEqual(["acs:slb:cn-hangzhou:*:*", "acs:ecs:cn-hangzhou:*:instance/*"]);
  });
});
