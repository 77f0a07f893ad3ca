// Every rejected configuration, with the key it must name and what it must say.
import { describe, expect, it } from "vitest";
import { ConfigError, formatPath, validateStackConfig } from "../config/validate";
import { BASE_CONFIG, PROJECT, specFor } from "./kit";

interface Context {
  readonly providerRegion?: string;
  readonly plainForeignConfig?: Record<string, string>;
}

function problemsOf(raw: Record<string, unknown>, stack = "dev", context: Context = {}): string[] {
  try {
    validateStackConfig(raw, { project: PROJECT, stack, warn: () => undefined, ...context });
  } catch (err) {
    if (err instanceof ConfigError)
      return err.problems.map((p) => `${formatPath(PROJECT, p.path)}: ${p.message}`);
    throw err;
  }
  return [];
}

interface Rejected {
  readonly why: string;
  readonly config: Record<string, unknown>;
  readonly stack?: string;
  readonly providerRegion?: string;
  /** Config of other namespaces (alicloud:…) kept in plain text in the stack. */
  readonly plainForeignConfig?: Record<string, string>;
  /**
   * The config key the message must name (without "<project>:" unless another namespace), and a fragment it
   * must contain.
   */
  readonly key: string;
  readonly says: string;
}

const pool = (over: Record<string, unknown> = {}) => ({
  name: "p",
  instanceTypes: ["ecs.g7.large"],
  minSize: 1,
  maxSize: 3,
  ...over,
});

const REJECTED: readonly Rejected[] = [
  {
    why: "unknown top-level key, with suggestion",
    config: { netwrok: {} },
    key: "netwrok",
    says: 'did you mean "network"?',
  },
  {
    why: "unknown nested key, with suggestion",
    config: { network: { vpcCird: "10.0.0.0/16" } },
    key: "network",
    says: 'unknown key "vpcCird": did you mean "vpcCidr"?',
  },
  {
    why: "unknown key with no near match lists the valid ones",
    config: { ssh: { enabled: false, colour: "red" } },
    key: "ssh",
    says: "valid keys here are enabled, allowedCidrs, keyPairName",
  },
  { why: "region missing", config: { region: undefined }, key: "region", says: "is required" },
  {
    why: "region malformed",
    config: { region: "Hangzhou" },
    key: "region",
    says: "is not an Alibaba Cloud region id",
  },
  {
    why: "zone of another region",
    config: { zones: ["cn-hangzhou-h", "cn-shanghai-e"] },
    key: "zones[1]",
    says: "is not a zone of region cn-hangzhou",
  },
  {
    why: "zone form after a digit",
    config: { region: "ap-southeast-1", zones: ["ap-southeast-1-a"] },
    key: "zones[0]",
    says: "look like ap-southeast-1<letter>",
  },
  {
    why: "duplicate zone",
    config: { zones: ["cn-hangzhou-h", "cn-hangzhou-h"] },
    key: "zones[1]",
    says: "is listed twice",
  },
  {
    why: "alicloud:region disagrees",
    config: {},
    providerRegion: "cn-beijing",
    key: "region",
    says: "alicloud:region is cn-beijing",
  },
  {
    why: "even control-plane count",
    config: { controlPlane: { count: 2 } },
    key: "controlPlane.count",
    says: "2 is even",
  },
  {
    why: "out-of-range control-plane count",
    config: { controlPlane: { count: 7 } },
    key: "controlPlane.count",
    says: "use 1, 3 or 5",
  },
  {
    why: "prod with one control plane",
    config: { controlPlane: { count: 1 } },
    stack: "prod",
    key: "controlPlane.count",
    says: "prod must be highly available",
  },
  {
    why: "prod in one zone",
    config: { zones: ["cn-hangzhou-h"] },
    stack: "prod",
    key: "zones",
    says: "at least 2 zones",
  },
  {
    why: "stack name gives no environment",
    config: {},
    stack: "eu-team",
    key: "environment",
    says: 'stack "eu-team" is not named dev, staging, prod',
  },
  {
    why: "unknown environment",
    config: { environment: "production" },
    key: "environment",
    says: "must be one of dev, staging, prod",
  },
  {
    why: "malformed VPC CIDR",
    config: { network: { vpcCidr: "10.0.0.0/33" } },
    key: "network.vpcCidr",
    says: "is not IPv4 CIDR notation",
  },
  {
    why: "CIDR with host bits",
    config: { network: { vpcCidr: "10.0.0.1/16" } },
    key: "network.vpcCidr",
    says: "the network it names is 10.0.0.0/16",
  },
  {
    why: "public VPC range",
    config: { network: { vpcCidr: "8.8.0.0/16" } },
    key: "network.vpcCidr",
    says: "is not inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
  },
  {
    why: "VPC smaller than /24",
    config: { network: { vpcCidr: "10.0.0.0/26" } },
    key: "network.vpcCidr",
    says: "smaller than /24",
  },
  {
    why: "pod CIDR overlaps VPC",
    config: { network: { vpcCidr: "10.0.0.0/8" } },
    key: "network.podCidr",
    says: "the CNI's default pod CIDR 10.244.0.0/16 (set network.podCidr to a free range) overlaps network.vpcCidr (10.0.0.0/8)",
  },
  {
    why: "explicit pod CIDR overlaps VPC",
    config: { network: { vpcCidr: "10.0.0.0/16", podCidr: "10.0.128.0/17" } },
    key: "network.podCidr",
    says: "overlaps network.vpcCidr",
  },
  {
    why: "service CIDR overlaps pod CIDR",
    config: { network: { serviceCidr: "10.244.0.0/20" } },
    key: "network.serviceCidr",
    says: "overlaps the CNI's default pod CIDR",
  },
  {
    why: "peer CIDR overlaps VPC",
    config: { network: { peerCidrs: ["10.0.4.0/24"] } },
    key: "network.peerCidrs[0]",
    says: "overlaps network.vpcCidr",
  },
  {
    why: "range inside Alibaba's reserved block",
    config: { network: { serviceCidr: "100.100.0.0/16" } },
    key: "network.serviceCidr",
    says: "overlaps 100.64.0.0/10",
  },
  {
    why: "service range too large",
    config: { network: { serviceCidr: "172.0.0.0/8" } },
    key: "network.serviceCidr",
    says: "larger than /12",
  },
  {
    why: "vSwitch outside the VPC",
    config: {
      network: {
        vswitches: {
          "cn-hangzhou-h": "10.1.0.0/20",
          "cn-hangzhou-i": "10.0.16.0/20",
          "cn-hangzhou-j": "10.0.32.0/20",
        },
      },
    },
    key: "network.vswitches.cn-hangzhou-h",
    says: "is not inside the VPC 10.0.0.0/16",
  },
  {
    why: "vSwitches overlap",
    config: {
      network: {
        vswitches: {
          "cn-hangzhou-h": "10.0.0.0/20",
          "cn-hangzhou-i": "10.0.8.0/21",
          "cn-hangzhou-j": "10.0.32.0/20",
        },
      },
    },
    key: "network.vswitches.cn-hangzhou-i",
    says: "overlaps the vSwitch of cn-hangzhou-h",
  },
  {
    why: "vSwitch for a zone not listed",
    config: {
      network: {
        vswitches: {
          "cn-hangzhou-h": "10.0.0.0/20",
          "cn-hangzhou-i": "10.0.16.0/20",
          "cn-hangzhou-j": "10.0.32.0/20",
          "cn-hangzhou-k": "10.0.48.0/20",
        },
      },
    },
    key: "network.vswitches.cn-hangzhou-k",
    says: "is not in zones",
  },
  {
    why: "zone without a vSwitch",
    config: { network: { vswitches: { "cn-hangzhou-h": "10.0.0.0/20" } } },
    key: "network.vswitches",
    says: "has no CIDR for zone cn-hangzhou-i",
  },
  // Derived CIDRs are keyed by zone letter (plan/zones.ts): h, i and j are the 8th-10th slots.
  {
    why: "derived vSwitches do not fit",
    config: { network: { vpcCidr: "10.0.0.0/24", vswitchPrefixLength: 27 } },
    key: "network.vswitchPrefixLength",
    says: "the VPC 10.0.0.0/24 holds 8 of /27, too few for cn-hangzhou-i, cn-hangzhou-j",
  },
  // Audit addons-cni 1.4: kubelets run with cloud-provider: external, so every node keeps
  // the node.cloudprovider.kubernetes.io/uninitialized taint until a CCM removes it.
  {
    why: "the cloud-controller-manager switched off",
    config: { addons: { cloudControllerManager: { enabled: false } } },
    key: "addons.cloudControllerManager.enabled",
    says: "node.cloudprovider.kubernetes.io/uninitialized",
  },
  // Audit addons-cni 2.2: cluster-autoscaler builds a node template for an empty group
  // only from its scaling configuration, which a launch-template group does not have.
  {
    why: "a pool the autoscaler could empty and never refill",
    config: { nodePools: [pool({ minSize: 0 })] },
    key: "nodePools[0].minSize",
    says: "cannot scale a pool up from zero",
  },
  {
    why: "snapshots kept longer than Alibaba keeps them",
    config: { controlPlane: { snapshots: { enabled: true, retentionDays: 70000, hourUtc8: 3 } } },
    key: "controlPlane.snapshots.retentionDays",
    says: "at most 65535 days",
  },
  {
    why: "a snapshot hour that is no hour",
    config: { controlPlane: { snapshots: { enabled: true, retentionDays: 7, hourUtc8: 24 } } },
    key: "controlPlane.snapshots.hourUtc8",
    says: "0-23 (UTC+8",
  },
  {
    why: "control-plane zones not one per control plane",
    config: { controlPlane: { count: 3, zones: ["cn-hangzhou-h", "cn-hangzhou-i"] } },
    key: "controlPlane.zones",
    says: "lists 2 zones but controlPlane.count is 3",
  },
  {
    why: "a control plane in a zone that is not listed",
    config: { controlPlane: { count: 1, zones: ["cn-hangzhou-k"] } },
    key: "controlPlane.zones[0]",
    says: "cn-hangzhou-k is not in zones",
  },
  {
    why: "desired capacity 0 (the provider drops 0 at creation: ESS's expected-capacity mode would be off)",
    config: { nodePools: [pool({ minSize: 0, desiredCapacity: 0 })] },
    key: "nodePools[0].desiredCapacity",
    says: "use 1 or more",
  },
  {
    why: "RAM names too long for RAM's 64 characters",
    config: {
      clusterName: "a-very-long-cluster-name-of-32ch",
      nodePools: [pool({ name: "a-long-pool-name-20c" })],
    },
    key: "clusterName",
    says: "over RAM's 64",
  },
  {
    why: "a RAM name prefix RAM policies refuse",
    config: { ram: { namePrefix: "team.prod" } },
    key: "ram.namePrefix",
    says: "only letters, digits and '-'",
  },
  {
    why: "a RAM name prefix too long",
    config: { ram: { namePrefix: "p".repeat(60) } },
    key: "ram.namePrefix",
    says: "shorten ram.namePrefix",
  },
  {
    why: "vSwitches too small for the nodes",
    config: { network: { vswitchPrefixLength: 27 }, nodePools: [pool({ maxSize: 75 })] },
    key: "network.vswitchPrefixLength",
    says: "has 28 usable addresses but needs about 30",
  },
  {
    why: "vSwitches too small for nodes and the control planes they share it with",
    config: {
      network: { vswitchPrefixLength: 27, controlPlaneVswitches: "shared" },
      nodePools: [pool({ maxSize: 60 })],
    },
    key: "network.vswitchPrefixLength",
    says: "has 28 usable addresses but needs about 35 (control planes from the 10th host",
  },
  {
    why: "the control planes' range overlaps a node vSwitch",
    config: { network: { controlPlaneCidr: "10.0.112.0/24" } },
    key: "network.controlPlaneCidr",
    says: "overlaps the nodes' vSwitch of cn-hangzhou-h (10.0.112.0/20)",
  },
  {
    why: "the default control-plane range (the VPC's last /24) lies in a zone's vSwitch",
    config: { zones: ["cn-hangzhou-p"], network: { vswitchPrefixLength: 20 } },
    key: "network.controlPlaneCidr",
    says: "the VPC's last /24 (10.0.255.0/24)",
  },
  {
    why: "a control-plane range that would be ignored (control planes share the nodes' vSwitches)",
    config: { network: { controlPlaneVswitches: "shared", controlPlaneCidr: "10.0.250.0/24" } },
    key: "network.controlPlaneCidr",
    says: "would be ignored",
  },
  {
    why: "the control planes' range outside the VPC",
    config: { network: { controlPlaneCidr: "10.1.0.0/24" } },
    key: "network.controlPlaneCidr",
    says: "is not inside the VPC 10.0.0.0/16",
  },
  {
    why: "the control planes' range too small for the zone letters",
    config: { network: { controlPlaneCidr: "10.0.250.0/26" } },
    key: "network.controlPlaneCidr",
    says: "too few for cn-hangzhou-h",
  },
  {
    why: "adopted VPC without its CIDR",
    config: { network: { existingVpcId: "vpc-bp1abc" } },
    key: "network.vpcCidr",
    says: "must be set to the CIDR of the adopted VPC",
  },
  {
    why: "malformed VPC id",
    config: { network: { existingVpcId: "my-vpc", vpcCidr: "10.0.0.0/16" } },
    key: "network.existingVpcId",
    says: "VPC ids look like vpc-",
  },
  {
    why: "NAT off in a VPC created here (nodes would have no egress)",
    config: { network: { natGateway: { enabled: false } } },
    key: "network.natGateway.enabled",
    says: "nodes would have no egress",
  },
  {
    why: "restricted egress with nothing allowed (first boot downloads from the internet)",
    config: { network: { egress: { restricted: true } } },
    key: "network.egress.allowedCidrs",
    says: "first boot downloads packages and images from the internet",
  },
  {
    why: "egress list ignored",
    config: { network: { egress: { restricted: false, allowedCidrs: ["1.2.3.0/24"] } } },
    key: "network.egress.allowedCidrs",
    says: "would be ignored",
  },
  {
    why: "restricted egress that allows everything",
    config: { network: { egress: { restricted: true, allowedCidrs: ["0.0.0.0/0"] } } },
    key: "network.egress.allowedCidrs[0]",
    says: "restricts nothing",
  },
  {
    why: "pool min > max",
    config: { nodePools: [pool({ minSize: 5, maxSize: 2 })] },
    key: "nodePools[0].minSize",
    says: "minSize 5 is larger than maxSize 2",
  },
  {
    why: "desired outside [min, max]",
    config: { nodePools: [pool({ desiredCapacity: 9 })] },
    key: "nodePools[0].desiredCapacity",
    says: "outside [minSize 1, maxSize 3]",
  },
  {
    why: "an adopted instance id that is no ECS instance id",
    config: { nodePools: [pool({ adoptInstanceIds: ["i-BP1"] })] },
    key: "nodePools[0].adoptInstanceIds[0]",
    says: "an ECS instance id is i- and 8-30 lowercase letters or digits",
  },
  {
    why: "an instance adopted twice in one pool",
    config: { nodePools: [pool({ maxSize: 5, adoptInstanceIds: ["i-bp1aaaaaaaa", "i-bp1aaaaaaaa"] })] },
    key: "nodePools[0].adoptInstanceIds[1]",
    says: "listed twice (also at adoptInstanceIds[0])",
  },
  {
    why: "an instance adopted by two pools (ESS: an instance is in one scaling group)",
    config: {
      nodePools: [
        pool({ adoptInstanceIds: ["i-bp1aaaaaaaa"] }),
        pool({ name: "q", adoptInstanceIds: ["i-bp1aaaaaaaa"] }),
      ],
    },
    key: "nodePools[1].adoptInstanceIds[0]",
    says: "already adopted by nodePools[0] (p)",
  },
  {
    why: "adopted and launched nodes past maxSize (ESS AttachInstances refuses)",
    config: {
      nodePools: [pool({ desiredCapacity: 2, adoptInstanceIds: ["i-bp1aaaaaaaa", "i-bp1bbbbbbbb"] })],
    },
    key: "nodePools[0].adoptInstanceIds",
    says: "raise maxSize to at least 4",
  },
  {
    why: "duplicate pool names",
    config: { nodePools: [pool(), pool()] },
    key: "nodePools[1].name",
    says: 'pool name "p" is already used by nodePools[0]',
  },
  {
    why: "pool name not a DNS label",
    config: { nodePools: [pool({ name: "GPU_pool" })] },
    key: "nodePools[0].name",
    says: "is not a valid node pool name",
  },
  {
    why: "instance type malformed",
    config: { nodePools: [pool({ instanceTypes: ["g7.large"] })] },
    key: "nodePools[0].instanceTypes[0]",
    says: "is not an ECS instance type",
  },
  {
    why: "label the kubelet refuses",
    config: { nodePools: [pool({ labels: { "node-role.kubernetes.io/worker": "" } })] },
    key: "nodePools[0].labels.node-role.kubernetes.io/worker",
    says: "the kubelet may not set on itself",
  },
  {
    why: "taint with a bad effect",
    config: { nodePools: [pool({ taints: [{ key: "a", effect: "NoWay" }] })] },
    key: "nodePools[0].taints[0].effect",
    says: "NoSchedule",
  },
  {
    why: "no pools at all",
    config: { nodePools: [] },
    key: "nodePools",
    says: "list at least one node pool",
  },
  {
    why: "malformed version",
    config: { kubernetesVersion: "1.36" },
    key: "kubernetesVersion",
    says: "write MAJOR.MINOR.PATCH",
  },
  {
    why: "version before v1beta4",
    config: { kubernetesVersion: "1.30.4" },
    key: "kubernetesVersion",
    says: "older than 1.31",
  },
  {
    why: "version newer than known",
    config: { kubernetesVersion: "1.39.0" },
    key: "kubernetesVersion",
    says: "newer than 1.37",
  },
  {
    why: "pool newer than control plane",
    config: { kubernetesVersion: "1.35.2", nodePools: [pool({ kubernetesVersion: "1.36.5" })] },
    key: "nodePools[0].kubernetesVersion",
    says: "newer than the control plane",
  },
  {
    why: "pool too far behind",
    config: { kubernetesVersion: "1.36.5", nodePools: [pool({ kubernetesVersion: "1.32.1" })] },
    key: "nodePools[0].kubernetesVersion",
    says: "4 minors behind",
  },
  {
    why: "pod CIDR too small for the nodes",
    config: { network: { podCidr: "10.244.0.0/22" }, nodePools: [pool({ maxSize: 10 })] },
    key: "network.podCidr",
    says: "holds 4 node blocks of /24, but the cluster can grow to 11 nodes",
  },
  {
    why: "pod CIDR smaller than the Calico block",
    config: {
      network: { podCidr: "10.244.0.0/27" },
      nodePools: [pool({ maxSize: 1, minSize: 0 })],
      controlPlane: { count: 1 },
    },
    key: "network.podCidr",
    says: "must be /26 or larger",
  },
  {
    why: "Weave refused",
    config: { cni: { name: "weave" } },
    key: "cni.name",
    says: "Weave Net has been unmaintained since 2022",
  },
  {
    why: "add-on values given while it is off",
    config: { addons: { monitoring: { enabled: false, values: { grafana: { enabled: false } } } } },
    key: "addons.monitoring.values",
    says: "addons.monitoring.enabled is false, so it would be ignored",
  },
  {
    why: "Canal refused, with the alternative",
    config: { cni: { name: "canal" } },
    key: "cni.name",
    says: "Calico with VXLAN (the default) gives the same data path",
  },
  {
    why: "kube-router refused: the VPC drops its unencapsulated traffic",
    config: { cni: { name: "kube-router" } },
    key: "cni.name",
    says: "which the Alibaba Cloud VPC drops",
  },
  {
    why: "unknown CNI",
    config: { cni: { name: "antrea" } },
    key: "cni.name",
    says: "must be one of calico, cilium, flannel",
  },
  {
    why: "Calico mode the VPC drops",
    config: { cni: { name: "calico", encapsulation: "VXLANCrossSubnet" } },
    key: "cni.encapsulation",
    says: "does not work on Alibaba Cloud",
  },
  {
    why: "option of another CNI",
    config: { cni: { name: "flannel", encapsulation: "VXLAN" } },
    key: "cni",
    says: 'unknown key "encapsulation"',
  },
  {
    why: "public API with no allowed CIDRs",
    config: { apiEndpoint: { public: true } },
    key: "apiEndpoint.allowedCidrs",
    says: "the API is public but no CIDR may reach it",
  },
  {
    why: "prod API open to the world",
    config: { apiEndpoint: { public: true, allowedCidrs: ["0.0.0.0/0"] } },
    stack: "prod",
    key: "apiEndpoint.allowedCidrs[0]",
    says: "prod may not open the API to the whole internet",
  },
  {
    why: "SSH enabled without CIDRs",
    config: { ssh: { enabled: true, keyPairName: "ops" } },
    key: "ssh.allowedCidrs",
    says: "SSH is enabled but no CIDR may reach it",
  },
  {
    why: "SSH enabled without key pair",
    config: { ssh: { enabled: true, allowedCidrs: ["203.0.113.0/24"] } },
    key: "ssh.keyPairName",
    says: "no key pair is named",
  },
  {
    why: "SSH open to the world",
    config: { ssh: { enabled: true, keyPairName: "ops", allowedCidrs: ["0.0.0.0/0"] } },
    key: "ssh.allowedCidrs[0]",
    says: "may not be open to the whole internet",
  },
  {
    why: "SSH CIDRs while disabled",
    config: { ssh: { enabled: false, allowedCidrs: ["203.0.113.0/24"] } },
    key: "ssh.enabled",
    says: "would be ignored",
  },
  {
    why: "image of another OS",
    config: { controlPlane: { image: { os: "ubuntu-24.04", id: "aliyun_3_x64_20G_alibase_20250101.vhd" } } },
    key: "controlPlane.image.id",
    says: "is not a ubuntu-24.04 image",
  },
  {
    why: "performance level on a non-ESSD disk",
    config: {
      controlPlane: { systemDisk: { category: "cloud_efficiency", sizeGb: 80, performanceLevel: "PL0" } },
    },
    key: "controlPlane.systemDisk.performanceLevel",
    says: "only for cloud_essd",
  },
  {
    why: "reserved tag prefix",
    config: { tags: { "aliyun-team": "x" } },
    key: "tags.aliyun-team",
    says: 'may not start with "aliyun"',
  },
  {
    why: "tag our own prefix",
    config: { tags: { "kubeadm-alicloud.io/cluster": "x" } },
    key: "tags.kubeadm-alicloud.io/cluster",
    says: "which this project sets itself",
  },
  {
    why: "too many tags",
    config: { tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"])) },
    key: "tags",
    says: "at most 15",
  },
  {
    why: "unknown key algorithm",
    config: { pki: { keyAlgorithm: "ED25519" } },
    key: "pki.keyAlgorithm",
    says: "RSA-2048",
  },
  {
    why: "CA shorter than a year",
    config: { pki: { caValidityHours: 100 } },
    key: "pki.caValidityHours",
    says: "at least a year",
  },
  {
    why: "early renewal as long as the certificate",
    config: { pki: { adminValidityHours: 720, adminEarlyRenewalHours: 720 } },
    key: "pki.adminEarlyRenewalHours",
    says: "every pulumi up would renew",
  },
  {
    why: "admin outliving its CA",
    config: { pki: { caValidityHours: 8760, adminValidityHours: 8760 } },
    key: "pki.adminValidityHours",
    says: "would outlive its CA",
  },
  {
    why: "API DNS name not qualified",
    config: { apiEndpoint: { public: false, allowedCidrs: [], dnsName: "api" } },
    key: "apiEndpoint.dnsName",
    says: "fully qualified DNS name",
  },
  {
    why: "encryption at rest off without a reason",
    config: { apiServer: { encryptionAtRest: { enabled: false } } },
    key: "apiServer.encryptionAtRest.reason",
    says: "turning off encryption at rest needs a reason",
  },
  {
    why: "audit off with a throwaway reason",
    config: { apiServer: { audit: { enabled: false, reason: "no" } } },
    key: "apiServer.audit.reason",
    says: "turning off the audit log needs a reason",
  },
  {
    why: "health-only anonymous access on a minor that cannot do it",
    config: { kubernetesVersion: "1.31.9" },
    key: "apiServer.anonymousHealthOnly.enabled",
    says: "needs Kubernetes 1.32 or newer",
  },
  {
    why: "cluster name not a DNS label",
    config: { clusterName: "My_Cluster" },
    key: "clusterName",
    says: "is not a valid cluster name",
  },
  {
    why: "a backup bucket named while backups are off (it would be ignored)",
    config: { etcdBackup: { enabled: false, bucketName: "my-etcd-backups" } },
    key: "etcdBackup.bucketName",
    says: "is set but etcdBackup.enabled is false",
  },
  // OOS refuses template names starting with ALIYUN, ACS, ALIBABA or ALICLOUD (OOS
  // CreateTemplate, TemplateName); the scale-in drain's template is <clusterName>-scale-in-drain.
  {
    why: "cluster name OOS refuses as the start of a template name",
    config: { clusterName: "acs-prod" },
    key: "clusterName",
    says: "cannot start with acs, aliyun, alibaba or alicloud",
  },
  // kubelet 1.35+ refuses cgroup v1 (KEP-5573); the standard Alibaba Cloud Linux 3 image boots it (ACK
  // "Migrate nodes to cgroup v2").
  {
    why: "control planes on the cgroup v1 public Alibaba Cloud Linux 3 image",
    config: { controlPlane: { image: { os: "alinux3" } } },
    key: "controlPlane.image.os",
    says: "boots cgroup v1, which the kubelet of Kubernetes 1.36.5 refuses; use os: ubuntu-24.04",
  },
  {
    why: "a pool on the cgroup v1 public image",
    config: {
      nodePools: [
        {
          name: "general",
          instanceTypes: ["ecs.g7.large"],
          minSize: 1,
          maxSize: 3,
          image: { os: "alinux3" },
        },
      ],
    },
    key: "nodePools[0].image.os",
    says: "boots cgroup v1",
  },
  {
    why: "token renewal window leaving no time between renewals",
    config: { pki: { bootstrapTokenTtlHours: 48, bootstrapTokenRenewBeforeHours: 40 } },
    key: "pki.bootstrapTokenRenewBeforeHours",
    says: "leaves less than 24 hours",
  },
  // Limits the provider or the API enforces (issue 11, item 3); each cites its source in config/limits.ts,
  // config/regions.ts, config/plain-secrets.ts.
  {
    why: "ESS group larger than 2000 instances",
    config: { nodePools: [pool({ maxSize: 2001 })] },
    key: "nodePools[0].maxSize",
    says: "a scaling group holds at most 2000 instances",
  },
  {
    why: "negative pool size says what to do",
    config: { nodePools: [pool({ minSize: -1 })] },
    key: "nodePools[0].minSize",
    says: "use 0 or more",
  },
  {
    why: "fractional pool size",
    config: { nodePools: [pool({ maxSize: 2.5 })] },
    key: "nodePools[0].maxSize",
    says: "must be a whole number",
  },
  {
    why: "pool disk category the launch template refuses",
    config: { nodePools: [pool({ systemDisk: { category: "cloud_auto", sizeGb: 40 } })] },
    key: "nodePools[0].systemDisk.category",
    says: "the launch template accepts only cloud_essd, cloud_efficiency, cloud_ssd",
  },
  {
    why: "pool inheriting a category the launch template refuses",
    config: {
      controlPlane: {
        instanceType: "ecs.e-c1m2.large",
        systemDisk: { category: "cloud_essd_entry", sizeGb: 40 },
      },
    },
    key: "nodePools[0].systemDisk",
    says: "inherits controlPlane.systemDisk (cloud_essd_entry)",
  },
  {
    why: "ESSD Entry on a family that cannot use it",
    config: {
      controlPlane: { systemDisk: { category: "cloud_essd_entry", sizeGb: 40 } },
      nodePools: [pool({ systemDisk: { category: "cloud_essd", sizeGb: 40 } })],
    },
    key: "controlPlane.systemDisk.category",
    says: "attach only to the u1 and e instance families",
  },
  {
    why: "PL2 below its minimum size",
    config: {
      controlPlane: { systemDisk: { category: "cloud_essd", sizeGb: 460, performanceLevel: "PL2" } },
    },
    key: "controlPlane.systemDisk.sizeGb",
    says: "PL2 needs at least 461 GiB",
  },
  {
    why: "PL3 below its minimum size",
    config: {
      nodePools: [pool({ systemDisk: { category: "cloud_essd", sizeGb: 1260, performanceLevel: "PL3" } })],
    },
    key: "nodePools[0].systemDisk.sizeGb",
    says: "PL3 needs at least 1261 GiB",
  },
  {
    why: "unknown performance level, with the valid ones",
    config: { controlPlane: { systemDisk: { category: "cloud_essd", sizeGb: 80, performanceLevel: "PL4" } } },
    key: "controlPlane.systemDisk.performanceLevel",
    says: "use one of PL0, PL1, PL2, PL3",
  },
  {
    why: "mistyped enum value, with the nearest",
    config: { controlPlane: { image: { os: "ubuntu-24.4" } } },
    key: "controlPlane.image.os",
    says: 'did you mean "ubuntu-24.04"?',
  },
  {
    why: "system disk below the smallest size says what to do",
    config: { controlPlane: { systemDisk: { category: "cloud_essd", sizeGb: 10 } } },
    key: "controlPlane.systemDisk.sizeGb",
    says: "use 20 or more",
  },
  {
    why: "EIP billed by traffic above 200 Mbit/s",
    config: { network: { natGateway: { enabled: true, eipBandwidthMbps: 201 } } },
    key: "network.natGateway.eipBandwidthMbps",
    says: "allows 1-200 Mbit/s",
  },
  {
    why: "control plane with one vCPU (kubeadm preflight)",
    config: { controlPlane: { instanceType: "ecs.t5-lc1m1.small" } },
    key: "controlPlane.instanceType",
    says: "kubeadm's preflight needs at least 2 vCPUs",
  },
  {
    why: "control plane with too little memory (kubeadm preflight)",
    config: { controlPlane: { instanceType: "ecs.t6-c4m1.large" } },
    key: "controlPlane.instanceType",
    says: "0.5 GiB of memory; kubeadm's preflight needs 1700 MB",
  },
  {
    why: "count given as text",
    config: { controlPlane: { count: "3" } },
    key: "controlPlane.count",
    says: 'got the text "3": write it without quotes',
  },
  {
    why: "mistyped region, with the nearest",
    config: { region: "cn-hangzou", zones: ["cn-hangzou-h"] },
    key: "region",
    says: 'did you mean "cn-hangzhou"?',
  },
  {
    why: "well-formed region the provider does not know",
    config: { region: "eu-north-1", zones: ["eu-north-1a"] },
    key: "region",
    says: "is not a region the alicloud provider accepts",
  },
  {
    why: "provider secret key in plain stack config",
    config: {},
    plainForeignConfig: { "alicloud:secretKey": "x" },
    key: "alicloud:secretKey",
    says: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  },
  {
    why: "provider access key in plain stack config",
    config: {},
    plainForeignConfig: { "alicloud:accessKey": "LTAI5tAbCdEfGhIjKlMnOpQr" },
    key: "alicloud:accessKey",
    says: "pulumi config rm alicloud:accessKey",
  },
  {
    why: "STS token in plain stack config",
    config: {},
    plainForeignConfig: { "alicloud:securityToken": "CAIS" },
    key: "alicloud:securityToken",
    says: "is in plain text",
  },
  {
    why: "AccessKey secret pasted into another namespace",
    config: {},
    plainForeignConfig: { "aws:note": "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy" },
    key: "aws:note",
    says: "looks like an Alibaba Cloud AccessKey secret",
  },
  {
    why: "AccessKey secret in a project value",
    config: { tags: { team: "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy" } },
    key: "tags.team",
    says: "pulumi config set --secret --path 'tags.team'",
  },
  {
    why: "private key in add-on values",
    config: {
      addons: {
        monitoring: {
          enabled: true,
          values: { tls: { key: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----" } },
        },
      },
    },
    key: "addons.monitoring.values.tls.key",
    says: "looks like a private key",
  },
  {
    why: "stack name that makes no cluster name",
    config: { environment: "dev" },
    stack: "team_a.dev",
    key: "clusterName",
    says: "derived from the stack name: set kubeadm-alicloud:clusterName",
  },
  {
    why: "upgrade waves must start with a canary of one node",
    config: { upgrade: { waves: [5, 10] } },
    key: "upgrade.waves[0]",
    says: "the first wave is the canary and holds one node (got 5)",
  },
  {
    why: "upgrade waves only grow",
    config: { upgrade: { waves: [1, 10, 5] } },
    key: "upgrade.waves[2]",
    says: "5 is smaller than the wave before it (10)",
  },
  {
    why: "a wave share of 0 would never replace a node",
    config: { upgrade: { maxWaveShare: 0 } },
    key: "upgrade.maxWaveShare",
    says: "must be more than 0",
  },
  {
    why: "a pool's upgrade strategy is replace or in-place",
    config: { nodePools: [pool({ upgradeStrategy: "blue-green" })] },
    key: "nodePools[0].upgradeStrategy",
    says: "replace",
  },
];

describe("stack config: every rejected case names its key and says what is wrong", () => {
  it.each(REJECTED)("$why", ({ config, stack, providerRegion, plainForeignConfig, key, says }) => {
    const problems = problemsOf({ ...BASE_CONFIG, ...config }, stack ?? "dev", {
      providerRegion,
      plainForeignConfig,
    });
    const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
    const forKey = problems.filter((p) => p.startsWith(`${fullKey}: `));
    expect(forKey, `problems were:\n${problems.join("\n")}`).not.toHaveLength(0);
    expect(
      forKey.some((p) => p.includes(says)),
      `problems were:\n${problems.join("\n")}`,
    ).toBe(true);
  });
});

describe("stack config: all problems at once", () => {
  it("reports mistakes in different sections together, before any resource exists", () => {
    const problems = problemsOf({
      ...BASE_CONFIG,
      zones: ["cn-hangzhou-h", "cn-hangzhou-h"],
      controlPlane: { count: 4 },
      network: { vpcCird: "x", serviceCidr: "10.244.0.0/16" },
      nodePools: [pool({ minSize: 4 })],
      apiEndpoint: { public: true },
      cni: { name: "weave" },
    });
    const keys = problems.map((p) => p.split(": ")[0]);
    expect(keys).toEqual(
      expect.arrayContaining([
        `${PROJECT}:zones[1]`,
        `${PROJECT}:controlPlane.count`,
        `${PROJECT}:network`,
        `${PROJECT}:nodePools[0].minSize`,
        `${PROJECT}:apiEndpoint.allowedCidrs`,
        `${PROJECT}:cni.name`,
      ]),
    );
  });

  it("still checks a section after reporting an unknown key in it", () => {
    // The typo is reported, and the overlap in the same section is not hidden by it.
    const problems = problemsOf({ ...BASE_CONFIG, network: { vpcCird: "x", peerCidrs: ["10.0.1.0/24"] } });
    expect(problems.some((p) => p.includes('did you mean "vpcCidr"'))).toBe(true);
    expect(
      problems.some(
        (p) => p.startsWith(`${PROJECT}:network.peerCidrs[0]`) && p.includes("overlaps network.vpcCidr"),
      ),
    ).toBe(true);
  });

  it("reports a value of the wrong type once, not once per check on its content", () => {
    const problems = problemsOf({ ...BASE_CONFIG, zones: "cn-hangzhou-h" });
    expect(problems).toEqual([
      `${PROJECT}:zones: expected a list, got the text "cn-hangzhou-h": write it as a YAML list (one "- item" per line)`,
    ]);
  });

  it("formats the error with the stack, the count and one line per problem", () => {
    expect(() =>
      validateStackConfig(
        { ...BASE_CONFIG, controlPlane: { count: 2 }, zones: ["x"] },
        { project: PROJECT, stack: "dev" },
      ),
    ).toThrowError(
      /stack "dev" has 2 configuration problems; nothing was created:\n {2}- kubeadm-alicloud:zones\[0\]: .*\n {2}- kubeadm-alicloud:controlPlane.count: [^\n]*$/,
    );
  });
});

describe("stack config: accepted configurations resolve to a complete spec", () => {
  it("dev is small: one control plane, one pool; its control plane is protected from deletion too", () => {
    const spec = specFor({}, "dev");
    expect(spec.environment).toBe("dev");
    expect(spec.controlPlane.count).toBe(1);
    expect(spec.controlPlane.deletionProtection).toBe(true);
    expect(
      specFor({ controlPlane: { deletionProtection: false } }, "dev").controlPlane.deletionProtection,
    ).toBe(false);
    expect(spec.nodePools.map((p) => [p.name, p.minSize, p.desiredCapacity, p.maxSize])).toEqual([
      ["default", 1, 1, 3],
    ]);
  });

  it("prod is highly available and protected", () => {
    const spec = specFor({}, "prod");
    expect(spec.controlPlane.count).toBe(3);
    expect(spec.controlPlane.deletionProtection).toBe(true);
    expect(spec.zones.length).toBeGreaterThanOrEqual(2);
  });

  it("a stack of another name takes its defaults from environment", () => {
    const spec = specFor({ environment: "prod" }, "eu-prod");
    expect(spec.environment).toBe("prod");
    expect(spec.clusterName).toBe("eu-prod");
    expect(spec.controlPlane.count).toBe(3);
  });

  it("carves one vSwitch per zone from the VPC, the zone's letter choosing the slot (h the 8th)", () => {
    const spec = specFor({ network: { vpcCidr: "172.20.0.0/16", vswitchPrefixLength: 22 } });
    expect(spec.network.vswitches).toEqual([
      { zone: "cn-hangzhou-h", cidr: "172.20.28.0/22" },
      { zone: "cn-hangzhou-i", cidr: "172.20.32.0/22" },
      { zone: "cn-hangzhou-j", cidr: "172.20.36.0/22" },
    ]);
  });

  it("keeps explicit vSwitch CIDRs, ordered by zones", () => {
    const spec = specFor({
      network: {
        vswitches: {
          "cn-hangzhou-j": "10.0.64.0/20",
          "cn-hangzhou-h": "10.0.0.0/20",
          "cn-hangzhou-i": "10.0.32.0/20",
        },
      },
    });
    expect(spec.network.vswitches.map((v) => v.cidr)).toEqual([
      "10.0.0.0/20",
      "10.0.32.0/20",
      "10.0.64.0/20",
    ]);
  });

  it("accepts v-prefixed versions and normalises them; pools inherit the cluster version", () => {
    const spec = specFor({ kubernetesVersion: "v1.35.2" });
    expect(spec.kubernetesVersion).toBe("1.35.2");
    expect(spec.nodePools[0]?.kubernetesVersion).toBe("1.35.2");
  });

  it("takes Alibaba Cloud Linux 3 where the kubelet still allows cgroup v1, or where the image is pinned (the bootstrap checks the host)", () => {
    expect(
      specFor({
        kubernetesVersion: "1.34.4",
        apiServer: { anonymousHealthOnly: { enabled: true } },
        controlPlane: { image: { os: "alinux3" } },
      }).controlPlane.image.os,
    ).toBe("alinux3");
    expect(
      specFor({ controlPlane: { image: { os: "alinux3", id: "m-bp1containeroptimized" } } }).controlPlane
        .image.id,
    ).toBe("m-bp1containeroptimized");
    expect(specFor({}).controlPlane.image).toEqual({ os: "ubuntu-24.04" });
  });

  it("lets a pool lag the control plane by up to three minors", () => {
    const spec = specFor({ kubernetesVersion: "1.36.5", nodePools: [pool({ kubernetesVersion: "1.33.4" })] });
    expect(spec.nodePools[0]?.kubernetesVersion).toBe("1.33.4");
  });

  it("Cilium's kube-proxy replacement turns kube-proxy off", () => {
    expect(specFor({ kubernetesVersion: "1.35.2", cni: { name: "cilium" } }).kubeProxy).toBe(false);
    expect(
      specFor({ kubernetesVersion: "1.35.2", cni: { name: "cilium", kubeProxyReplacement: false } })
        .kubeProxy,
    ).toBe(true);
    expect(specFor({ cni: { name: "flannel" } }).kubeProxy).toBe(true);
  });

  it("PKI defaults follow kubeadm: RSA-2048, CAs 10 years, admin 1 year; the API name derives from the cluster", () => {
    const spec = specFor({ clusterName: "blue" });
    expect(spec.pki).toMatchObject({
      keyAlgorithm: "RSA-2048",
      caValidityHours: 87600,
      adminValidityHours: 8760,
      breakGlass: false,
    });
    expect(spec.apiEndpoint.dnsName).toBe("api.blue.k8s.internal");
  });

  it("adds the cluster and stack tags to the user's", () => {
    expect(specFor({ tags: { team: "platform" } }).tags).toEqual({
      team: "platform",
      "kubeadm-alicloud.io/cluster": "dev",
      "kubeadm-alicloud.io/stack": "kubeadm-alicloud/dev",
      "kubeadm-alicloud.io/environment": "dev",
    });
  });
});
