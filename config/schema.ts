// The stack config schema, one zod schema per top-level key. Each section is parsed
// on its own so a mistake in one section never hides the mistakes in another; checks
// that span sections live in validate.ts.
import { z } from "zod";
import { cniSchema } from "../addons/cni";
import { KEY_ALGORITHMS } from "../plan/pki";
import { cidrProblem } from "../plan/cidr";
import { versionProblem, normaliseVersion } from "./versions";
import { strictObject } from "./zod-helpers";
import { regionProblem } from "./regions";
import {
  EIP_PAY_BY_TRAFFIC_MAX_MBPS,
  ESSD_MIN_SIZE_GIB,
  ESS_MAX_SIZE,
  LAUNCH_TEMPLATE_DISK_CATEGORIES,
} from "./api-limits";
import { controlPlaneShapeFinding } from "./instance-types";

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** A string refined by a function that says what is wrong with it, or nothing. */
function checkedString(problem: (v: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: "custom", message });
  });
}

export const cidr = checkedString(cidrProblem);

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
function dnsLabel(max: number, what: string) {
  return checkedString((v) =>
    DNS_LABEL.test(v) && v.length <= max
      ? undefined
      : `"${v}" is not a valid ${what}: use 1-${max} lowercase letters, digits and '-', starting with a letter and not ending with '-'`,
  );
}

/** One of the regions the alicloud provider accepts (config/regions.ts), the nearest suggested. */
export const region = checkedString(regionProblem);

/**
 * Zone ids: the region followed by -<letter> (cn-hangzhou-h) or, after a digit, <letter> (ap-southeast-1a).
 */
export function zoneProblem(zone: string, regionId: string): string | undefined {
  const suffixForm = /\d$/.test(regionId) ? `${regionId}<letter>` : `${regionId}-<letter>`;
  const re = /\d$/.test(regionId) ? new RegExp(`^${regionId}[a-z]$`) : new RegExp(`^${regionId}-[a-z]$`);
  return re.test(zone)
    ? undefined
    : `"${zone}" is not a zone of region ${regionId}; zones there look like ${suffixForm}`;
}

export const kubernetesVersion = checkedString(versionProblem).transform(normaliseVersion);

const INSTANCE_TYPE = /^ecs\.[a-z0-9-]+\.[a-z0-9-]+$/;
const instanceType = checkedString((v) =>
  INSTANCE_TYPE.test(v) ? undefined : `"${v}" is not an ECS instance type (e.g. ecs.g7.large)`,
);

export const OS_FAMILIES = ["alinux3", "ubuntu-22.04", "ubuntu-24.04"] as const;
/** Alibaba public image ids start with these; custom images are m-… and cannot be checked. */
export const PUBLIC_IMAGE_PREFIX: Record<(typeof OS_FAMILIES)[number], string> = {
  alinux3: "aliyun_3_",
  "ubuntu-22.04": "ubuntu_22_04_",
  "ubuntu-24.04": "ubuntu_24_04_",
};

const image = strictObject({
  os: z.enum(OS_FAMILIES),
  /** A pinned image id. Unset: the newest public image of `os`, resolved at deploy time. */
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "image ids contain only letters, digits, '_', '.' and '-'")
    .optional(),
}).superRefine((img, ctx) => {
  if (img.id === undefined || img.id.startsWith("m-")) return;
  const prefix = PUBLIC_IMAGE_PREFIX[img.os];
  if (!img.id.startsWith(prefix)) {
    ctx.addIssue({
      code: "custom",
      path: ["id"],
      message: `public image "${img.id}" is not a ${img.os} image (those start with ${prefix}); fix image.os or image.id`,
    });
  }
});

const DISK_CATEGORIES = [
  "cloud_essd",
  "cloud_essd_entry",
  "cloud_auto",
  "cloud_efficiency",
  "cloud_ssd",
] as const;
const diskCategory = z.enum(DISK_CATEGORIES);
/** Pools boot from a launch template, which accepts fewer categories (limits.ts cites it). */
const poolDiskCategory = diskCategory.superRefine((c, ctx) => {
  if (!LAUNCH_TEMPLATE_DISK_CATEGORIES.includes(c)) {
    ctx.addIssue({
      code: "custom",
      message: `${c} cannot be a pool's disk: pools boot from a launch template, and the launch template accepts only ${LAUNCH_TEMPLATE_DISK_CATEGORIES.join(", ")}; use one of those`,
    });
  }
});
const systemDiskOf = (category: typeof diskCategory) =>
  strictObject({
    category,
    sizeGb: z.number().int().min(20).max(2048),
    performanceLevel: z.enum(["PL0", "PL1", "PL2", "PL3"]).optional(),
  }).superRefine((disk, ctx) => {
    if (disk.performanceLevel !== undefined && disk.category !== "cloud_essd") {
      ctx.addIssue({
        code: "custom",
        path: ["performanceLevel"],
        message: `performance levels exist only for cloud_essd, not ${disk.category}; remove performanceLevel`,
      });
    }
    // RunInstances refuses a smaller ESSD at PL2/PL3 (ESSD_MIN_SIZE_GIB in limits.ts cites it).
    const least =
      disk.category === "cloud_essd" && disk.performanceLevel !== undefined
        ? ESSD_MIN_SIZE_GIB[disk.performanceLevel]
        : undefined;
    if (least !== undefined && disk.sizeGb < least) {
      ctx.addIssue({
        code: "custom",
        path: ["sizeGb"],
        message: `${disk.sizeGb} GiB is too small for its performance level: an ESSD at ${disk.performanceLevel} needs at least ${least} GiB; raise sizeGb to ${least} or use a lower performanceLevel (PL1 from 20 GiB)`,
      });
    }
  });
const systemDisk = systemDiskOf(diskCategory);
const poolSystemDisk = systemDiskOf(poolDiskCategory);

/** Label keys: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `label key "${key}": prefix "${prefix}" is not a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    return `label key "${key}": name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  return undefined;
}

/**
 * The kubelet refuses to start when --node-labels names a label in the kubernetes.io
 * or k8s.io namespaces outside this allowed set (NodeRestriction; kubelet
 * `--node-labels` help text). node-role.kubernetes.io/* is the usual casualty.
 */
const KUBELET_ALLOWED_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.kubernetes.io/zone",
  "failure-domain.kubernetes.io/region",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "node.kubernetes.io/instance-type",
]);
export function kubeletLabelProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  if (slash < 0) return undefined;
  const prefix = key.slice(0, slash);
  const reserved = (ns: string) => prefix === ns || prefix.endsWith(`.${ns}`);
  if (!reserved("kubernetes.io") && !reserved("k8s.io")) return undefined;
  if (KUBELET_ALLOWED_LABELS.has(key)) return undefined;
  if (reserved("kubelet.kubernetes.io") || reserved("node.kubernetes.io")) return undefined;
  return `label "${key}" is in a namespace the kubelet may not set on itself; it would refuse to start. Use your own prefix (e.g. example.com/role) or node.kubernetes.io/…`;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelValue = z
  .string()
  .max(63)
  .regex(
    LABEL_VALUE,
    "label values are at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
  );
const labelKey = checkedString((k) => labelKeyProblem(k) ?? kubeletLabelProblem(k));

const taint = strictObject({
  key: checkedString(labelKeyProblem),
  value: labelValue.optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

const essMax = `a scaling group holds at most ${ESS_MAX_SIZE} instances (ESS); use ${ESS_MAX_SIZE} or less, and split larger capacity over several pools`;
const nodePool = strictObject({
  name: dnsLabel(20, "node pool name"),
  instanceTypes: z.array(instanceType).min(1).max(10),
  // ESS limit, cited at ESS_MAX_SIZE in limits.ts.
  minSize: z.number().int().min(0).max(ESS_MAX_SIZE, essMax),
  maxSize: z
    .number()
    .int()
    .min(1, "a pool that may hold no node is no pool; remove it instead")
    .max(ESS_MAX_SIZE, essMax),
  desiredCapacity: z.number().int().min(0).max(ESS_MAX_SIZE, essMax).optional(),
  labels: z.record(labelKey, labelValue).default({}),
  taints: z.array(taint).default([]),
  /** A pool may lag the control plane during upgrades; never lead it. */
  kubernetesVersion: kubernetesVersion.optional(),
  image: image.optional(),
  systemDisk: poolSystemDisk.optional(),
  /**
   * How a version change reaches the pool's nodes: "replace" launches new nodes and
   * removes old ones wave by wave (needs room for a wave more); "in-place" drains and
   * upgrades the nodes it has (for pools at a quota or an address limit).
   */
  upgradeStrategy: z.enum(["replace", "in-place"]).default("replace"),
  /**
   * ECS instances the operator already has, in the cluster's VPC: attached to the pool's
   * scaling group and bootstrapped through Cloud Assistant with the pool's own user data
   * (components/adopt/). Removing one from the list drains and deletes its node first.
   */
  adoptInstanceIds: z
    .array(
      z
        .string()
        .regex(
          /^i-[a-z0-9]{8,30}$/,
          "an ECS instance id is i- and 8-30 lowercase letters or digits (e.g. i-bp1g6zv0ce8oghu7k2ab)",
        ),
    )
    .max(ESS_MAX_SIZE, essMax)
    .default([]),
}).superRefine((pool, ctx) => {
  pool.adoptInstanceIds.forEach((id, i) => {
    const first = pool.adoptInstanceIds.indexOf(id);
    if (first !== i)
      ctx.addIssue({
        code: "custom",
        path: ["adoptInstanceIds", i],
        message: `${id} is listed twice (also at adoptInstanceIds[${first}]); list each instance once`,
      });
  });
  // ESS refuses an AttachInstances that would take the group past MaxSize, and an
  // attach raises the group's expected capacity by as many (AlibabaCloudDocs/ess 3150f66
  // intl.en-US/API Reference/Trigger task/AttachInstances.md; intl.en-US/Scaling Group/
  // Scaling group/Expected number of instances.md, "Manually add ECS instances").
  const launched = pool.desiredCapacity ?? Math.max(pool.minSize, 1);
  if (pool.adoptInstanceIds.length > 0 && launched + pool.adoptInstanceIds.length > pool.maxSize) {
    ctx.addIssue({
      code: "custom",
      path: ["adoptInstanceIds"],
      message: `${pool.adoptInstanceIds.length} adopted instances and ${launched} launched nodes (desiredCapacity) exceed maxSize ${pool.maxSize}: ESS refuses to attach past maxSize; raise maxSize to at least ${launched + pool.adoptInstanceIds.length}`,
    });
  }
  if (pool.minSize > pool.maxSize) {
    ctx.addIssue({
      code: "custom",
      path: ["minSize"],
      message: `minSize ${pool.minSize} is larger than maxSize ${pool.maxSize}; raise maxSize or lower minSize`,
    });
  }
  // ESS keeps a group at its expected (desired) capacity only when the group was created
  // with one, and that cannot be turned on later (Auto Scaling guide, "Expected number
  // of instances"); the provider sends DesiredCapacity at creation only when it is not
  // 0 (aliyun/terraform-provider-alicloud v1.289.0 resource_alicloud_ess_scaling_group.go
  // buildAlicloudEssScalingGroupArgs: `d.GetOk("desired_capacity")`). So 0 would create
  // this pool in another mode than every other pool, for good.
  if (pool.desiredCapacity === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["desiredCapacity"],
      message: `0 would create the scaling group without ESS's expected-capacity mode (the provider does not send 0 at creation, and the mode cannot be turned on later); use 1 or more: the pool starts with that many nodes, and the cluster autoscaler may take it down to minSize ${pool.minSize} afterwards`,
    });
  } else if (
    pool.desiredCapacity !== undefined &&
    (pool.desiredCapacity < pool.minSize || pool.desiredCapacity > pool.maxSize)
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["desiredCapacity"],
      message: `desiredCapacity ${pool.desiredCapacity} is outside [minSize ${pool.minSize}, maxSize ${pool.maxSize}]`,
    });
  }
});

const natGateway = strictObject({
  enabled: z.boolean(),
  /** Bandwidth of the NAT gateway's EIP, Mbit/s (pay-as-you-go, billed by traffic: 1-200; limits.ts). */
  eipBandwidthMbps: z
    .number()
    .int()
    .min(1)
    .max(
      EIP_PAY_BY_TRAFFIC_MAX_MBPS,
      `the NAT gateway's EIP is pay-as-you-go and billed by traffic, which allows 1-${EIP_PAY_BY_TRAFFIC_MAX_MBPS} Mbit/s; use ${EIP_PAY_BY_TRAFFIC_MAX_MBPS} or less`,
    ),
});

const network = strictObject({
  /** CIDR of the VPC to create, or of the VPC named by existingVpcId. */
  vpcCidr: cidr,
  /** Adopt this VPC instead of creating one; vSwitches and NAT are still created in it. */
  existingVpcId: z
    .string()
    .regex(/^vpc-[a-z0-9]+$/, "VPC ids look like vpc-bp1abc…")
    .optional(),
  /**
   * vSwitch CIDR per zone. Unset: carved from vpcCidr at vswitchPrefixLength, by zone letter (plan/zones.ts).
   */
  vswitches: z.record(z.string(), cidr).optional(),
  vswitchPrefixLength: z.number().int().min(16).max(29),
  /** Unset: the chosen CNI's default. */
  podCidr: cidr.optional(),
  serviceCidr: cidr,
  dnsDomain: z
    .string()
    .regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      "dnsDomain must be a DNS name such as cluster.local",
    ),
  natGateway,
  /**
   * Where control planes get their fixed addresses. dedicated: their own /28 vSwitch
   * per zone, carved from controlPlaneCidr, where nothing else is placed. shared: the
   * nodes' vSwitch from its 10th address, as releases before dedicated vSwitches
   * placed them (a stack deployed then keeps it: its control planes cannot move).
   */
  controlPlaneVswitches: z.enum(["dedicated", "shared"]),
  /**
   * Range of the dedicated control-plane vSwitches (a /24 holds a /28 for every zone letter a-p). Unset: the
   * VPC's last /24.
   */
  controlPlaneCidr: cidr.optional(),
  /** IDC, VPN or peered-VPC ranges that may reach the API and NodePorts. */
  peerCidrs: z.array(cidr),
  egress: strictObject({
    /** When true, nodes may reach only the VPC, Alibaba Cloud's internal services and allowedCidrs. */
    restricted: z.boolean(),
    allowedCidrs: z.array(cidr),
  }),
});

const controlPlane = strictObject({
  count: z.number().int(),
  /**
   * The zone of each control plane, in order (one per control plane; append one when
   * count grows). Unset: round robin over the zones in name order. Set it to keep
   * control planes where they are when zones change in a way that would move one.
   */
  zones: z.array(z.string()).optional(),
  /**
   * kubeadm's preflight minimum, where the name tells (instance-types.ts); limits.ts warns where it does not.
   */
  instanceType: instanceType.superRefine((v, ctx) => {
    const { problem } = controlPlaneShapeFinding(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  image,
  systemDisk,
  deletionProtection: z.boolean(),
  /**
   * Automatic snapshots of the control planes' system disks, where etcd keeps its data
   * (crash-consistent: etcd recovers from its write-ahead log). Retention and hour as
   * CreateAutoSnapshotPolicy takes them (@alicloud/ecs20140526
   * CreateAutoSnapshotPolicyRequest.ts: retentionDays -1 or 1-65535, timePoints 0-23 in
   * UTC+8).
   */
  snapshots: strictObject({
    enabled: z.boolean(),
    retentionDays: z
      .number()
      .int()
      .min(1, "keep snapshots at least a day")
      .max(65535, "Alibaba keeps automatic snapshots at most 65535 days"),
    hourUtc8: z
      .number()
      .int()
      .min(0)
      .max(23, "an hour of the day, 0-23 (UTC+8, as Alibaba schedules snapshots)"),
  }),
});

const addon = strictObject({
  enabled: z.boolean(),
  values: z.record(z.string(), z.unknown()).optional(),
});
export const ADDON_NAMES = [
  "cloudControllerManager",
  "csiDisk",
  "metricsServer",
  "clusterAutoscaler",
  "certManager",
  "nodeProblemDetector",
  "monitoring",
  "gateway",
] as const;
const addons = strictObject(
  Object.fromEntries(ADDON_NAMES.map((n) => [n, addon])) as Record<
    (typeof ADDON_NAMES)[number],
    typeof addon
  >,
);

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const apiEndpoint = strictObject({
  public: z.boolean(),
  /** Who may reach the API besides the nodes and peerCidrs. Required when public. */
  allowedCidrs: z.array(cidr),
  /**
   * kubeadm's controlPlaneEndpoint host: resolved to the node itself on control planes
   * (the CLB cannot hairpin) and to the load balancer elsewhere. Unset: api.<clusterName>.k8s.internal.
   */
  dnsName: z
    .string()
    .regex(DNS_NAME, "dnsName must be a fully qualified DNS name such as api.prod.example.internal")
    .optional(),
});

const nodeSoftware = strictObject({
  /**
   * Where kubeadm, kubelet, kubectl and containerd come from. Unset: the Alibaba mirror in mainland China
   * regions, upstream elsewhere.
   */
  packageSource: z.enum(["aliyun-mirror", "upstream"]).optional(),
  /**
   * kubeadm's imageRepository. Unset: a mirror of registry.k8s.io in mainland China regions, registry.k8s.io
   * elsewhere.
   */
  imageRepository: z
    .string()
    .regex(
      /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/,
      "imageRepository is a registry host with an optional path, e.g. registry.k8s.io",
    )
    .optional(),
  /**
   * Mirrors per registry host, tried in order before the registry itself (containerd
   * hosts.toml). Unset: DaoCloud's public mirrors for docker.io, quay.io, ghcr.io and
   * registry.k8s.io in mainland China regions (plan/registry-mirrors.ts), none elsewhere.
   */
  registryMirrors: z
    .record(
      z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "a registry host name such as docker.io or quay.io"),
      z
        .array(
          z
            .string()
            .regex(
              /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~-]+)*\/?$/,
              "a mirror is an http(s) URL such as https://mirror.example.com",
            ),
        )
        .min(1, "list at least one mirror, or leave the registry out"),
    )
    .optional(),
});

/** A safeguard is on by default; turning one off needs a written reason, shown in reviews. */
function needsReason(what: string) {
  return (v: { enabled: boolean; reason?: string | undefined }, ctx: z.core.$RefinementCtx) => {
    if (!v.enabled && (v.reason === undefined || v.reason.trim().length < 10)) {
      ctx.addIssue({
        code: "custom",
        path: ["reason"],
        message: `turning off ${what} needs a reason of at least 10 characters (it is shown in reviews)`,
      });
    }
  };
}

const apiServer = strictObject({
  /** Secrets encrypted in etcd with a key Pulumi generates and keeps as a secret. */
  encryptionAtRest: strictObject({ enabled: z.boolean(), reason: z.string().optional() }).superRefine(
    needsReason("encryption at rest"),
  ),
  audit: strictObject({
    enabled: z.boolean(),
    reason: z.string().optional(),
    maxAgeDays: z.number().int().min(1).max(365),
    maxBackups: z.number().int().min(1).max(100),
    maxSizeMb: z.number().int().min(10).max(10_000),
  }).superRefine(needsReason("the audit log")),
  /** Anonymous requests only to /livez, /readyz and /healthz (Kubernetes 1.32+). */
  anonymousHealthOnly: strictObject({ enabled: z.boolean(), reason: z.string().optional() }).superRefine(
    needsReason("limiting anonymous access to health endpoints"),
  ),
});

const HOURS_PER_YEAR = 8760;
const pki = strictObject({
  /** Key type of every CA, the service-account key and the admin key; kubeadm's encryptionAlgorithm. */
  keyAlgorithm: z.enum(KEY_ALGORITHMS),
  caValidityHours: z
    .number()
    .int()
    .min(HOURS_PER_YEAR, "CAs must live at least a year (8760 hours)")
    .max(30 * HOURS_PER_YEAR),
  adminValidityHours: z
    .number()
    .int()
    .min(24)
    .max(5 * HOURS_PER_YEAR),
  /** A `pulumi up` within this many hours of the admin certificate's expiry renews it. */
  adminEarlyRenewalHours: z.number().int().min(0),
  /** Also issue a system:masters credential (bypasses RBAC). */
  breakGlass: z.boolean(),
  /** Lifetime of each node pool's bootstrap token once kubeadm installs it. */
  bootstrapTokenTtlHours: z.number().int().min(1).max(HOURS_PER_YEAR),
  /**
   * A `pulumi up` within this many hours of a bootstrap token's expiry replaces it with
   * a new one (in OOS and in the cluster); tokens are renewed in windows of
   * bootstrapTokenTtlHours minus this.
   */
  bootstrapTokenRenewBeforeHours: z.number().int().min(1),
  /** Change to replace every pool's bootstrap token. */
  bootstrapTokenGeneration: z.number().int().min(1),
  /**
   * KMS key that encrypts the node secrets kept in OOS secret parameters (CA and
   * service-account keys, the encryption key, join tokens). Unset: OOS's default key.
   */
  secretsKmsKeyId: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,128}$/, "a KMS key id, e.g. key-hzz62f1cb66fa42qo****")
    .optional(),
}).superRefine((p, ctx) => {
  if (p.bootstrapTokenTtlHours - p.bootstrapTokenRenewBeforeHours < 24) {
    ctx.addIssue({
      code: "custom",
      path: ["bootstrapTokenRenewBeforeHours"],
      message: `${p.bootstrapTokenRenewBeforeHours} leaves less than 24 hours of bootstrapTokenTtlHours (${p.bootstrapTokenTtlHours}) between renewals: tokens would be replaced on almost every pulumi up. Lower it or raise bootstrapTokenTtlHours`,
    });
  }
  if (p.adminEarlyRenewalHours >= p.adminValidityHours) {
    ctx.addIssue({
      code: "custom",
      path: ["adminEarlyRenewalHours"],
      message: `${p.adminEarlyRenewalHours} is not shorter than adminValidityHours (${p.adminValidityHours}): every pulumi up would renew the admin certificate`,
    });
  }
  if (p.adminValidityHours >= p.caValidityHours) {
    ctx.addIssue({
      code: "custom",
      path: ["adminValidityHours"],
      message: `the admin certificate (${p.adminValidityHours} h) would outlive its CA (${p.caValidityHours} h)`,
    });
  }
});

const ssh = strictObject({
  enabled: z.boolean(),
  allowedCidrs: z.array(cidr),
  keyPairName: z.string().min(2).max(128).optional(),
});

/** How changes roll over running pools (plan/upgrade/waves.ts). */
const upgrade = strictObject({
  /** Node counts of the first waves of a pool; after the last, each wave doubles. */
  waves: z
    .array(z.number().int().min(1).max(ESS_MAX_SIZE, essMax))
    .min(1)
    .max(20)
    .superRefine((waves, ctx) => {
      if (waves[0] !== 1)
        ctx.addIssue({
          code: "custom",
          path: [0],
          message: `the first wave is the canary and holds one node (got ${waves[0]}); start the list with 1`,
        });
      waves.forEach((w, i) => {
        const before = waves[i - 1];
        if (before !== undefined && w < before)
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `${w} is smaller than the wave before it (${before}); waves only grow`,
          });
      });
    }),
  /** No wave replaces more than this share of a pool's nodes (at its maxSize). */
  maxWaveShare: z.number().gt(0, "must be more than 0").max(1, "is a share: at most 1 (the whole pool)"),
  /** Each node's drain, through the Eviction API, must finish within this time. */
  drainTimeoutSeconds: z.number().int().min(60).max(3600),
  /** A node must pass its gate (Ready at the target, its pods Ready, twice) within this time. */
  gateTimeoutSeconds: z.number().int().min(60).max(1800),
  /**
   * No rollout step starts after this many minutes of a pulumi up; the next pulumi up
   * goes on (checked against the deploy job's limit: plan/rollout/limits.ts).
   */
  timeBudgetMinutes: z.number().int().min(10).max(240),
});

/** Scheduled etcd snapshots into the cluster's OSS bucket (plan/etcd-backup.ts). */
const etcdBackup = strictObject({
  enabled: z.boolean(),
  /** Hours between two snapshots of each control plane. */
  intervalHours: z.number().int().min(1, "at least 1 hour").max(24, "at most 24: a snapshot a day"),
  /** Days a snapshot, and an overwritten version of one, is kept (an OSS lifecycle rule). */
  retentionDays: z.number().int().min(1).max(3650),
  /** The bucket, when the derived name is taken (bucket names are unique across all of OSS). */
  bucketName: checkedString((v) =>
    /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(v)
      ? undefined
      : "must be 3 to 63 lower-case letters, digits or hyphens, starting and ending with a letter or digit (OSS bucket naming)",
  ).optional(),
});

/**
 * Pool instances whose node never came or broke are reported unhealthy to ESS, which
 * replaces them, at most a share of a pool per window (plan/node-health.ts).
 */
const nodeHealth = strictObject({
  enabled: z.boolean(),
  /** Minutes in service without a Node: more than the bootstrap's 20-minute limit (plan/timeouts.ts). */
  joinDeadlineMinutes: z
    .number()
    .int()
    .min(25, "at least 25: a node's bootstrap may take 20 minutes before it joins")
    .max(1440),
  /** Minutes a Node may be other than Ready, or carry a permanent node-problem-detector condition. */
  unreadyMinutes: z.number().int().min(5, "at least 5: a kubelet restart must not replace a node").max(1440),
  /** The brake's rolling window, in minutes. */
  windowMinutes: z.number().int().min(10).max(1440),
  /** At most this share of a pool replaced per window (at least one node). */
  maxShare: z.number().gt(0, "must be more than 0").max(1, "is a share: at most 1 (the whole pool)"),
});

/** RAM roles, policies and users are account-wide: their names must differ between regions. */
const ram = strictObject({
  /**
   * Start of every RAM role, policy and user name. Unset: <clusterName>-<region>, so two
   * clusters of one name in two regions of an account do not collide. A stack deployed
   * before names carried the region sets it to its clusterName to keep its roles.
   */
  namePrefix: checkedString((v) =>
    /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(v)
      ? undefined
      : `"${v}" may hold only letters, digits and '-' (what RAM role, policy and user names all accept), starting with a letter or digit`,
  ).optional(),
});

const tagKey = checkedString((k) => {
  if (k.length < 1 || k.length > 128) return `tag key "${k}" must be 1-128 characters`;
  if (/^(aliyun|acs:)/i.test(k))
    return `tag key "${k}" may not start with "aliyun" or "acs:" (reserved by Alibaba Cloud)`;
  if (/https?:\/\//i.test(k)) return `tag key "${k}" may not contain http:// or https://`;
  if (k.startsWith("kubeadm-alicloud.io/"))
    return `tag key "${k}" uses the prefix kubeadm-alicloud.io/, which this project sets itself`;
  return undefined;
});
const tagValue = z
  .string()
  .max(128)
  .refine((v) => !/https?:\/\//i.test(v), "tag values may not contain http:// or https://");

/** Every top-level key of the stack config, each with its own schema. */
export const sections = {
  environment: z.enum(ENVIRONMENTS),
  clusterName: dnsLabel(32, "cluster name").check((ctx) => {
    // The scale-in drain's OOS template is <clusterName>-scale-in-drain, and OOS refuses
    // template names that start with these (OOS CreateTemplate, TemplateName).
    if (/^(acs|aliyun|alibaba|alicloud)/i.test(ctx.value))
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `"${ctx.value}" cannot start with acs, aliyun, alibaba or alicloud: OOS refuses such template names (the scale-in drain's is <clusterName>-scale-in-drain); choose another cluster name`,
      });
  }),
  region,
  zones: z.array(z.string()).min(1, "list at least one zone of the region").max(6, "list at most 6 zones"),
  kubernetesVersion,
  network,
  controlPlane,
  nodePools: z.array(nodePool).min(1, "list at least one node pool (name, instanceTypes, minSize, maxSize)"),
  cni: cniSchema,
  addons,
  apiEndpoint,
  pki,
  apiServer,
  nodeSoftware,
  ssh,
  ram,
  upgrade,
  etcdBackup,
  nodeHealth,
  tags: z.record(tagKey, tagValue),
} as const;

export type SectionName = keyof typeof sections;
export type Sections = { [K in SectionName]: z.output<(typeof sections)[K]> };
export type NodePoolConfig = Sections["nodePools"][number];
export type ImageConfig = Sections["controlPlane"]["image"];
export type SystemDiskConfig = Sections["controlPlane"]["systemDisk"];
