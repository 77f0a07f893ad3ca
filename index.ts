// The Pulumi program: one validated stack config -> one cluster.
import * as alicloud from "@pulumi/alicloud";
import { KubeadmCluster } from "./components/cluster";
import { loadClusterSpec } from "./config/load";
import { resourceName } from "./plan/naming";

// Validation runs first and throws (listing every problem) before anything is declared.
const spec = loadClusterSpec();

// An explicit provider pins every resource to the configured region. Credentials come
// from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET,
// or a profile), never from stack config.
const provider = new alicloud.Provider(resourceName(spec.clusterName, "alicloud"), { region: spec.region });

const cluster = new KubeadmCluster(spec.clusterName, { spec }, { providers: { alicloud: provider } });

export const clusterName = spec.clusterName;
export const region = spec.region;
export const kubernetesVersion = spec.kubernetesVersion;
export const vpcId = cluster.network.vpcId;
export const vswitchIds = cluster.network.vswitchIds;
export const egressIp = cluster.network.egressIp;
export const controlPlaneSecurityGroupId = cluster.securityGroups.controlPlaneGroupId;
export const workersSecurityGroupId = cluster.securityGroups.workersGroupId;
export const apiEndpoint = spec.apiEndpoint.dnsName;
export const caCertPem = cluster.pki.cas.cluster.certPem;
export const discoveryHash = cluster.pki.discoveryHash;
export const caExpiresAt = cluster.pki.cas.cluster.expiresAt;
export const adminCertificateExpiresAt = cluster.pki.admin.expiresAt;
/**
 * When the bootstrap tokens in OOS and in the cluster expire; a pulumi up from `bootstrapTokensRenewFrom` on
 * renews them.
 */
export const bootstrapTokensExpireAt = cluster.pki.tokenRenewal.expiresAt;
export const bootstrapTokensRenewFrom = cluster.pki.tokenRenewal.renewFrom;
/** Secret: `pulumi stack output --show-secrets kubeconfig > admin.conf`. */
export const kubeconfig = cluster.pki.admin.kubeconfig;
export const apiPrivateAddress = cluster.apiLoadBalancer.privateAddress;
export const apiPublicAddress = cluster.apiLoadBalancer.publicAddress;
export const controlPlaneIps = cluster.controlPlane.privateIps;
/** Resolves once every control plane serves the API: anything that talks to the API waits on it. */
export const controlPlaneReady = cluster.controlPlane.ready;
/**
 * The version the staged rollout last finished at, every control plane's gate passed
 * (components/rollout/resources.ts): what the upgrade workflow promotes from.
 */
export const confirmedKubernetesVersion = cluster.confirmedVersion;
export const nodePoolScalingGroupIds = Object.fromEntries(
  Object.entries(cluster.nodePools).map(([name, pool]) => [name, pool.scalingGroupId]),
);
