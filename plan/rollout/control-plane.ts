// The next control-plane step: strictly one control plane at a time, in placement order;
// the first to move runs `kubeadm upgrade apply` (it moves kubeadm-config), every other
// `kubeadm upgrade node` (kubernetes/website content/en/docs/tasks/administer-cluster/
// kubeadm/kubeadm-upgrade.md). Like Cluster API's KubeadmControlPlane preflight, nothing
// is changed while another control plane is not Ready.
import type { Decision } from "./decision";
import type { ObservedControlPlane } from "./observed";

// Cordoned counts as not done: a run that stopped between the kubelet and the uncordon
// left the node cordoned and its gate unpassed; the same step finishes it (every part of
// it is idempotent) before the next control plane is touched.
const atTarget = (cp: ObservedControlPlane, version: string) =>
  cp.apiServerVersion === version && cp.kubeletVersion === version && !cp.cordoned;

/** The control planes' next step, or undefined when every one is at `version` and uncordoned. */
export function nextControlPlaneStep(
  controlPlanes: readonly ObservedControlPlane[],
  clusterVersion: string,
  version: string,
): Decision | undefined {
  const next = controlPlanes.find((cp) => !atTarget(cp, version));
  if (next) {
    const down = controlPlanes.filter((cp) => cp !== next && !cp.ready).map((cp) => cp.name);
    if (down.length > 0) {
      return {
        kind: "halt",
        reason: `control plane ${down.join(", ")} is not Ready: no control plane changes while another is down (etcd keeps quorum only with the others)`,
      };
    }
    return {
      kind: "upgrade-control-plane",
      node: next.name,
      command: clusterVersion === version ? "kubeadm upgrade node" : "kubeadm upgrade apply",
    };
  }
  return undefined;
}
