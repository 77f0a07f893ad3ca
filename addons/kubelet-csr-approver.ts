// Kubelets here ask for serving certificates signed by the cluster CA
// (`serverTLSBootstrap: true`) instead of serving self-signed ones, so that the API
// server and metrics-server can verify them. Nothing in kubeadm approves those CSRs:
// until something does, `kubectl logs`, `exec` and metrics fail. postfinance's
// kubelet-csr-approver approves a CSR only when the node name matches this cluster's
// naming (`<region>.<instance-id>`) and every address in it lies in the VPC. It is core:
// there is no switch.
//
// Chart 1.2.14: the project tags chart and app together (chart `version` equals
// `appVersion`); v1.2.14 is the newest tag of postfinance/kubelet-csr-approver we could
// read (a 1.2.15 is listed on pkg.go.dev but its tag was not readable: not pinned).
import { chartAddon } from "./chart-addon";

// Hooks: a helm.sh/hook: test Job only (kubelet-csr-approver v1.2.14 chart, the pinned release).
export const CSR_APPROVER_CHART = {
  repo: "https://postfinance.github.io/kubelet-csr-approver",
  chart: "kubelet-csr-approver",
  version: "1.2.14",
  hooks: "harmless",
} as const;

/** The node names this project gives nodes: `<region>.<instance-id>` (bootstrap/node-bootstrap.sh). */
export function nodeNameRegex(region: string): string {
  return `^${region.replace(/[.-]/g, (c) => `\\${c}`)}\\.i-[a-z0-9]+$`;
}

export const kubeletCsrApprover = chartAddon({
  name: "kubeletCsrApprover",
  description: "approves kubelet serving-certificate CSRs of this cluster's nodes (core)",
  ref: CSR_APPROVER_CHART,
  // Images: ghcr.io/postfinance/kubelet-csr-approver (values.yaml image.repository). Named
  // down to the organisation: the default mainland mirror does not serve it (registry-mirrors.ts).
  imageRegistries: () => ["ghcr.io/postfinance"],
  namespace: "kube-system",
  values: (spec) => ({
    providerRegex: nodeNameRegex(spec.region),
    // Node names are not in DNS: the check is the name pattern plus the addresses.
    bypassDnsResolution: true,
    providerIpPrefixes: [spec.network.vpc.cidr],
    // Runs before the CCM has initialized nodes: tolerate that taint as well.
    tolerations: [
      { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
      { key: "node.cloudprovider.kubernetes.io/uninitialized", operator: "Exists", effect: "NoSchedule" },
    ],
    nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
  }),
});
