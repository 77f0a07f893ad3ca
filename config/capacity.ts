// Address capacity: enough pod-CIDR blocks and vSwitch addresses for the cluster at its
// largest (every pool at maxSize).
import { FIRST_HOST_OFFSET } from "../plan/control-plane";
import { prefixLength } from "../plan/cidr";
import { controlPlaneZones } from "../plan/zones";
import type { ConfigPath } from "./paths";
import type { Sections } from "./schema";
import { maxNodeCount, type VswitchSpec } from "./spec";

type Problem = (path: ConfigPath, message: string) => void;

export function checkPodCidrCapacity(
  podCidr: string,
  { controlPlane, nodePools }: Pick<Sections, "controlPlane" | "nodePools">,
  problem: Problem,
): void {
  const podPath = ["network", "podCidr"];
  const maxNodes = maxNodeCount({ controlPlane, nodePools });
  // kube-controller-manager gives each node a /24 of the pod CIDR (its default
  // --node-cidr-mask-size), and every CNI here uses /24 per node or smaller blocks.
  const capacity = prefixLength(podCidr) <= 24 ? 2 ** (24 - prefixLength(podCidr)) : 0;
  if (capacity < maxNodes) {
    problem(
      podPath,
      `pod CIDR ${podCidr} holds ${capacity} node blocks of /24, but the cluster can grow to ${maxNodes} nodes (control planes plus every pool's maxSize); use a larger pod CIDR such as /16`,
    );
  }
}

export function checkVswitchCapacity(
  vswitches: readonly VswitchSpec[],
  { network, controlPlane, nodePools }: Pick<Sections, "network" | "controlPlane" | "nodePools">,
  cpZones: readonly string[] | undefined,
  problem: Problem,
): void {
  // Alibaba reserves the first and the last three addresses of a vSwitch; control
  // planes sit from the 10th host on; pool nodes spread evenly over the zones; the NAT
  // gateway and the load balancer take a few more.
  const poolNodesPerZone = Math.ceil(nodePools.reduce((n, p) => n + p.maxSize, 0) / vswitches.length);
  const placed = controlPlaneZones(
    controlPlane.count,
    vswitches.map((v) => v.zone),
    cpZones,
  );
  vswitches.forEach((v) => {
    // Control planes in the nodes' vSwitch only when they share it.
    const shared = network.controlPlaneVswitches === "shared";
    const controlPlanesPerZone = shared ? placed.filter((z) => z === v.zone).length : 0;
    const needed = (shared ? FIRST_HOST_OFFSET : 1) + controlPlanesPerZone + poolNodesPerZone + 4;
    const usable = 2 ** (32 - prefixLength(v.cidr)) - 4;
    if (usable < needed) {
      const path =
        network?.vswitches !== undefined
          ? ["network", "vswitches", v.zone]
          : ["network", "vswitchPrefixLength"];
      const cps = shared ? `control planes from the ${FIRST_HOST_OFFSET}th host, ` : "";
      problem(
        path,
        `the vSwitch ${v.cidr} in ${v.zone} has ${usable} usable addresses but needs about ${needed} (${cps}${poolNodesPerZone} pool nodes at maxSize, NAT and load balancer); use a larger vSwitch`,
      );
    }
  });
}
