import { z } from "zod";
import { prefixLength } from "../../plan/cidr";
import { strictObject } from "../../config/zod-helpers";
import type { ChartRef, CniModule, NodeTraffic } from "./types";

const CALICO_REPO = "https://docs.tigera.io/calico/charts";
/** Since 3.32 the CRDs ship in their own chart, installed before the operator. */
// Hooks: the CRD chart has none; tigera-operator only a pre-delete Job (uninstall
// clean-up), which an install does not need (calico v3.32.1 charts/, the pinned release:
// the newest v3.32 tag readable).
export const CALICO_CRDS_CHART: ChartRef = {
  repo: CALICO_REPO,
  chart: "crd.projectcalico.org.v1",
  version: "v3.32.1",
  hooks: "none",
};
export const CALICO_OPERATOR_CHART: ChartRef = {
  repo: CALICO_REPO,
  chart: "tigera-operator",
  version: "v3.32.1",
  hooks: "harmless",
};

/**
 * Encapsulations that work on an Alibaba Cloud VPC. The VPC routes at layer 3 and
 * drops packets to or from pod addresses it has no route for, so every pod packet
 * between nodes must be encapsulated: "None" and the "*CrossSubnet" modes (which send
 * same-subnet traffic unencapsulated) are refused with an explanation.
 */
const ENCAPSULATIONS = ["VXLAN", "IPIP"] as const;
const REFUSED: Record<string, string> = {
  None: "the VPC drops unencapsulated pod traffic",
  VXLANCrossSubnet: "same-vSwitch pod traffic would go unencapsulated and the VPC drops it",
  IPIPCrossSubnet: "same-vSwitch pod traffic would go unencapsulated and the VPC drops it",
};

export const calicoOptions = strictObject({
  name: z.literal("calico"),
  encapsulation: z
    .string()
    .default("VXLAN")
    .superRefine((value, ctx) => {
      if ((ENCAPSULATIONS as readonly string[]).includes(value)) return;
      const why = REFUSED[value];
      ctx.addIssue({
        code: "custom",
        message: why
          ? `"${value}" does not work on Alibaba Cloud: ${why}. Use VXLAN (default) or IPIP`
          : `"${value}" is not a Calico encapsulation this project supports; use VXLAN (default) or IPIP`,
      });
    })
    .transform((v) => v as (typeof ENCAPSULATIONS)[number]),
  /** Calico IPAM block size: each node borrows blocks of this prefix length. */
  blockSize: z.number().int().min(20).max(32).default(26),
});
export type CalicoOptions = z.infer<typeof calicoOptions>;

const TYPHA: NodeTraffic = {
  protocol: "tcp",
  ports: [5473, 5473],
  purpose: "Calico Typha: Felix agents to Typha",
};

export const calico: CniModule<CalicoOptions> = {
  name: "calico",
  // Images: quay.io/tigera/operator and quay.io/calico/* (tigeraOperator.registry, Installation registry).
  imageRegistries: ["quay.io"],
  schema: calicoOptions,
  // Upstream's default is 192.168.0.0/16, the range Alibaba Cloud's console offers for
  // new VPCs first; 10.244.0.0/16 avoids that collision.
  defaultPodCidr: "10.244.0.0/16",
  podCidrProblems: (podCidr, options) =>
    prefixLength(podCidr) > options.blockSize
      ? [
          `Calico carves /${options.blockSize} blocks from the pod CIDR, so it must be /${options.blockSize} or larger (got ${podCidr})`,
        ]
      : [],
  nodeTraffic: (options) =>
    options.encapsulation === "VXLAN"
      ? [{ protocol: "udp", ports: [4789, 4789], purpose: "Calico VXLAN overlay between nodes" }, TYPHA]
      : [
          { protocol: "tcp", ports: [179, 179], purpose: "Calico BGP peering (IPIP mode)" },
          // IP-in-IP is IP protocol 4; Alibaba security groups have no protocol numbers,
          // so only "all" admits it.
          {
            protocol: "all",
            ports: [-1, -1],
            purpose: "Calico IP-in-IP (IP protocol 4; only 'all' admits it)",
          },
          TYPHA,
        ],
  runsKubeProxy: () => true,
  install: (options, ctx) => ({
    namespace: "tigera-operator",
    namespaceLabels: { "pod-security.kubernetes.io/enforce": "privileged" },
    charts: [
      { name: "calico-crds", ref: CALICO_CRDS_CHART, values: {} },
      {
        name: "calico",
        ref: CALICO_OPERATOR_CHART,
        values: {
          installation: {
            kubernetesProvider: "",
            calicoNetwork: {
              // BGP only carries routes for IP-in-IP; VXLAN needs none.
              bgp: options.encapsulation === "IPIP" ? "Enabled" : "Disabled",
              ipPools: [
                {
                  cidr: ctx.podCidr,
                  encapsulation: options.encapsulation,
                  natOutgoing: "Enabled",
                  blockSize: options.blockSize,
                  nodeSelector: "all()",
                },
              ],
            },
          },
        },
      },
    ],
  }),
};
