// The network section checked against itself and the zones, and the control planes'
// zones: what goes where is keyed by zone name (plan/zones.ts).
import { ALIBABA_RESERVED_CIDR, PRIVATE_RANGES, WORLD, contains, overlaps, prefixLength } from "../plan/cidr";
import {
  CONTROL_PLANE_VSWITCH_PREFIX,
  controlPlaneVswitches,
  derivedVswitches,
  lastSlash24,
} from "../plan/zones";
import type { Sections } from "./schema";
import type { VswitchSpec } from "./spec";
import { isObject } from "./zod-helpers";

type Report = (path: readonly (string | number)[], message: string) => void;

/**
 * The zone of each control plane, given in controlPlane.zones: one per control plane,
 * each one of `zones`. Returns the list when sound.
 */
export function checkControlPlaneZones(
  given: readonly string[] | undefined,
  count: number,
  zones: readonly string[],
  problem: Report,
): readonly string[] | undefined {
  if (given === undefined) return undefined;
  let sound = true;
  if (given.length !== count) {
    sound = false;
    problem(
      ["controlPlane", "zones"],
      `lists ${given.length} zone${given.length === 1 ? "" : "s"} but controlPlane.count is ${count}; list one zone per control plane in order (the first is the first control plane's), and append one when the count grows`,
    );
  }
  given.forEach((zone, i) => {
    if (!zones.includes(zone)) {
      sound = false;
      problem(
        ["controlPlane", "zones", i],
        `${zone} is not in zones (${zones.join(", ")}); a control plane cannot leave its zone, so keep the zone listed or replace that control plane first`,
      );
    }
  });
  return sound ? given : undefined;
}

/** Checks the network section against itself and the zones; returns the vSwitch plan when it is sound. */
export function checkNetwork(
  network: Sections["network"],
  podCidr: string | undefined,
  raw: Record<string, unknown>,
  zones: readonly string[] | undefined,
  problem: Report,
): VswitchSpec[] | undefined {
  const vpc = network.vpcCidr;
  const rawNetwork = isObject(raw.network) ? raw.network : {};
  if (network.existingVpcId && rawNetwork.vpcCidr === undefined) {
    problem(
      ["network", "vpcCidr"],
      `must be set to the CIDR of the adopted VPC ${network.existingVpcId}: vSwitches are placed and overlaps checked against it`,
    );
  }
  let vpcSound = true;
  if (!PRIVATE_RANGES.some((r) => contains(r, vpc))) {
    problem(
      ["network", "vpcCidr"],
      `${vpc} is not inside ${PRIVATE_RANGES.join(", ")}; an Alibaba Cloud VPC uses a private range`,
    );
    vpcSound = false;
  } else if (prefixLength(vpc) > 24) {
    problem(["network", "vpcCidr"], `${vpc} is smaller than /24, the smallest VPC Alibaba Cloud creates`);
    vpcSound = false;
  }

  if (prefixLength(network.serviceCidr) < 12) {
    problem(
      ["network", "serviceCidr"],
      `${network.serviceCidr} is larger than /12, the largest IPv4 service range kube-apiserver accepts`,
    );
  }

  // Named ranges that must be pairwise disjoint, and disjoint from Alibaba's reserved range.
  const ranges: { path: readonly (string | number)[]; cidr: string; defaulted?: boolean }[] = [
    { path: ["network", "vpcCidr"], cidr: vpc },
    ...(podCidr
      ? [{ path: ["network", "podCidr"], cidr: podCidr, defaulted: network.podCidr === undefined }]
      : []),
    { path: ["network", "serviceCidr"], cidr: network.serviceCidr },
    ...network.peerCidrs.map((c, i) => ({ path: ["network", "peerCidrs", i], cidr: c })),
  ];
  const label = (r: { path: readonly (string | number)[]; defaulted?: boolean }) =>
    r.defaulted ? "the CNI's default pod CIDR" : r.path.join(".");
  const subject = (r: { cidr: string; defaulted?: boolean }) =>
    r.defaulted ? `the CNI's default pod CIDR ${r.cidr} (set network.podCidr to a free range)` : r.cidr;
  ranges.forEach((r, i) => {
    if (overlaps(r.cidr, ALIBABA_RESERVED_CIDR)) {
      problem(
        r.path,
        `${subject(r)} overlaps ${ALIBABA_RESERVED_CIDR}, which Alibaba Cloud reserves for the metadata service, DNS, mirrors and load-balancer health checks`,
      );
    }
    for (const earlier of ranges.slice(0, i)) {
      if (overlaps(r.cidr, earlier.cidr)) {
        problem(
          r.path,
          `${subject(r)} overlaps ${label(earlier)} (${earlier.cidr}); node, pod, service and peer ranges must not share addresses`,
        );
      }
    }
  });

  network.egress.allowedCidrs.forEach((c, i) => {
    if (network.egress.restricted && c === WORLD) {
      problem(
        ["network", "egress", "allowedCidrs", i],
        `allowing ${WORLD} restricts nothing; list the destinations nodes need, or set network.egress.restricted to false`,
      );
    }
  });
  // Nodes have no public addresses: without the NAT gateway, a VPC this program creates
  // gives them no way to the package mirrors and registries their first boot needs.
  if (!network.natGateway.enabled && !network.existingVpcId) {
    problem(
      ["network", "natGateway", "enabled"],
      `is false but the VPC is created here, so nodes would have no egress and their first boot cannot download packages; keep the NAT gateway, or adopt a VPC that has egress (network.existingVpcId)`,
    );
  }
  if (network.egress.restricted && network.egress.allowedCidrs.length === 0) {
    problem(
      ["network", "egress", "allowedCidrs"],
      `egress is restricted to the VPC and Alibaba Cloud's internal services, but first boot downloads packages and images from the internet (nodeSoftware sources); list their address ranges here, or leave egress unrestricted`,
    );
  }
  if (network.egress.allowedCidrs.length > 0 && !network.egress.restricted) {
    problem(
      ["network", "egress", "allowedCidrs"],
      `is set but network.egress.restricted is false, so egress is already open and the list would be ignored; set restricted: true or remove the list`,
    );
  }

  if (!zones || !vpcSound) return undefined;
  if (network.vswitches !== undefined) return checkExplicitVswitches(network.vswitches, vpc, zones, problem);

  const prefix = network.vswitchPrefixLength;
  const derived = derivedVswitches(vpc, prefix, zones);
  if ("outside" in derived) {
    problem(
      ["network", "vswitchPrefixLength"],
      `vSwitch CIDRs are derived by zone letter (a the first /${prefix} of the VPC, b the second …), and the VPC ${vpc} holds ${derived.slots} of /${prefix}, too few for ${derived.outside.join(", ")}; choose a longer prefix, a larger VPC, or set network.vswitches per zone`,
    );
    return undefined;
  }
  return derived.vswitches;
}

function checkExplicitVswitches(
  given: Record<string, string>,
  vpc: string,
  zones: readonly string[],
  report: Report,
): VswitchSpec[] | undefined {
  let sound = true;
  const problem: Report = (path, m) => {
    sound = false;
    report(path, m);
  };
  for (const zone of zones) {
    if (given[zone] === undefined)
      problem(
        ["network", "vswitches"],
        `has no CIDR for zone ${zone}; give every zone in zones a vSwitch CIDR, or remove network.vswitches to derive them`,
      );
  }
  const entries = Object.entries(given);
  entries.forEach(([zone, c], i) => {
    const path = ["network", "vswitches", zone];
    if (!zones.includes(zone)) problem(path, `zone ${zone} is not in zones (${zones.join(", ")})`);
    if (!contains(vpc, c)) problem(path, `${c} is not inside the VPC ${vpc}`);
    const len = prefixLength(c);
    if (len < 16 || len > 29) problem(path, `${c}: vSwitch CIDRs must be /16 to /29`);
    for (const [otherZone, other] of entries.slice(0, i)) {
      if (overlaps(c, other)) problem(path, `${c} overlaps the vSwitch of ${otherZone} (${other})`);
    }
  });
  return sound ? zones.map((zone) => ({ zone, cidr: given[zone] as string })) : undefined;
}

/**
 * The control planes' own vSwitches (plan/zones.ts controlPlaneVswitches): inside the
 * VPC, clear of every node vSwitch, one /28 per control-plane zone. Empty when the
 * control planes share the nodes' vSwitches.
 */
export function checkControlPlaneVswitches(
  network: Sections["network"],
  nodeVswitches: readonly VswitchSpec[],
  controlPlaneZones: readonly string[],
  problem: Report,
): VswitchSpec[] | undefined {
  if (network.controlPlaneVswitches === "shared") {
    if (network.controlPlaneCidr !== undefined) {
      problem(
        ["network", "controlPlaneCidr"],
        `is set but network.controlPlaneVswitches is shared, so control planes sit in the nodes' vSwitches and the range would be ignored; remove it, or set controlPlaneVswitches: dedicated (only for a new stack: control planes cannot move)`,
      );
      return undefined;
    }
    return [];
  }
  const path = ["network", "controlPlaneCidr"];
  const given = network.controlPlaneCidr;
  const range = given ?? lastSlash24(network.vpcCidr);
  const what = given
    ? range
    : `the VPC's last /24 (${range ?? "none"}), where control-plane vSwitches go unless network.controlPlaneCidr says otherwise,`;
  if (range === undefined) {
    problem(
      path,
      `the VPC ${network.vpcCidr} is smaller than /24, so there is no room for the control planes' own vSwitches; set network.controlPlaneCidr, or network.controlPlaneVswitches: shared`,
    );
    return undefined;
  }
  if (!contains(network.vpcCidr, range)) {
    problem(path, `${range} is not inside the VPC ${network.vpcCidr}`);
    return undefined;
  }
  const clash = nodeVswitches.find((v) => overlaps(v.cidr, range));
  if (clash) {
    problem(
      path,
      `${what} overlaps the nodes' vSwitch of ${clash.zone} (${clash.cidr}); set network.controlPlaneCidr to a free /24 of the VPC (or narrower, down to one /28 per zone letter)`,
    );
    return undefined;
  }
  const planned = controlPlaneVswitches(range, controlPlaneZones);
  if ("outside" in planned) {
    problem(
      path,
      `${what} holds ${planned.slots} control-plane vSwitches of /${CONTROL_PLANE_VSWITCH_PREFIX}, one per zone letter from a, too few for ${planned.outside.join(", ")}; give a larger range`,
    );
    return undefined;
  }
  return planned.vswitches;
}
