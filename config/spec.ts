// The validated, fully resolved description of one cluster. Everything downstream
// (planning, components, render) reads this and never the raw stack config.
import type { CniOptions } from "../addons/cni";
import type { Environment, ImageConfig, NodePoolConfig, Sections, SystemDiskConfig } from "./schema";

export interface VswitchSpec {
  readonly zone: string;
  readonly cidr: string;
}

export interface NodePoolSpec extends Omit<
  NodePoolConfig,
  "desiredCapacity" | "kubernetesVersion" | "image" | "systemDisk"
> {
  readonly desiredCapacity: number;
  readonly kubernetesVersion: string;
  readonly image: ImageConfig;
  readonly systemDisk: SystemDiskConfig;
}

export interface ClusterSpec {
  readonly project: string;
  readonly stack: string;
  /**
   * Config keys the stack keeps encrypted (e.g. "addons" when an add-on's values carry a
   * password): what is derived from them stays a Pulumi secret.
   */
  readonly secretConfigKeys: readonly string[];
  readonly environment: Environment;
  readonly clusterName: string;
  readonly region: string;
  readonly zones: readonly string[];
  readonly kubernetesVersion: string;
  readonly network: {
    /** existingId set: adopt that VPC; unset: create one with `cidr`. */
    readonly vpc: { readonly cidr: string; readonly existingId?: string };
    readonly vswitches: readonly VswitchSpec[];
    /** True when network.vswitches gave the CIDRs; false when derived at vswitchPrefixLength. */
    readonly explicitVswitches: boolean;
    readonly vswitchPrefixLength: number;
    /**
     * The control planes' own vSwitches by zone; empty when they share the nodes'
     * (network.controlPlaneVswitches: shared).
     */
    readonly controlPlaneVswitches: readonly VswitchSpec[];
    readonly podCidr: string;
    readonly serviceCidr: string;
    readonly dnsDomain: string;
    readonly natGateway: Sections["network"]["natGateway"];
    readonly peerCidrs: readonly string[];
    readonly egress: Sections["network"]["egress"];
  };
  /** `zones`: the zone of each control plane, by index (plan/zones.ts). */
  readonly controlPlane: Sections["controlPlane"] & { readonly zones: readonly string[] };
  readonly nodePools: readonly NodePoolSpec[];
  readonly cni: CniOptions;
  /** False when the CNI replaces kube-proxy (kubeadm then skips addon/kube-proxy). */
  readonly kubeProxy: boolean;
  readonly addons: Sections["addons"];
  readonly apiEndpoint: Sections["apiEndpoint"] & { readonly dnsName: string };
  readonly pki: Sections["pki"];
  readonly apiServer: Sections["apiServer"];
  readonly nodeSoftware: {
    readonly packageSource: "aliyun-mirror" | "upstream";
    readonly imageRepository: string;
    /** Mirrors per registry host (plan/registry-mirrors.ts). */
    readonly registryMirrors: Readonly<Record<string, readonly string[]>>;
  };
  readonly ssh: Sections["ssh"];
  /** How changes roll over running pools (plan/upgrade). */
  readonly upgrade: Sections["upgrade"];
  /** Scheduled etcd snapshots into OSS (plan/etcd-backup.ts). */
  readonly etcdBackup: Sections["etcdBackup"];
  readonly nodeHealth: Sections["nodeHealth"];
  /** Start of every RAM name (plan/naming.ts ramName). */
  readonly ram: { readonly namePrefix: string };
  /** User tags plus the ones this project sets on every resource. */
  readonly tags: Readonly<Record<string, string>>;
}

/** Upper bound on nodes: every control plane plus every pool at its maximum size. */
export function maxNodeCount(spec: {
  readonly controlPlane: { readonly count: number };
  readonly nodePools: readonly { readonly maxSize: number }[];
}): number {
  return spec.controlPlane.count + spec.nodePools.reduce((n, p) => n + p.maxSize, 0);
}
