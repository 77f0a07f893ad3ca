// Where control-plane nodes go and how they are addressed: each in the zone
// spec.controlPlane.zones gives it, with a fixed private address in that zone's vSwitch.
import { IPv4, IPv4CidrRange } from "ip-num";
import type { ClusterSpec } from "../config/spec";
import { resourceName } from "./naming";

/**
 * Host offset of the first control plane in a nodes' vSwitch it shares (Alibaba reserves the first and last
 * three addresses).
 */
export const FIRST_HOST_OFFSET = 10;
/** Host offset of the first control plane in its own /28 vSwitch (usable: 1 to 12). */
export const DEDICATED_HOST_OFFSET = 4;

export interface ControlPlanePlacement {
  readonly index: number;
  readonly name: string;
  readonly zone: string;
  readonly privateIp: string;
  /** True when it sits in the control planes' own vSwitch of its zone, false in the nodes'. */
  readonly dedicated: boolean;
}

export function controlPlanePlacements(spec: ClusterSpec): ControlPlanePlacement[] {
  // Zones by name (plan/zones.ts): the n-th control plane of a zone takes the
  // (offset + n)-th address of its vSwitch, n counted over the control planes before it:
  // its zone's control-plane vSwitch, or the nodes' one when they share it.
  const dedicated = spec.network.controlPlaneVswitches.length > 0;
  const offset = dedicated ? DEDICATED_HOST_OFFSET : FIRST_HOST_OFFSET;
  return spec.controlPlane.zones.slice(0, spec.controlPlane.count).map((zone, index, zones) => {
    const vswitch = (dedicated ? spec.network.controlPlaneVswitches : spec.network.vswitches).find(
      (v) => v.zone === zone,
    );
    if (!vswitch) throw new Error(`control plane ${index} is placed in ${zone}, which has no vSwitch`);
    const nth = zones.slice(0, index).filter((z) => z === zone).length;
    const first = IPv4CidrRange.fromCidr(vswitch.cidr).getFirst();
    const ip = new IPv4(first.value + BigInt(offset + nth));
    return {
      index,
      name: resourceName(spec.clusterName, "cp", String(index)),
      zone,
      privateIp: ip.toString(),
      dedicated,
    };
  });
}

/**
 * Public image names per OS family; pinned ids are preferred (a new public image must not replace nodes by
 * surprise).
 */
export const IMAGE_NAME_REGEX: Record<ClusterSpec["controlPlane"]["image"]["os"], string> = {
  alinux3: "^aliyun_3_x64_20G_alibase_\\d{8}\\.vhd$",
  "ubuntu-22.04": "^ubuntu_22_04_x64_20G_alibase_\\d{8}\\.vhd$",
  "ubuntu-24.04": "^ubuntu_24_04_x64_20G_alibase_\\d{8}\\.vhd$",
};
