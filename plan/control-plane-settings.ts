// A settings change on running control planes, one at a time (issue 14: "the same rollout
// carries every other change to running machines: ... kubelet and kubeadm settings").
// kubeadm reconfigures nothing by itself: its documented way (kubernetes/website
// content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure.md) is to edit
// ClusterConfiguration in the kube-system/kubeadm-config ConfigMap (data key
// ClusterConfiguration, which `kubeadm join --control-plane` and `kubeadm upgrade` read), then
// on each control plane regenerate the static pod manifests with `kubeadm init phase
// control-plane <component> --config`, and, for new certificate names, the API server's
// certificate with `kubeadm init phase certs apiserver --config` after moving the old one away.
// The kubelets' configuration likewise: kube-system/kubelet-config, then `kubeadm upgrade node
// phase kubelet-config` and a kubelet restart on each node.
// bootstrap/reconfigure-control-plane.sh does that under the control planes' Lease; this module
// renders what it reads. Pure: no resource is declared.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ClusterSpec } from "../config/spec";
import { CONTROL_PLANE_LIB, LEASE_STALE_SECONDS, type NodeFile } from "./cert-renewal";
import {
  AUDIT_POLICY_FILE,
  AUTH_CONFIG_FILE,
  AUTH_CONFIG_V1_MIN_MINOR,
  renderAuditPolicy,
  renderAuthenticationConfig,
} from "./hardening";
import {
  API_PORT,
  CRI_SOCKET,
  KUBEADM_API,
  NODE_PLACEHOLDERS,
  clusterConfiguration,
  kubeletConfiguration,
  type ClusterFacts,
} from "./kubeadm";
import { renderFileInstaller } from "./node-commands";
import { settingsFile } from "./systemd-units";

export const RECONFIGURE_SCRIPT_PATH = join(__dirname, "..", "bootstrap", "reconfigure-control-plane.sh");
export const RECONFIGURE_SCRIPT = readFileSync(RECONFIGURE_SCRIPT_PATH, "utf8");

/** Substituted on the node with the version kubeadm-config holds, or this node's static pods run. */
export const VERSION_PLACEHOLDER = "__KUBERNETES_VERSION__";

const DIR = "/etc/kubeadm-alicloud/control-plane-settings";
/** Where a settings change's files land on a control plane. */
export const SETTINGS_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-reconfigure",
  env: `${DIR}/settings.env`,
  clusterConfiguration: `${DIR}/cluster-configuration.yaml`,
  initConfiguration: `${DIR}/init-configuration.yaml`,
  kubeletConfiguration: `${DIR}/kubelet-configuration.yaml`,
  certSans: `${DIR}/cert-sans`,
  digest: `${DIR}/settings.sha256`,
  auditPolicy: `${DIR}/audit-policy.yaml`,
  authV1: `${DIR}/authentication-config-v1.yaml`,
  authV1beta1: `${DIR}/authentication-config-v1beta1.yaml`,
  /** The digest last applied on this node; the run is a no-op while it equals the new one. */
  applied: "/var/lib/kubeadm-alicloud/control-plane-settings.sha256",
  log: "/var/log/kubeadm-alicloud/reconfigure.log",
} as const;

// Every wait of the script, in seconds: it reads them from the settings file rendered below.
/** The local API to answer before anything starts, and a restarted component to be healthy. */
export const COMPONENT_READY_SECONDS = 300;
/** Another control plane's renewal or settings change to finish (the Lease). */
export const LOCK_WAIT_SECONDS = 600;
/** A static pod's old container to go and a new one to run after its manifest changed. */
export const STATIC_POD_WAIT_SECONDS = 120;
/** One kubeadm phase. */
export const KUBEADM_SECONDS = 300;
export const POLL_SECONDS = 5;
/** kube-apiserver, kube-controller-manager, kube-scheduler: the components the phase rewrites. */
const COMPONENTS = 3;

/**
 * Every bounded wait of one run in a row, plus slack for kubectl calls: the local API, the
 * Lease, two kubeadm phases, each component restarted and healthy, one put back (the run ends
 * there), the API server restarted for a new certificate, then the kubelet's configuration.
 */
export const RECONFIGURE_SECONDS =
  COMPONENT_READY_SECONDS +
  LOCK_WAIT_SECONDS +
  2 * KUBEADM_SECONDS +
  COMPONENTS * (STATIC_POD_WAIT_SECONDS + COMPONENT_READY_SECONDS) +
  COMPONENT_READY_SECONDS +
  (2 * STATIC_POD_WAIT_SECONDS + COMPONENT_READY_SECONDS) +
  // The kubelet: two kubeadm phases, its restart and, when it is not healthy, the put-back.
  2 * KUBEADM_SECONDS +
  2 * COMPONENT_READY_SECONDS +
  300;

/** Cloud Assistant's Timeout: the script's waits, then two minutes for the files and the agent. */
export const RECONFIGURE_COMMAND_SECONDS = RECONFIGURE_SECONDS + 120;

/** What the settings change puts on a control plane; `digest` names them all. */
export interface ControlPlaneSettings {
  readonly files: readonly NodeFile[];
  readonly digest: string;
}

/** The API server certificate's extra names: kubeadm adds its own (node name, addresses, Service IP). */
export function certSans(spec: ClusterSpec, facts: ClusterFacts): string[] {
  return clusterConfiguration(spec, facts, spec.nodeSoftware.imageRepository).apiServer.certSANs;
}

export function renderControlPlaneSettings(spec: ClusterSpec, facts: ClusterFacts): ControlPlaneSettings {
  const repository = spec.nodeSoftware.imageRepository;
  const cluster = stringify(clusterConfiguration(spec, facts, repository, VERSION_PLACEHOLDER));
  // This node's half: the name and address kubeadm put in its manifest and certificate.
  const init = stringify({
    apiVersion: KUBEADM_API,
    kind: "InitConfiguration",
    nodeRegistration: { name: NODE_PLACEHOLDERS.nodeName, criSocket: CRI_SOCKET },
    localAPIEndpoint: { advertiseAddress: NODE_PLACEHOLDERS.nodeIp, bindPort: API_PORT },
  });
  const h = spec.apiServer;
  const files: NodeFile[] = [
    { path: SETTINGS_PATHS.clusterConfiguration, content: cluster, permissions: "0600" },
    { path: SETTINGS_PATHS.initConfiguration, content: init, permissions: "0600" },
    {
      path: SETTINGS_PATHS.kubeletConfiguration,
      content: stringify(kubeletConfiguration()),
      permissions: "0644",
    },
    { path: SETTINGS_PATHS.certSans, content: `${certSans(spec, facts).join("\n")}\n`, permissions: "0644" },
    ...(h.audit.enabled
      ? [{ path: SETTINGS_PATHS.auditPolicy, content: renderAuditPolicy(), permissions: "0644" }]
      : []),
    // Both forms: the node picks by the minor its API server runs (an upgrade may be under way).
    ...(h.anonymousHealthOnly.enabled
      ? [
          {
            path: SETTINGS_PATHS.authV1,
            content: renderAuthenticationConfig(AUTH_CONFIG_V1_MIN_MINOR),
            permissions: "0644",
          },
          {
            path: SETTINGS_PATHS.authV1beta1,
            content: renderAuthenticationConfig(AUTH_CONFIG_V1_MIN_MINOR - 1),
            permissions: "0644",
          },
        ]
      : []),
  ];
  const digest = createHash("sha256")
    .update(JSON.stringify([files, CONTROL_PLANE_LIB, RECONFIGURE_SCRIPT]))
    .digest("hex");
  return { files, digest };
}

/** The settings file the script sources: waits, and where the hardening files go. */
export function renderReconfigureEnv(): string {
  return settingsFile({
    COMPONENT_READY_SECONDS,
    LOCK_WAIT_SECONDS,
    // The renewal's: both take the same Lease, and a run of either ends well before it goes stale.
    LEASE_STALE_SECONDS,
    STATIC_POD_WAIT_SECONDS,
    KUBEADM_SECONDS,
    POLL_SECONDS,
    AUTH_CONFIG_V1_MIN_MINOR,
    // Where the hardening files go: the paths the regenerated manifest mounts and names.
    AUDIT_POLICY_FILE,
    AUTH_CONFIG_FILE,
  });
}

/**
 * The Cloud Assistant command for one control plane: the files and the script, then the script
 * run. The shared library (control-plane-lib.sh) is the one the certificate renewal's installer
 * put there, which runs before this on each control plane: one copy on the node, and this command
 * stays under Cloud Assistant's 16 KB. Failing, it exits non-zero with the script's log.
 */
export function controlPlaneSettingsCommand(spec: ClusterSpec, facts: ClusterFacts): string {
  const s = renderControlPlaneSettings(spec, facts);
  return renderFileInstaller(
    "control-plane settings",
    [
      { path: SETTINGS_PATHS.script, content: RECONFIGURE_SCRIPT, permissions: "0755" },
      { path: SETTINGS_PATHS.env, content: renderReconfigureEnv(), permissions: "0644" },
      { path: SETTINGS_PATHS.digest, content: `${s.digest}\n`, permissions: "0644" },
      ...s.files,
    ],
    ['"$ROOT' + SETTINGS_PATHS.script + '"'],
    `control-plane settings ${s.digest.slice(0, 12)} in place`,
  );
}
