// kubeadm configuration for each node role, v1beta4 only (fields as in the upstream
// types: cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go). Values known only on the node
// at boot are placeholders the bootstrap script substitutes (see NODE_PLACEHOLDERS).
import { stringify } from "yaml";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";
import { apiServerHardening } from "./hardening";
import type { KeyAlgorithm } from "./pki";

export const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";
export const API_PORT = 6443;

/** Filled in by the bootstrap script on the node (from the metadata service and root-only files). */
export const NODE_PLACEHOLDERS = {
  nodeName: "__NODE_NAME__",
  nodeIp: "__NODE_IP__",
  providerId: "__PROVIDER_ID__",
  token: "__BOOTSTRAP_TOKEN__",
} as const;

export type NodeRole = "init" | "control-plane" | "worker";

/** What planning knows only once the cloud resources exist. */
export interface ClusterFacts {
  /** Private address of the API load balancer: in the API certificate, and where workers send API traffic. */
  readonly loadBalancerAddress: string;
  /** Internet address of the API load balancer when the API is public: also in the certificate. */
  readonly publicLoadBalancerAddress?: string;
  /** `sha256:<hex>` of the cluster CA (ClusterPki.discoveryHash). */
  readonly discoveryHash: string;
  readonly encryptionAlgorithm: KeyAlgorithm;
}

/** kubeadm extraArgs and kubeletExtraArgs are lists of {name, value} in v1beta4. */
type Args = { name: string; value: string }[];

function kubeletArgs(labels: Readonly<Record<string, string>>): Args {
  const args: Args = [
    { name: "cloud-provider", value: "external" },
    { name: "provider-id", value: NODE_PLACEHOLDERS.providerId },
    { name: "node-ip", value: NODE_PLACEHOLDERS.nodeIp },
  ];
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length > 0)
    args.push({ name: "node-labels", value: entries.map(([k, v]) => `${k}=${v}`).join(",") });
  return args;
}

function nodeRegistration(labels: Readonly<Record<string, string>>, taints?: NodePoolSpec["taints"]) {
  return {
    name: NODE_PLACEHOLDERS.nodeName,
    criSocket: CRI_SOCKET,
    kubeletExtraArgs: kubeletArgs(labels),
    // Omitted: kubeadm applies the control-plane taint. A list (even empty): exactly these.
    ...(taints !== undefined
      ? {
          taints: taints.map((t) => ({
            key: t.key,
            ...(t.value !== undefined ? { value: t.value } : {}),
            effect: t.effect,
          })),
        }
      : {}),
    imagePullPolicy: "IfNotPresent",
  };
}

const endpoint = (spec: ClusterSpec) => `${spec.apiEndpoint.dnsName}:${API_PORT}`;

/**
 * The ClusterConfiguration `kubeadm init` runs with, and the one a settings change puts in the
 * cluster's kubeadm-config (plan/control-plane-settings.ts) with the version it finds there.
 */
export function clusterConfiguration(
  spec: ClusterSpec,
  facts: ClusterFacts,
  imageRepository: string,
  kubernetesVersion = `v${spec.kubernetesVersion}`,
) {
  const hardening = apiServerHardening(spec);
  return {
    apiVersion: KUBEADM_API,
    kind: "ClusterConfiguration",
    clusterName: spec.clusterName,
    kubernetesVersion,
    controlPlaneEndpoint: endpoint(spec),
    imageRepository,
    encryptionAlgorithm: facts.encryptionAlgorithm,
    certificatesDir: "/etc/kubernetes/pki",
    networking: {
      podSubnet: spec.network.podCidr,
      serviceSubnet: spec.network.serviceCidr,
      dnsDomain: spec.network.dnsDomain,
    },
    apiServer: {
      // The endpoint name resolves to the node itself on control planes and to the
      // load balancer elsewhere: both must be in the serving certificate.
      certSANs: [
        spec.apiEndpoint.dnsName,
        facts.loadBalancerAddress,
        ...(facts.publicLoadBalancerAddress ? [facts.publicLoadBalancerAddress] : []),
      ],
      extraArgs: [{ name: "profiling", value: "false" }, ...hardening.extraArgs],
      ...(hardening.extraVolumes.length > 0 ? { extraVolumes: hardening.extraVolumes } : {}),
    },
    controllerManager: {
      extraArgs: [
        { name: "cloud-provider", value: "external" },
        { name: "profiling", value: "false" },
      ],
    },
    scheduler: { extraArgs: [{ name: "profiling", value: "false" }] },
    etcd: { local: { dataDir: "/var/lib/etcd" } },
  };
}

/**
 * The kubelets' configuration: kubeadm init uploads it to kube-system/kubelet-config, every
 * joining node downloads it from there; running ones take a change through the control
 * planes' settings change (plan/control-plane-settings.ts) and, for pool nodes, replacement
 * (its digest is in each node's settings: plan/node-bootstrap.ts renderNodeEnv).
 */
export function kubeletConfiguration() {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    // Serving certificates signed by the cluster CA (through CSRs), not self-signed.
    serverTLSBootstrap: true,
    rotateCertificates: true,
    readOnlyPort: 0,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true } },
    authorization: { mode: "Webhook" },
  };
}

function kubeProxyConfiguration() {
  return { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", mode: "iptables" };
}

const TIMEOUTS = {
  controlPlaneComponentHealthCheck: "4m0s",
  kubeletHealthCheck: "4m0s",
  discovery: "5m0s",
  tlsBootstrap: "5m0s",
};

export interface RenderKubeadmArgs {
  readonly spec: ClusterSpec;
  readonly facts: ClusterFacts;
  readonly role: NodeRole;
  /** For a worker: its pool. */
  readonly pool?: NodePoolSpec;
  readonly imageRepository: string;
  /**
   * For init: the control planes' join token, which kubeadm installs so that the next
   * control planes can join before Pulumi manages the token's Secret in the cluster
   * (components/bootstrap-tokens.ts). Its value is substituted on the node.
   */
  readonly initToken?: { readonly ttl: string; readonly groups: readonly string[] };
}

/** The multi-document kubeadm configuration a node of `role` runs with. */
export function renderKubeadmConfig(a: RenderKubeadmArgs): string {
  const { spec, facts, role } = a;
  const docs: object[] = [];
  if (role === "init") {
    if (!a.initToken) throw new Error("kubeadm init needs the control planes' join token");
    docs.push({
      apiVersion: KUBEADM_API,
      kind: "InitConfiguration",
      // Exactly one token: with none, kubeadm's defaults would add a random 24 h token
      // (v1beta4 defaults.go SetDefaults_BootstrapTokens).
      bootstrapTokens: [
        {
          token: NODE_PLACEHOLDERS.token,
          description: "kubeadm-alicloud control-plane join token",
          ttl: a.initToken.ttl,
          usages: ["signing", "authentication"],
          groups: [...a.initToken.groups],
        },
      ],
      nodeRegistration: nodeRegistration({}),
      localAPIEndpoint: { advertiseAddress: NODE_PLACEHOLDERS.nodeIp, bindPort: API_PORT },
      ...(spec.kubeProxy ? {} : { skipPhases: ["addon/kube-proxy"] }),
      timeouts: TIMEOUTS,
    });
    docs.push(clusterConfiguration(spec, facts, a.imageRepository));
  } else {
    if (role === "worker" && !a.pool) throw new Error("a worker's kubeadm config needs its pool");
    docs.push({
      apiVersion: KUBEADM_API,
      kind: "JoinConfiguration",
      discovery: {
        bootstrapToken: {
          token: NODE_PLACEHOLDERS.token,
          apiServerEndpoint: endpoint(spec),
          caCertHashes: [facts.discoveryHash],
        },
      },
      nodeRegistration:
        role === "worker" && a.pool ? nodeRegistration(a.pool.labels, a.pool.taints) : nodeRegistration({}),
      ...(role === "control-plane"
        ? {
            controlPlane: {
              localAPIEndpoint: { advertiseAddress: NODE_PLACEHOLDERS.nodeIp, bindPort: API_PORT },
            },
          }
        : {}),
      timeouts: TIMEOUTS,
    });
  }
  // Cluster-wide component configs go with init only: a joining node downloads them
  // from the cluster (kubeadm ignores them in a join file).
  if (role === "init") {
    docs.push(kubeletConfiguration());
    if (spec.kubeProxy) docs.push(kubeProxyConfiguration());
  }
  return docs.map((d) => stringify(d)).join("---\n");
}
