// Alibaba Cloud's CSI driver, disk only, with a default StorageClass. Chart 1.36.2
// (kubernetes-sigs/alibaba-cloud-csi-driver#1773, "chart: release v1.36.2").
//
// Credentials: the chart's own option for self-managed clusters, an access key in a
// Secret (`deploy.accessKey`), for a RAM user of its own limited to the disk calls of
// docs/ram-policies/disk/controller.json. Pods cannot reach the metadata service here,
// so the node role is out of reach for its controller.
import { chartAddon, ownRamUser } from "./chart-addon";

// Hooks: none (alibaba-cloud-csi-driver-1.36.2 deploy/charts/alibaba-cloud-csi-driver/templates).
export const CSI_CHART = {
  repo: "https://kubernetes-sigs.github.io/alibaba-cloud-csi-driver",
  chart: "alibaba-cloud-csi-driver",
  version: "1.36.2",
  hooks: "none",
} as const;
/** The Secret the chart reads its access key from (`deploy.accessKey`). */
const CREDENTIALS = { name: "csi-access-key", idKey: "id", secretKey: "secret", extra: {} } as const;

export const csiDisk = chartAddon({
  name: "csiDisk",
  description: "Alibaba Cloud CSI disk driver and a default StorageClass",
  ref: CSI_CHART,
  release: "csi",
  // Images: images.registryVPC with deploy.network vpc (templates/_utils.tpl).
  imageRegistries: (spec) => [`registry-${spec.region}-vpc.ack.aliyuncs.com`],
  namespace: "kube-system",
  values: (spec) => ({
    csi: { disk: { enabled: true }, nas: { enabled: false }, oss: { enabled: false } },
    // The chart's classes (templates/storage-class.yaml) are unencrypted, none is the
    // default, and -essd/-ssd/-efficiency bind immediately, possibly in another zone
    // than the pod's node: ours below replaces them.
    defaultStorageClass: { enabled: false },
    // Not ACK: a self-managed cluster on ECS, reaching the API over the VPC. The key
    // names are the ones the chart reads (templates/_utils.tpl akEnv: `.secretKey`;
    // values.yaml spells it `secretkey`, which the template ignores). The labeler
    // (values.yaml:108-113) keeps the key out of the privileged node plugin on every
    // node (templates/plugin.yaml:137-139): only the controller Deployment holds it.
    deploy: {
      ack: false,
      ecs: true,
      regionID: spec.region,
      network: "vpc",
      labeler: { enabled: true },
      accessKey: {
        enabled: true,
        secretName: CREDENTIALS.name,
        idKey: CREDENTIALS.idKey,
        secretKey: CREDENTIALS.secretKey,
      },
    },
  }),
  // The default StorageClass: encrypted disks (parameter `encrypted`), ESSD first then
  // SSD and efficiency (`type`, tried in order), requests below a type's 20 GiB minimum
  // raised to it (`volumeSizeAutoAvailable`), and bound only once the pod has a node, so
  // the disk is created in that node's zone (pkg/disk/utils.go getDiskVolumeOptions,
  // 1.36.2).
  objects: {
    source: "kubeadm-alicloud (addons/csi-disk.ts)",
    build: () => [
      {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
          name: "alicloud-disk-encrypted",
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "diskplugin.csi.alibabacloud.com",
        parameters: {
          type: "cloud_essd,cloud_ssd,cloud_efficiency",
          encrypted: "true",
          volumeSizeAutoAvailable: "true",
        },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
      },
    ],
  },
  // docs/ram-policies/disk/controller.json (the node plugin's list is a subset).
  // The disks and snapshots it works on are created at run time, so no id can be named
  // here: the grant is held to the cluster's region.
  ram: (spec) =>
    ownRamUser(
      [
        {
          Effect: "Allow",
          Resource: [`acs:ecs:${spec.region}:*:*`],
          Action: [
            "ecs:AddTags",
            "ecs:AttachDisk",
            "ecs:CreateDisk",
            "ecs:CreateSnapshot",
            "ecs:CreateSnapshotGroup",
            "ecs:DeleteDisk",
            "ecs:DeleteSnapshot",
            "ecs:DeleteSnapshotGroup",
            "ecs:DescribeDisks",
            "ecs:DescribeInstanceAttribute",
            "ecs:DescribeInstanceHistoryEvents",
            "ecs:DescribeInstances",
            "ecs:DescribeSnapshotGroups",
            "ecs:DescribeSnapshots",
            "ecs:DescribeTags",
            "ecs:DescribeTaskAttribute",
            "ecs:DescribeTasks",
            "ecs:DetachDisk",
            "ecs:ListTagResources",
            "ecs:ModifyDiskAttribute",
            "ecs:ModifyDiskSpec",
            "ecs:RemoveTags",
            "ecs:ResizeDisk",
            "ecs:TagResources",
            "ecs:UntagResources",
          ],
        },
        {
          // The labeler's reads beyond controller.json (pkg/labeler/reconcile.go,
          // pkg/cloud/metadata ecs_instance_type.go and eflo.go at 1.36.2).
          Effect: "Allow",
          Resource: ["*"],
          Action: [
            "ecs:DescribeAvailableResource",
            "ecs:DescribeInstanceTypes",
            "eflo:DescribeNode",
            "eflo:DescribeNodeType",
          ],
        },
      ],
      CREDENTIALS,
    ),
});
