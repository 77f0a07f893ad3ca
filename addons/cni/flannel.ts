import { z } from "zod";
import { strictObject } from "../../config/zod-helpers";
import type { ChartRef, CniModule } from "./types";

/** flannel's chart as published with its releases (flannel-io.github.io/flannel). */
// v0.28.9 (tag 5cd0d52, 2026-08-07; its release workflow publishes the chart to the
// repository below). Since v0.28.5 the chart changed only image tags and an optional
// healthz port: `podCidr` and `flannel.backend` are as before (git diff v0.28.5 v0.28.9
// -- chart/). Hooks: none (chart/kube-flannel/templates at v0.28.9).
export const FLANNEL_CHART: ChartRef = {
  repo: "https://flannel-io.github.io/flannel/",
  chart: "flannel",
  version: "v0.28.9",
  hooks: "none",
};

export const flannelOptions = strictObject({
  name: z.literal("flannel"),
});
export type FlannelOptions = z.infer<typeof flannelOptions>;

/**
 * Flannel with its VXLAN backend. host-gw is not offered: it needs layer-2
 * adjacency, and an Alibaba Cloud VPC routes at layer 3 and drops pod addresses it
 * has no route for. Flannel reads each node's podCIDR, which kube-controller-manager
 * allocates from kubeadm's podSubnet.
 */
export const flannel: CniModule<FlannelOptions> = {
  name: "flannel",
  // Images: ghcr.io/flannel-io/* (flannel.image.repository).
  imageRegistries: ["ghcr.io"],
  schema: flannelOptions,
  defaultPodCidr: "10.244.0.0/16",
  podCidrProblems: () => [],
  nodeTraffic: () => [
    { protocol: "udp", ports: [8472, 8472], purpose: "Flannel VXLAN overlay between nodes" },
  ],
  runsKubeProxy: () => true,
  install: (_options, ctx) => ({
    namespace: "kube-flannel",
    namespaceLabels: { "pod-security.kubernetes.io/enforce": "privileged" },
    // podCidr must equal kubeadm's networking.podSubnet.
    charts: [
      {
        name: "flannel",
        ref: FLANNEL_CHART,
        values: { podCidr: ctx.podCidr, flannel: { backend: "vxlan" } },
      },
    ],
  }),
};
