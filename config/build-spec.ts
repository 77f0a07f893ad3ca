// The validated sections -> the ClusterSpec everything downstream reads: defaults that
// depend on other keys (pod CIDR, control-plane zones, desired capacity, node software
// by region, RAM name prefix, tags) are resolved here, once.
import { cniRunsKubeProxy, defaultPodCidr } from "../addons/cni";
import { CLUSTER_TAG, ENVIRONMENT_TAG, STACK_TAG } from "../plan/naming";
import { MAINLAND_MIRRORS } from "../plan/registry-mirrors";
import { controlPlaneZones } from "../plan/zones";
import type { Environment, Sections } from "./schema";
import type { ClusterSpec, NodePoolSpec, VswitchSpec } from "./spec";

export function buildSpec(
  p: Sections,
  ctx: { readonly project: string; readonly stack: string; readonly secretKeys?: readonly string[] },
  environment: Environment,
  vswitches: { nodes: readonly VswitchSpec[]; controlPlanes: readonly VswitchSpec[] },
  podCidr: string | undefined,
): ClusterSpec {
  return {
    project: ctx.project,
    stack: ctx.stack,
    secretConfigKeys: [...(ctx.secretKeys ?? [])],
    environment,
    clusterName: p.clusterName,
    region: p.region,
    zones: p.zones,
    kubernetesVersion: p.kubernetesVersion,
    network: {
      vpc: p.network.existingVpcId
        ? { cidr: p.network.vpcCidr, existingId: p.network.existingVpcId }
        : { cidr: p.network.vpcCidr },
      vswitches: vswitches.nodes,
      controlPlaneVswitches: vswitches.controlPlanes,
      explicitVswitches: p.network.vswitches !== undefined,
      vswitchPrefixLength: p.network.vswitchPrefixLength,
      podCidr: podCidr ?? defaultPodCidr(p.cni.name),
      serviceCidr: p.network.serviceCidr,
      dnsDomain: p.network.dnsDomain,
      natGateway: p.network.natGateway,
      peerCidrs: p.network.peerCidrs,
      egress: p.network.egress,
    },
    controlPlane: {
      ...p.controlPlane,
      zones: controlPlaneZones(p.controlPlane.count, p.zones, p.controlPlane.zones),
    },
    nodePools: p.nodePools.map((pool): NodePoolSpec => ({
      ...pool,
      // Never 0 at creation (schema.ts nodePool: ESS's expected-capacity mode).
      desiredCapacity: pool.desiredCapacity ?? Math.max(pool.minSize, 1),
      kubernetesVersion: pool.kubernetesVersion ?? p.kubernetesVersion,
      image: pool.image ?? p.controlPlane.image,
      systemDisk: pool.systemDisk ?? p.controlPlane.systemDisk,
    })),
    cni: p.cni,
    kubeProxy: cniRunsKubeProxy(p.cni),
    addons: p.addons,
    apiEndpoint: { ...p.apiEndpoint, dnsName: p.apiEndpoint.dnsName ?? `api.${p.clusterName}.k8s.internal` },
    pki: p.pki,
    apiServer: p.apiServer,
    nodeSoftware: nodeSoftwareFor(p.region, p.nodeSoftware),
    ssh: p.ssh,
    upgrade: p.upgrade,
    etcdBackup: p.etcdBackup,
    nodeHealth: p.nodeHealth,
    ram: { namePrefix: p.ram.namePrefix ?? `${p.clusterName}-${p.region}` },
    tags: {
      ...p.tags,
      [CLUSTER_TAG]: p.clusterName,
      [STACK_TAG]: `${ctx.project}/${ctx.stack}`,
      [ENVIRONMENT_TAG]: environment,
    },
  };
}

/**
 * Mainland China regions reach the upstream package and image hosts slowly or not at
 * all: there the Alibaba package mirror and a registry.k8s.io mirror are the defaults.
 */
export const CHINA_IMAGE_MIRROR = "registry.aliyuncs.com/google_containers";
export function nodeSoftwareFor(
  region: string,
  given: Sections["nodeSoftware"],
): ClusterSpec["nodeSoftware"] {
  const mainland = region.startsWith("cn-") && region !== "cn-hongkong";
  return {
    packageSource: given.packageSource ?? (mainland ? "aliyun-mirror" : "upstream"),
    imageRepository: given.imageRepository ?? (mainland ? CHINA_IMAGE_MIRROR : "registry.k8s.io"),
    registryMirrors: given.registryMirrors ?? (mainland ? MAINLAND_MIRRORS : {}),
  };
}
