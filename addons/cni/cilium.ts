import { z } from "zod";
import { strictObject } from "../../config/zod-helpers";
import { METADATA_ADDRESS } from "../../plan/metadata";
import type { ChartRef, CniModule, CniObject, NodeTraffic } from "./types";

// Hooks: one post-install Job for clustermesh MCS-API CoreDNS set-up, off by default
// (cilium-1.19.6.tgz templates/clustermesh-coredns-mcsapi/job.yaml).
export const CILIUM_CHART: ChartRef = {
  repo: "https://helm.cilium.io/",
  chart: "cilium",
  version: "1.19.6",
  hooks: "harmless",
};

export const ciliumOptions = strictObject({
  name: z.literal("cilium"),
  /** kube-proxy-free mode: kubeadm skips addon/kube-proxy and Cilium serves Services. */
  kubeProxyReplacement: z.boolean().default(true),
  hubble: z.boolean().default(true),
  /** Transparent node-to-node encryption. */
  wireguard: z.boolean().default(false),
});
export type CiliumOptions = z.infer<typeof ciliumOptions>;

/**
 * Cilium in VXLAN tunnel mode with cluster-pool IPAM (the pod CIDR becomes
 * ipam.operator.clusterPoolIPv4PodCIDRList; /24 per node, Cilium's default).
 */
export const cilium: CniModule<CiliumOptions> = {
  name: "cilium",
  // Images: quay.io/cilium/* (image.repository …).
  imageRegistries: ["quay.io"],
  schema: ciliumOptions,
  // Upstream's cluster-pool default is 10.0.0.0/8, which swallows the usual VPC ranges.
  defaultPodCidr: "10.244.0.0/16",
  podCidrProblems: () => [],
  nodeTraffic: (options) => {
    const traffic: NodeTraffic[] = [
      { protocol: "udp", ports: [8472, 8472], purpose: "Cilium VXLAN overlay between nodes" },
      { protocol: "tcp", ports: [4240, 4240], purpose: "Cilium node health checks" },
    ];
    if (options.hubble)
      traffic.push({
        protocol: "tcp",
        ports: [4244, 4244],
        purpose: "Hubble relay to Hubble servers on each node",
      });
    if (options.wireguard)
      traffic.push({
        protocol: "udp",
        ports: [51871, 51871],
        purpose: "Cilium WireGuard encryption between nodes",
      });
    return traffic;
  },
  runsKubeProxy: (options) => !options.kubeProxyReplacement,
  install: (options, ctx) => ({
    namespace: "kube-system",
    namespaceLabels: {},
    charts: [
      {
        name: "cilium",
        ref: CILIUM_CHART,
        values: {
          kubeProxyReplacement: options.kubeProxyReplacement,
          // Without kube-proxy the agents cannot use the kubernetes Service: they reach the
          // API by the endpoint name, which every node resolves (self on control planes).
          k8sServiceHost: ctx.apiHost,
          k8sServicePort: ctx.apiPort,
          routingMode: "tunnel",
          tunnelProtocol: "vxlan",
          ipam: {
            mode: "cluster-pool",
            operator: { clusterPoolIPv4PodCIDRList: [ctx.podCidr], clusterPoolIPv4MaskSize: 24 },
          },
          hubble: { enabled: options.hubble, relay: { enabled: options.hubble } },
          encryption: { enabled: options.wireguard, type: "wireguard" },
        },
      },
    ],
    objects: [metadataGuardPolicy()],
  }),
};

/**
 * Pods must not reach the metadata service. The node's netfilter rule (see
 * renderMetadataGuardUnit) does not see pod traffic that Cilium's eBPF host routing
 * redirects past netfilter, so Cilium enforces it too: a deny rule for every pod
 * endpoint (host-network pods are the host endpoint, which `endpointSelector` does
 * not select), with default-deny off so nothing else is blocked.
 */
export function metadataGuardPolicy(): CniObject {
  return {
    apiVersion: "cilium.io/v2",
    kind: "CiliumClusterwideNetworkPolicy",
    metadata: { name: "kubeadm-alicloud-metadata-guard" },
    spec: {
      description:
        "kubeadm-alicloud: pods may not reach the Alibaba Cloud metadata service (node role credentials)",
      endpointSelector: {},
      enableDefaultDeny: { egress: false, ingress: false },
      egressDeny: [{ toCIDR: [`${METADATA_ADDRESS}/32`] }],
    },
  };
}
