// Where things go by zone, keyed by the zone's name and never by its position in the
// stack's `zones` list: reordering, adding or removing a zone must move nothing that
// exists (audit alibaba-resources 2.2). A vSwitch's CIDR cannot change in place
// (aliyun/terraform-provider-alicloud alicloud/resource_alicloud_vswitch.go:
// `cidr_block` ForceNew), nor can an instance change zone (ModifyInstanceVpcAttribute
// wants a vSwitch of the same zone), so a move would replace what runs there.
import type { VswitchSpec } from "../config/spec";
import { carveSubnets, prefixLength, subnetsFit } from "./cidr";

/** Alibaba zone ids end in one letter: cn-hangzhou-h, ap-southeast-1a (config/schema.ts zoneProblem). */
export function zoneSlot(zone: string): number {
  const letter = zone.charCodeAt(zone.length - 1) - "a".charCodeAt(0);
  if (letter < 0 || letter > 25) throw new Error(`zone ${zone} does not end in a letter`);
  return letter;
}

/**
 * vSwitch CIDRs derived from the VPC: the zone ending in letter L gets the L-th subnet
 * of `prefix` (a the first, b the second …), whatever the order or number of zones.
 * Returns the zones whose slot lies beyond the VPC instead when any does.
 */
export function derivedVswitches(
  vpc: string,
  prefix: number,
  zones: readonly string[],
): { vswitches: VswitchSpec[] } | { outside: string[]; slots: number } {
  const slots = subnetsFit(vpc, prefix, 1) ? 2 ** Math.min(prefix - prefixLength(vpc), 26) : 0;
  const outside = zones.filter((z) => zoneSlot(z) >= slots);
  if (outside.length > 0) return { outside, slots };
  const highest = Math.max(...zones.map(zoneSlot));
  const subnets = carveSubnets(vpc, prefix, highest + 1);
  return { vswitches: zones.map((zone) => ({ zone, cidr: subnets[zoneSlot(zone)] as string })) };
}

/**
 * How releases before zone-keyed layout derived vSwitch CIDRs: in list order. Used only
 * to tell a stack deployed by them what to pin (components/immutable-settings.ts).
 */
export function listOrderVswitches(
  vpc: string,
  prefix: number,
  zones: readonly string[],
): VswitchSpec[] | undefined {
  if (!subnetsFit(vpc, prefix, zones.length)) return undefined;
  const subnets = carveSubnets(vpc, prefix, zones.length);
  return zones.map((zone, i) => ({ zone, cidr: subnets[i] as string }));
}

/**
 * The zone of each control plane, by index. Given explicitly (controlPlane.zones) it is
 * used as is. Derived, control plane i goes to the i-th zone in name order, round
 * robin: independent of the list's order, and a zone added after the others in name
 * order (Alibaba names new zones with later letters) moves no existing control plane
 * while there are at least as many zones as control planes. Any other move is refused
 * at preview by the guard, which names the list to pin.
 */
export function controlPlaneZones(
  count: number,
  zones: readonly string[],
  explicit?: readonly string[],
): string[] {
  if (explicit) return [...explicit];
  const byName = [...zones].sort();
  return Array.from({ length: count }, (_, i) => byName[i % byName.length] as string);
}

/** How releases before zone-keyed layout placed control planes: round robin in list order. */
export function listOrderControlPlaneZones(count: number, zones: readonly string[]): string[] {
  return Array.from({ length: count }, (_, i) => zones[i % zones.length] as string);
}

/** One zone pair the region offers for a CLB (alicloud.slb.getZones: masterZoneId, slaveZoneId). */
export interface ClbZonePair {
  readonly masterZoneId: string;
  readonly slaveZoneId: string;
}

/**
 * The CLB's zones, from the pairs the region offers for a VPC CLB (data source
 * alicloud_slb_zones, aliyun/terraform-provider-alicloud
 * alicloud/data_source_alicloud_slb_zones.go, DescribeZones of SLB). The master zone
 * holds the CLB's vSwitch, so it is one of ours: the first control plane's zone when the
 * region offers it as a master, else the first of our zones in name order that it
 * offers. The slave zone is a zone offered with that master, ours first (name order).
 * Keyed by names, never by list position (audit alibaba-resources 1.9, 2.2).
 */
export function clbZones(
  preferredMaster: string,
  ourZones: readonly string[],
  offered: readonly ClbZonePair[],
): { master: string; slave?: string } | { problem: string } {
  const masters = new Set(offered.map((p) => p.masterZoneId));
  const candidates = [preferredMaster, ...[...ourZones].sort().filter((z) => z !== preferredMaster)];
  const master = candidates.find((z) => masters.has(z));
  if (master === undefined) {
    const list = [...masters].sort().join(", ") || "none";
    return {
      problem: `the region offers a VPC Classic Load Balancer with its master zone in ${list}, none of which is in zones (${ourZones.join(", ")}); add one of them to zones`,
    };
  }
  const slaves = offered
    .filter((p) => p.masterZoneId === master && p.slaveZoneId !== "" && p.slaveZoneId !== master)
    .map((p) => p.slaveZoneId);
  const slave = [...ourZones].sort().find((z) => slaves.includes(z)) ?? [...slaves].sort()[0];
  return slave === undefined ? { master } : { master, slave };
}

/** Each control-plane vSwitch is a /28: 16 addresses, of which Alibaba keeps the first and the last three. */
export const CONTROL_PLANE_VSWITCH_PREFIX = 28;

/**
 * The control planes' own vSwitches: one /28 per zone that holds a control plane,
 * carved from `cidr` by zone letter like the nodes' (a the first /28 …). Nothing else
 * is placed in them (pools, the NAT gateway and load balancers use the nodes'
 * vSwitches), so no other instance can take a control plane's fixed address: the
 * addresses are reserved by construction. Alibaba's own reservation
 * (vpc.VswitchCidrReservation) was not used: it is for ENI prefixes only (type Prefix,
 * resource_alicloud_vpc_vswitch_cidr_reservation.go v1.289.0), and whether an
 * instance may take an explicit address inside a reserved block is undocumented.
 */
export function controlPlaneVswitches(
  cidr: string,
  zones: readonly string[],
): { vswitches: VswitchSpec[] } | { outside: string[]; slots: number } {
  return derivedVswitches(cidr, CONTROL_PLANE_VSWITCH_PREFIX, [...new Set(zones)].sort());
}

/** The last /24 of the VPC: the default home of the control planes' vSwitches. */
export function lastSlash24(vpc: string): string | undefined {
  if (prefixLength(vpc) > 24) return undefined;
  const subnets = 2 ** (24 - prefixLength(vpc));
  return carveSubnets(vpc, 24, subnets)[subnets - 1];
}
