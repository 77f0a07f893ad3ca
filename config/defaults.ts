// Every default of the stack config, in one place. A stack's own values are merged
// over its environment's profile: objects merge key by key, arrays and scalars replace.
import { DEFAULT_CNI } from "../addons/cni";
import type { Environment } from "./schema";
import { DEFAULT_KUBERNETES_VERSION } from "./versions";
import { isObject } from "./zod-helpers";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const base: JsonObject = {
  kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
  network: {
    vpcCidr: "10.0.0.0/16",
    vswitchPrefixLength: 20,
    serviceCidr: "10.96.0.0/12", // kubeadm's default
    dnsDomain: "cluster.local",
    natGateway: { enabled: true, eipBandwidthMbps: 100 },
    controlPlaneVswitches: "dedicated",
    peerCidrs: [],
    egress: { restricted: false, allowedCidrs: [] },
  },
  controlPlane: {
    instanceType: "ecs.g7.large", // 2 vCPU, 8 GiB: kubeadm's minimum is 2 vCPU
    // cgroup v2 out of the box, which the kubelet of 1.35+ requires; the standard Alibaba
    // Cloud Linux 3 image boots cgroup v1 (see CGROUP_V1_IMAGES in config/validate.ts).
    image: { os: "ubuntu-24.04" },
    systemDisk: { category: "cloud_essd", sizeGb: 80, performanceLevel: "PL0" },
    // Daily at 03:00 (UTC+8), a week kept: etcd lives on the system disk.
    snapshots: { enabled: true, retentionDays: 7, hourUtc8: 3 },
  },
  cni: { name: DEFAULT_CNI },
  // A canary of one node, then growing waves; no wave above a fifth of the pool, so that a
  // 1,000-node pool takes 10 waves (plan/upgrade/waves.ts).
  upgrade: {
    waves: [1, 5, 10, 50, 100],
    maxWaveShare: 0.2,
    drainTimeoutSeconds: 600,
    gateTimeoutSeconds: 600,
    timeBudgetMinutes: 150,
  },
  // Every 6 hours from each control plane, two weeks kept (OSS lifecycle rule).
  etcdBackup: { enabled: true, intervalHours: 6, retentionDays: 14 },
  // A node is replaced 30 min after launch without joining, or after 15 min not Ready; at
  // most a tenth of a pool (at least one node) per hour.
  nodeHealth: {
    enabled: true,
    joinDeadlineMinutes: 30,
    unreadyMinutes: 15,
    windowMinutes: 60,
    maxShare: 0.1,
  },
  addons: {
    cloudControllerManager: { enabled: true },
    csiDisk: { enabled: true },
    metricsServer: { enabled: true },
    clusterAutoscaler: { enabled: true },
    certManager: { enabled: false },
    nodeProblemDetector: { enabled: false },
    monitoring: { enabled: false },
    gateway: { enabled: false },
  },
  apiEndpoint: { public: false, allowedCidrs: [] },
  pki: {
    keyAlgorithm: "RSA-2048", // kubeadm's default
    caValidityHours: 87600, // 10 years, kubeadm's default
    adminValidityHours: 8760, // 1 year, kubeadm's default for leaves
    adminEarlyRenewalHours: 720, // renew on any pulumi up in the last 30 days
    breakGlass: false,
    bootstrapTokenTtlHours: 720,
    bootstrapTokenRenewBeforeHours: 168, // a pulumi up in a token's last week issues its successor
    bootstrapTokenGeneration: 1,
  },
  ssh: { enabled: false, allowedCidrs: [] },
  nodeSoftware: {},
  ram: {},
  apiServer: {
    encryptionAtRest: { enabled: true },
    audit: { enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMb: 100 },
    anonymousHealthOnly: { enabled: true },
  },
  tags: {},
};

/** dev is small and cheap; staging mirrors prod's shape; prod is highly available and protected. */
const profiles: Record<Environment, JsonObject> = {
  dev: {
    // Control planes are protected from deletion everywhere (a deleted one takes an etcd
    // member and, with one control plane, the cluster with it); to tear a dev stack
    // down, set controlPlane.deletionProtection: false and pulumi up first.
    controlPlane: { count: 1, deletionProtection: true },
    network: { natGateway: { eipBandwidthMbps: 20 } },
    nodePools: [
      {
        name: "default",
        instanceTypes: ["ecs.g7.large", "ecs.g6.large"],
        minSize: 1,
        maxSize: 3,
        desiredCapacity: 1,
      },
    ],
  },
  staging: {
    controlPlane: { count: 3, deletionProtection: true },
    nodePools: [
      {
        name: "default",
        instanceTypes: ["ecs.g7.xlarge", "ecs.g6.xlarge"],
        minSize: 2,
        maxSize: 6,
        desiredCapacity: 2,
      },
    ],
  },
  prod: {
    controlPlane: {
      count: 3,
      deletionProtection: true,
      instanceType: "ecs.g7.xlarge",
      systemDisk: { category: "cloud_essd", sizeGb: 120, performanceLevel: "PL1" },
    },
    nodePools: [
      {
        name: "default",
        instanceTypes: ["ecs.g7.xlarge", "ecs.g6.xlarge"],
        minSize: 3,
        maxSize: 20,
        desiredCapacity: 3,
      },
    ],
  },
};

/** Merge `over` onto `under`: objects key by key, everything else replaced. */
export function deepMerge(under: unknown, over: unknown): unknown {
  if (over === undefined) return under;
  if (!isObject(under) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(under[k], v);
  return out;
}

export function defaultsFor(environment: Environment): JsonObject {
  return deepMerge(base, profiles[environment]) as JsonObject;
}
