// Add-on settings that would leave the cluster broken or a feature silently dead,
// checked with the rest of the config (config/validate.ts).
import type { ClusterSpec } from "../config/spec";

export interface AddonConfigProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export function addonConfigProblems(spec: Pick<ClusterSpec, "addons" | "nodePools">): AddonConfigProblem[] {
  const out: AddonConfigProblem[] = [];
  // kubelets and kube-controller-manager always run with cloud-provider: external
  // (plan/kubeadm.ts), and such a kubelet taints its node
  // node.cloudprovider.kubernetes.io/uninitialized until a cloud-controller-manager
  // initializes it (kubernetes/cloud-provider api/well_known_taints.go
  // TaintExternalCloudProvider; kubernetes/kops#7770 is this failure). Without the CCM
  // nothing but tolerating DaemonSets would ever schedule (audit addons-cni 1.4).
  if (!spec.addons.cloudControllerManager.enabled) {
    out.push({
      path: ["addons", "cloudControllerManager", "enabled"],
      message:
        "cannot be false: kubelets run with cloud-provider: external, so every node keeps the node.cloudprovider.kubernetes.io/uninitialized taint until the cloud-controller-manager initializes it, and no workload would schedule. Keep it enabled",
    });
  }
  // cluster-autoscaler (cloudprovider/alicloud, cluster-autoscaler-1.36.0; no change in 1.36.1) builds the
  // node template of an empty group only from the group's active scaling configuration
  // (alicloud_manager.go getAsgTemplate: ActiveScalingConfigurationId ->
  // DescribeScalingConfigurations), and skips a group with no node and no template
  // (processors/nodeinfosprovider/mixed_nodeinfos_processor.go). Pools here launch from
  // a launch template and have no scaling configuration, so a pool it scales to zero
  // stays at zero (audit addons-cni 2.2).
  if (spec.addons.clusterAutoscaler.enabled) {
    spec.nodePools.forEach((pool, i) => {
      if (pool.minSize === 0) {
        out.push({
          path: ["nodePools", i, "minSize"],
          message: `is 0, but cluster-autoscaler cannot scale a pool up from zero here (it models an empty group only from an ESS scaling configuration, and pools launch from a launch template), so once it emptied ${pool.name} no pod could bring a node back; use minSize 1 or more, or disable addons.clusterAutoscaler`,
        });
      }
    });
  }
  return out;
}
