// API server hardening kubeadm cannot do on its own: Secrets encrypted at rest with a
// key Pulumi generates, and an audit log with rotation. Files, flags and mounts here;
// the bootstrap puts the files in place before kubeadm runs.
import { stringify } from "yaml";
import type { ClusterSpec } from "../config/spec";

export const ENCRYPTION_DIR = "/etc/kubernetes/enc";
export const ENCRYPTION_FILE = `${ENCRYPTION_DIR}/encryption-config.yaml`;
export const AUDIT_DIR = "/etc/kubernetes/audit";
export const AUDIT_POLICY_FILE = `${AUDIT_DIR}/policy.yaml`;
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const AUTH_DIR = "/etc/kubernetes/auth";
export const AUTH_CONFIG_FILE = `${AUTH_DIR}/authentication-config.yaml`;
/** KEP-4633 (anonymous auth for configured endpoints): beta and on by default in 1.32, GA in 1.34. */
export const ANONYMOUS_ENDPOINTS_MIN_MINOR = 32;
/** The health endpoints load balancers and the kubelet's probes call without credentials. */
export const HEALTH_PATHS = ["/livez", "/readyz", "/healthz"] as const;
/**
 * kubeadm's token discovery reads this ConfigMap with no credentials at all
 * (kubernetes v1.36 cmd/kubeadm/app/discovery/token/token.go, retrieveValidatedConfigInfo:
 * BuildInsecureBootstrapKubeConfig -> CreateBasic with an empty user), and kubeadm grants
 * it to system:anonymous (phases/bootstraptoken/clusterinfo/clusterinfo.go,
 * CreateClusterInfoRBACRules). It holds only the API endpoint and the cluster CA
 * certificate, both public; joining nodes pin the CA by its hash. Without this path every
 * `kubeadm join` fails with 401 (kubernetes/kubeadm#1105).
 */
export const KUBEADM_DISCOVERY_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
/**
 * Anonymous requests reach exactly these paths: the apiserver's anonymous authenticator
 * compares `req.URL.Path` for equality (v1.36 staging/src/k8s.io/apiserver/pkg/
 * authentication/request/anonymous/anonymous.go), so no prefix or sub-path is opened.
 */
export const ANONYMOUS_PATHS = [...HEALTH_PATHS, KUBEADM_DISCOVERY_PATH] as const;

/** Bytes of the Secrets encryption key (secretbox takes 32). */
export const ENCRYPTION_KEY_BYTES = 32;

/** EncryptionConfiguration: new Secrets sealed with secretbox; `identity` still reads old ones. */
export function renderEncryptionConfig(keyBase64: string): string {
  return stringify({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "EncryptionConfiguration",
    resources: [
      {
        resources: ["secrets"],
        providers: [{ secretbox: { keys: [{ name: "key1", secret: keyBase64 }] } }, { identity: {} }],
      },
    ],
  });
}

/**
 * Who did what, without logging secrets: health probes and the busiest read-only
 * system traffic are dropped, Secrets, ConfigMaps and token reviews are logged at
 * Metadata (never their bodies), writes everywhere else with their request.
 */
export function renderAuditPolicy(): string {
  return stringify({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
      {
        level: "None",
        users: ["system:kube-proxy"],
        verbs: ["watch"],
        resources: [{ group: "", resources: ["endpoints", "services"] }],
      },
      {
        level: "None",
        userGroups: ["system:nodes"],
        verbs: ["get"],
        resources: [{ group: "", resources: ["nodes", "nodes/status"] }],
      },
      { level: "None", resources: [{ group: "", resources: ["events"] }] },
      {
        level: "Metadata",
        resources: [
          { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
          { group: "authentication.k8s.io", resources: ["tokenreviews"] },
        ],
      },
      { level: "Request", verbs: ["create", "update", "patch", "delete", "deletecollection"] },
      { level: "Metadata" },
    ],
  });
}

/**
 * AuthenticationConfiguration that admits anonymous requests to the health endpoints
 * and kubeadm's discovery ConfigMap only. Structured authentication configuration is GA
 * (apiserver.config.k8s.io/v1) from
 * 1.34; 1.32 and 1.33 read v1beta1.
 */
export const AUTH_CONFIG_V1_MIN_MINOR = 34;
export function renderAuthenticationConfig(kubernetesMinor: number): string {
  return stringify({
    apiVersion:
      kubernetesMinor >= AUTH_CONFIG_V1_MIN_MINOR
        ? "apiserver.config.k8s.io/v1"
        : "apiserver.config.k8s.io/v1beta1",
    kind: "AuthenticationConfiguration",
    jwt: [],
    anonymous: { enabled: true, conditions: ANONYMOUS_PATHS.map((path) => ({ path })) },
  });
}

type Arg = { name: string; value: string };
type Volume = { name: string; hostPath: string; mountPath: string; readOnly: boolean; pathType: string };

/** kube-apiserver flags and mounts for the hardening the spec turns on. */
export function apiServerHardening(spec: ClusterSpec): { extraArgs: Arg[]; extraVolumes: Volume[] } {
  const extraArgs: Arg[] = [];
  const extraVolumes: Volume[] = [];
  const h = spec.apiServer;
  if (h.encryptionAtRest.enabled) {
    extraArgs.push({ name: "encryption-provider-config", value: ENCRYPTION_FILE });
    extraVolumes.push({
      name: "encryption-config",
      hostPath: ENCRYPTION_DIR,
      mountPath: ENCRYPTION_DIR,
      readOnly: true,
      pathType: "DirectoryOrCreate",
    });
  }
  if (h.audit.enabled) {
    extraArgs.push(
      { name: "audit-policy-file", value: AUDIT_POLICY_FILE },
      { name: "audit-log-path", value: `${AUDIT_LOG_DIR}/audit.log` },
      { name: "audit-log-maxage", value: String(h.audit.maxAgeDays) },
      { name: "audit-log-maxbackup", value: String(h.audit.maxBackups) },
      { name: "audit-log-maxsize", value: String(h.audit.maxSizeMb) },
    );
    extraVolumes.push(
      {
        name: "audit-policy",
        hostPath: AUDIT_DIR,
        mountPath: AUDIT_DIR,
        readOnly: true,
        pathType: "DirectoryOrCreate",
      },
      {
        name: "audit-log",
        hostPath: AUDIT_LOG_DIR,
        mountPath: AUDIT_LOG_DIR,
        readOnly: false,
        pathType: "DirectoryOrCreate",
      },
    );
  }
  if (h.anonymousHealthOnly.enabled) {
    // With --authentication-config, --anonymous-auth must not be set (kubeadm does not).
    extraArgs.push({ name: "authentication-config", value: AUTH_CONFIG_FILE });
    extraVolumes.push({
      name: "authentication-config",
      hostPath: AUTH_DIR,
      mountPath: AUTH_DIR,
      readOnly: true,
      pathType: "DirectoryOrCreate",
    });
  }
  return { extraArgs, extraVolumes };
}
