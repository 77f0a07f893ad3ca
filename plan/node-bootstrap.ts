// What a node receives at first boot: one cloud-config document that writes the
// bootstrap script (bootstrap/node-bootstrap.sh, a real file) and the secret fetcher
// (bootstrap/fetch-secrets.py), the settings, the kubeadm and containerd configuration,
// the list of secrets to fetch and the public certificates, then runs the script.
// No key and no token: those are fetched at boot (plan/node-secrets.ts).
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { stringify as toml } from "smol-toml";
import { stringify as yaml } from "yaml";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";
import { renderKubeadmConfig, type ClusterFacts, type NodeRole } from "./kubeadm";
import { AUDIT_POLICY_FILE, AUTH_CONFIG_FILE, METADATA_ADDRESS, renderAuditPolicy, renderAuthenticationConfig } from "./hardening";
import { CONTROL_PLANE_TOKEN, DEFAULT_TOKEN_GROUP, goDuration, tokenGroups } from "./pki";
import { PUBLIC_PKI_FILES, SECRET_PATHS, renderSecretManifest, secretManifest, tokenPlaceholder } from "./node-secrets";

export const BOOTSTRAP_SCRIPT_PATH = join(__dirname, "..", "bootstrap", "node-bootstrap.sh");
export const BOOTSTRAP_SCRIPT = readFileSync(BOOTSTRAP_SCRIPT_PATH, "utf8");

/** Where things land on the node. */
export const NODE_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-bootstrap",
  env: "/etc/kubeadm-alicloud/node.env",
  kubeadm: "/etc/kubeadm-alicloud/kubeadm.yaml",
  containerd: "/etc/kubeadm-alicloud/containerd.toml",
  secrets: "/etc/kubeadm-alicloud/secrets",
  /** Which OOS secret parameters this node reads, and where they land under `secrets`. */
  secretManifest: "/etc/kubeadm-alicloud/secrets.list",
  fetcher: "/usr/local/lib/kubeadm-alicloud/fetch-secrets.py",
  metadataGuard: "/etc/systemd/system/kubeadm-alicloud-metadata-guard.service",
} as const;

export const FETCHER_PATH = join(__dirname, "..", "bootstrap", "fetch-secrets.py");
const FETCHER = readFileSync(FETCHER_PATH, "utf8");

/**
 * Pods must not reach the metadata service (it hands out the node role's credentials).
 * Packets from pods reach the node through PREROUTING; the node's own processes, and
 * so host-network pods, send through OUTPUT. Dropping in the raw table before
 * anything else sees the packet blocks the first and leaves the second. Cilium's eBPF
 * host routing bypasses netfilter: its module adds a cluster-wide policy as well.
 */
export function renderMetadataGuardUnit(): string {
  const rule = `PREROUTING -d ${METADATA_ADDRESS}/32 -m comment --comment kubeadm-alicloud-metadata-guard -j DROP`;
  return [
    "[Unit]",
    "Description=kubeadm-alicloud: drop pod traffic to the metadata service",
    "Before=kubelet.service containerd.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/sh -c 'iptables -w -t raw -C ${rule} 2>/dev/null || iptables -w -t raw -I ${rule}'`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * containerd.io builds pinned per package format, from Docker's repository (or its
 * Alibaba mirror): 2.3.6 is published for Ubuntu 22.04 and 24.04; Alibaba Cloud Linux 3
 * takes the RHEL 8 build, of which 2.3.4-2 is the one to use (2.3.4 was published twice).
 */
export const CONTAINERD = { deb: "2.3.6-1", rpm: "2.3.4-2.el8" } as const;

/** Alibaba Cloud user data may hold at most 32 KB before Base64. */
export const USER_DATA_LIMIT = 32 * 1024;

/**
 * containerd 2.x configuration (version 3): systemd cgroups for runc, and the pause
 * image kubeadm names for its version (the script fills __PAUSE_IMAGE__ on the node).
 */
export function renderContainerdConfig(): string {
  return toml({
    version: 3,
    plugins: {
      "io.containerd.cri.v1.images": { pinned_images: { sandbox: "__PAUSE_IMAGE__" } },
      "io.containerd.cri.v1.runtime": {
        containerd: { runtimes: { runc: { runtime_type: "io.containerd.runc.v2", options: { SystemdCgroup: true } } } },
      },
    },
  });
}

export interface NodeBootstrapArgs {
  readonly spec: ClusterSpec;
  readonly facts: ClusterFacts;
  readonly role: NodeRole;
  readonly pool?: NodePoolSpec;
  /**
   * Where the API endpoint name points before the node serves the API itself:
   * "self" for the first control plane, the first control plane's address for the
   * others (never the CLB: hairpin), the load balancer for workers.
   */
  readonly apiHostsAddress: string;
}

/** The settings file the script sources. Values are checked, so quoting is plain. */
export function renderNodeEnv(a: NodeBootstrapArgs): string {
  const version = a.role === "worker" && a.pool ? a.pool.kubernetesVersion : a.spec.kubernetesVersion;
  const values: Record<string, string> = {
    ROLE: a.role,
    KUBERNETES_VERSION: version,
    KUBERNETES_MINOR: version.split(".").slice(0, 2).join("."),
    PACKAGE_SOURCE: a.spec.nodeSoftware.packageSource,
    IMAGE_REPOSITORY: a.spec.nodeSoftware.imageRepository,
    API_DNS_NAME: a.spec.apiEndpoint.dnsName,
    API_HOSTS_ADDRESS: a.apiHostsAddress,
    CONTAINERD_DEB_VERSION: CONTAINERD.deb,
    CONTAINERD_RPM_VERSION: CONTAINERD.rpm,
  };
  for (const [k, v] of Object.entries(values)) {
    if (!/^[A-Za-z0-9._:/-]+$/.test(v)) throw new Error(`node.env: ${k}=${v} has characters the script does not expect`);
  }
  return `${Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n")}\n`;
}

/** The tokens the first control plane installs: the control planes' own and one per pool. */
export function initTokenOwners(spec: ClusterSpec): { owner: string; groups: string[] }[] {
  return [{ owner: CONTROL_PLANE_TOKEN, groups: [DEFAULT_TOKEN_GROUP] }, ...spec.nodePools.map((p) => ({ owner: p.name, groups: tokenGroups(p.name) }))];
}

/**
 * What a node receives in user data besides configuration: only public material.
 * Control planes get the CA certificates and sa.pub; every key and token is fetched
 * at boot (plan/node-secrets.ts).
 */
export interface NodePublicFiles {
  /** Control planes: PUBLIC_PKI_FILES, path under /etc/kubernetes/pki -> PEM. */
  readonly pki?: Readonly<Record<string, string>>;
}

export interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: "gz+b64";
}

const file = (path: string, content: string, permissions: string): WriteFile => ({ path, content, permissions, owner: "root:root" });

/**
 * Large text files travel gzip-compressed (cloud-init's `gz+b64` write_files encoding)
 * to stay under the 32 KB user-data limit; `mtime: 0` keeps the bytes deterministic.
 */
const packed = (path: string, content: string, permissions: string): WriteFile => ({
  path,
  content: gzipSync(Buffer.from(content, "utf8"), { level: 9 }).toString("base64"),
  encoding: "gz+b64",
  permissions,
  owner: "root:root",
});

/** A write_files entry's text as the node sees it. */
export function fileText(f: WriteFile): string {
  return f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")).toString("utf8") : f.content;
}

/** The cloud-config document for one node role. It holds no key and no token. */
export function renderUserData(a: NodeBootstrapArgs, publicFiles: NodePublicFiles): string {
  const kubeadm = renderKubeadmConfig({
    spec: a.spec,
    facts: a.facts,
    role: a.role,
    imageRepository: a.spec.nodeSoftware.imageRepository,
    ...(a.pool ? { pool: a.pool } : {}),
    ...(a.role === "init"
      ? { bootstrapTokens: initTokenOwners(a.spec).map((t) => ({ placeholder: tokenPlaceholder(t.owner), ttl: goDuration(a.spec.pki.bootstrapTokenTtlHours), usages: ["signing", "authentication"], groups: t.groups })) }
      : {}),
  });
  const files: WriteFile[] = [
    packed(NODE_PATHS.script, BOOTSTRAP_SCRIPT, "0755"),
    packed(NODE_PATHS.fetcher, FETCHER, "0755"),
    file(NODE_PATHS.env, renderNodeEnv(a), "0644"),
    packed(NODE_PATHS.kubeadm, kubeadm, "0644"),
    file(NODE_PATHS.containerd, renderContainerdConfig(), "0644"),
    file(NODE_PATHS.secretManifest, renderSecretManifest(secretManifest(a.spec, a.role, a.pool?.name)), "0644"),
    file(NODE_PATHS.metadataGuard, renderMetadataGuardUnit(), "0644"),
  ];
  if (a.role !== "worker") {
    if (a.spec.apiServer.audit.enabled) files.push(packed(AUDIT_POLICY_FILE, renderAuditPolicy(), "0644"));
    if (a.spec.apiServer.anonymousHealthOnly.enabled) {
      files.push(file(AUTH_CONFIG_FILE, renderAuthenticationConfig(Number(a.spec.kubernetesVersion.split(".")[1])), "0644"));
    }
    for (const name of PUBLIC_PKI_FILES) {
      const content = publicFiles.pki?.[name];
      if (!content) throw new Error(`a control plane needs ${name}`);
      files.push(file(`${NODE_PATHS.secrets}/${SECRET_PATHS.pki(name)}`, content, "0644"));
    }
  }
  for (const [name, content] of Object.entries(publicFiles.pki ?? {})) {
    if (!PUBLIC_PKI_FILES.includes(name) || /PRIVATE KEY/.test(content)) throw new Error(`${name} is not public: private keys never go into user data`);
  }
  const doc = `#cloud-config\n${yaml({ write_files: files, runcmd: [[NODE_PATHS.script]] }, { lineWidth: 0 })}`;
  if (Buffer.byteLength(doc, "utf8") > USER_DATA_LIMIT) {
    throw new Error(`user data for a ${a.role} node is ${Buffer.byteLength(doc, "utf8")} bytes; Alibaba Cloud accepts ${USER_DATA_LIMIT}`);
  }
  return doc;
}
