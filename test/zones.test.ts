// Editing the stack's zones must move nothing that exists (audit alibaba-resources 2.2):
// a vSwitch's cidr_block, and a CLB's master_zone_id, slave_zone_id and vswitch_id are
// ForceNew (aliyun/terraform-provider-alicloud v1.289.0 resource_alicloud_vswitch.go,
// resource_alicloud_slb_load_balancer.go), and a control plane cannot change zone
// (ModifyInstanceVpcAttribute wants a vSwitch of its own zone) nor address (its etcd
// member's peer URL). These tests declare the whole cluster before and after an edit
// and compare every resource's inputs.
import { beforeAll, describe, expect, it } from "vitest";
import type { Recorder, RecordedResource } from "../tools/render/mock-runtime";
import { declareCluster, installMocks, specFor } from "./kit";
import { byName, changedInputs } from "./declared-diff";
import { clbZones, controlPlaneZones, derivedVswitches } from "../plan/zones";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const H = "cn-hangzhou-h",
  I = "cn-hangzhou-i",
  J = "cn-hangzhou-j",
  K = "cn-hangzhou-k",
  G = "cn-hangzhou-g";
const cluster = (zones: string[], extra: Record<string, unknown> = {}) =>
  specFor({ clusterName: "zk", zones, controlPlane: { count: 3 }, ...extra }, "staging");

/** Every custom resource by name, with its inputs (secrets unwrapped). */
async function declared(
  zones: string[],
  extra?: Record<string, unknown>,
): Promise<Map<string, RecordedResource>> {
  return byName(await declareCluster(recorder, cluster(zones, extra)));
}

/**
 * The resources in both declarations whose inputs differ. The preview guard records the
 * layout to refuse moves; its record changes with the zones (a dynamic resource's
 * state: nothing runs there), checked in test/immutable-settings.test.ts. Resources
 * only one declaration has (a zone's vSwitch) are checked by name in each test.
 */
const changed = (before: Map<string, RecordedResource>, after: Map<string, RecordedResource>) =>
  changedInputs(before, after, (name) => name.endsWith("-immutable")).filter((c) => !/^[+-]/.test(c));

const placement = (rs: Map<string, RecordedResource>) =>
  [...rs.values()]
    .filter((r) => r.type === "alicloud:ecs/instance:Instance")
    .map((r) => [r.name, r.inputs.vswitchId, r.inputs.privateIp]);

describe("zones are keyed by name, not by their place in the list", () => {
  it("reordering the zones changes no input of any resource", async () => {
    const before = await declared([H, I, J]);
    const after = await declared([J, H, I]);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    expect(changed(before, after)).toEqual([]);
  });

  it("adding a zone later in name order moves no vSwitch, control plane or load balancer", async () => {
    const before = await declared([H, I, J]);
    const after = await declared([H, I, J, K]);
    expect(placement(after)).toEqual(placement(before));
    // The pool's group gains the new zone's vSwitch (ModifyScalingGroup VSwitchIds, in
    // place, resource_alicloud_ess_scaling_group.go): nothing running moves.
    const moved = changed(before, after).filter((c) => c !== "zk-pool-default-group: vswitchIds");
    expect(moved).toEqual([]);
    expect(after.get(`zk-vsw-${K}`)?.inputs.cidrBlock).toBe("10.0.160.0/20");
  });

  it("removing a zone that holds no control plane moves nothing else", async () => {
    const before = await declared([H, I, J, K]);
    const after = await declared([H, I, J]);
    expect(changed(before, after).filter((c) => c !== "zk-pool-default-group: vswitchIds")).toEqual([]);
    expect(after.has(`zk-vsw-${K}`)).toBe(false);
  });

  it("with controlPlane.zones pinned, even a zone that sorts first moves no control plane", async () => {
    const pinned = { controlPlane: { count: 3, zones: [H, I, J] } };
    const before = await declared([H, I, J], pinned);
    const after = await declared([G, H, I, J], pinned);
    expect(placement(after)).toEqual(placement(before));
    expect(changed(before, after).filter((c) => c !== "zk-pool-default-group: vswitchIds")).toEqual([]);
  });
});

describe("plan/zones.ts", () => {
  it("derived CIDRs depend on the zone's letter only", () => {
    const a = derivedVswitches("10.0.0.0/16", 20, [H, J]);
    const b = derivedVswitches("10.0.0.0/16", 20, [J, K, H]);
    expect(a).toEqual({
      vswitches: [
        { zone: H, cidr: "10.0.112.0/20" },
        { zone: J, cidr: "10.0.144.0/20" },
      ],
    });
    expect("vswitches" in b && b.vswitches.filter((v) => v.zone !== K)).toEqual([
      { zone: J, cidr: "10.0.144.0/20" },
      { zone: H, cidr: "10.0.112.0/20" },
    ]);
  });

  it("derived control-plane zones go round robin in name order; pinned ones are kept", () => {
    expect(controlPlaneZones(5, [J, H, I])).toEqual([H, I, J, H, I]);
    expect(controlPlaneZones(3, [K, J, I, H], [J, H, I])).toEqual([J, H, I]);
  });

  it("the CLB's master is the first control plane's zone when offered, the slave one of ours offered with it", () => {
    const offered = [
      { masterZoneId: H, slaveZoneId: K },
      { masterZoneId: H, slaveZoneId: J },
      { masterZoneId: I, slaveZoneId: H },
    ];
    expect(clbZones(H, [J, I, H], offered)).toEqual({ master: H, slave: J });
    // Not offered as a master: the first of ours, by name, that is.
    expect(clbZones(J, [J, I, H], offered)).toEqual({ master: H, slave: J });
    // No slave among ours: any offered with the master.
    expect(clbZones(H, [H], offered)).toEqual({ master: H, slave: J });
    expect(clbZones(I, [I], [{ masterZoneId: I, slaveZoneId: "" }])).toEqual({ master: I });
    const none = clbZones(K, [K], offered);
    expect("problem" in none && none.problem).toContain(
      `master zone in ${H}, ${I}, none of which is in zones (${K})`,
    );
  });
});
