// cluster-autoscaler for Alibaba Cloud: one `--nodes=<min>:<max>:<scaling group id>` per
// node pool, generated from the pools (Alibaba has no node-group auto-discovery).
//
// Credentials: its alicloud provider reads role credentials from the metadata service
// without a session token (cloudprovider/alicloud/alibaba-cloud-sdk-go
// signer_ecs_ram_role.go: a plain GET of /latest/meta-data/ram/security-credentials/),
// which instances here refuse (tokens required), and pods cannot reach that service at
// all. So it gets a RAM user of its own, limited to the calls its README lists, whose
// access key reaches it as a Secret (ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION_ID: the
// environment its README documents).
//
// The image must match the cluster's minor. The newest patch per minor, each a git tag
// cluster-autoscaler-1.X.Y in kubernetes/autoscaler (version/version.go agrees) promoted to
// registry.k8s.io: v1.36.1, v1.35.2, v1.34.5, v1.33.6 (kubernetes/k8s.io#9760, merged; the
// staging digests are in its gcrane comment), v1.32.7 (release cluster-autoscaler-1.32.7,
// 2026-02-13; the newest 1.32 tag), v1.31.5 (kubernetes/k8s.io#8623, merged).
// Chart 9.56.0: release cluster-autoscaler-chart-9.56.0 (2026-03-02).
import { chartAddon, ownRamUser } from "./chart-addon";

// Hooks: none (cluster-autoscaler-chart-9.56.0 cluster-autoscaler/charts/cluster-autoscaler/templates).
export const CLUSTER_AUTOSCALER_CHART = {
  repo: "https://kubernetes.github.io/autoscaler",
  chart: "cluster-autoscaler",
  version: "9.56.0",
  hooks: "none",
} as const;
export const CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler";
/** Image tag by Kubernetes minor. */
export const CLUSTER_AUTOSCALER_TAGS: Readonly<Record<number, string>> = {
  31: "v1.31.5",
  32: "v1.32.7",
  33: "v1.33.6",
  34: "v1.34.5",
  35: "v1.35.2",
  36: "v1.36.1",
};
const CREDENTIALS = "cluster-autoscaler-alicloud";

export const clusterAutoscaler = chartAddon({
  name: "clusterAutoscaler",
  description: "cluster-autoscaler: resizes the node pools' ESS scaling groups",
  ref: CLUSTER_AUTOSCALER_CHART,
  // Images: registry.k8s.io/autoscaling/cluster-autoscaler, set here.
  imageRegistries: () => ["registry.k8s.io"],
  namespace: "kube-system",
  values: (spec, facts) => {
    const minor = Number(spec.kubernetesVersion.split(".")[1]);
    const tag = CLUSTER_AUTOSCALER_TAGS[minor];
    if (!tag) throw new Error(`no cluster-autoscaler release recorded for Kubernetes 1.${minor}`);
    const groups = spec.nodePools.map((p) => {
      const id = facts.scalingGroupIds[p.name];
      if (id === undefined) throw new Error(`no scaling group id for pool ${p.name}`);
      return { name: id, minSize: p.minSize, maxSize: p.maxSize };
    });
    return {
      cloudProvider: "alicloud",
      autoscalingGroups: groups,
      image: { repository: CLUSTER_AUTOSCALER_IMAGE, tag },
      envFromSecret: CREDENTIALS,
      extraArgs: { "balance-similar-node-groups": true, expander: "least-waste" },
      nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
      tolerations: [
        { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
      ],
    };
  },
  // The calls of cloudprovider/alicloud (kubernetes/autoscaler): 1.32 and later scale
  // with ess:ScaleWithAdjustment (commit 825d5253c8; its README's policy predates it),
  // earlier ones with scaling rules; RemoveInstances is authorized as
  // ess:DetachInstances too (ESS RemoveInstances API reference). The ESS RAM tables list
  // these on acs:ess:{#regionId}:{#accountId}:scalinggroup/{#ScalingGroupId}: changes
  // name this cluster's groups only. Reads stay in the region (not every Describe table
  // was found to name a resource), and ecs:DescribeInstanceTypes publishes none.
  ram: (spec, facts) =>
    ownRamUser(
      [
        {
          Effect: "Allow",
          Action: [
            "ess:ScaleWithAdjustment",
            "ess:RemoveInstances",
            "ess:DetachInstances",
            "ess:CreateScalingRule",
            "ess:ModifyScalingRule",
            "ess:ExecuteScalingRule",
            "ess:DeleteScalingRule",
          ],
          Resource: spec.nodePools.map(
            (p) => `acs:ess:${spec.region}:*:scalinggroup/${facts.scalingGroupIds[p.name] ?? ""}`,
          ),
        },
        { Effect: "Allow", Action: ["ess:Describe*"], Resource: [`acs:ess:${spec.region}:*:*`] },
        { Effect: "Allow", Action: ["ecs:DescribeInstanceTypes"], Resource: ["*"] },
      ],
      {
        name: CREDENTIALS,
        idKey: "ACCESS_KEY_ID",
        secretKey: "ACCESS_KEY_SECRET",
        extra: { REGION_ID: spec.region },
      },
    ),
});
