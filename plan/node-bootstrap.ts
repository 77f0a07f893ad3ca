// What a node receives at first boot: one cloud-config document that writes the
// bootstrap script (bootstrap/node-bootstrap.sh and the libraries it sources, real
// files) and the secret fetcher (bootstrap/fetch-secrets.py), the settings, the kubeadm
// and containerd configuration, the list of secrets to fetch, the public certificates
// and the systemd units, then starts the bootstrap unit.
// No key and no token: those are fetched at boot (plan/node-secrets.ts).
import { NODE_LIB } from "./node-paths";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { stringify as toml } from "smol-toml";
import { CONTAINERD_CERTS_DIR, hostsFiles } from "./registry-mirrors";
import { stringify as yaml } from "yaml";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";
import { kubeletConfiguration, renderKubeadmConfig, type ClusterFacts } from "./kubeadm";
import {
  AUDIT_POLICY_FILE,
  AUTH_CONFIG_FILE,
  renderAuditPolicy,
  renderAuthenticationConfig,
} from "./hardening";
import {
  BOOTSTRAP_UNIT,
  METADATA_GUARD_UNIT,
  renderBootstrapUnit,
  renderMetadataGuardUnit,
} from "./node-units";
import { DEFAULT_TOKEN_GROUP, goDuration } from "./pki";
import {
  PUBLIC_PKI_FILES,
  SECRET_PATHS,
  renderSecretManifest,
  secretManifest,
  type NodeKind,
} from "./node-secrets";
import { KUBEADM_ATTEMPT_SECONDS, ROLE_WAIT_SECONDS } from "./timeouts";

const bootstrapFile = (name: string) => join(__dirname, "..", "bootstrap", name);
export const BOOTSTRAP_SCRIPT_PATH = bootstrapFile("node-bootstrap.sh");
export const BOOTSTRAP_SCRIPT = readFileSync(BOOTSTRAP_SCRIPT_PATH, "utf8");
/** Libraries the bootstrap script sources, by file name under NODE_PATHS.lib. */
export const BOOTSTRAP_LIBRARIES = ["packages.sh", "control-plane.sh"] as const;

/** Where things land on the node. */
export const NODE_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-bootstrap",
  lib: NODE_LIB,
  env: "/etc/kubeadm-alicloud/node.env",
  /** Every node: the JoinConfiguration. */
  kubeadmJoin: "/etc/kubeadm-alicloud/kubeadm-join.yaml",
  /** The first control plane only: the configuration `kubeadm init` runs with while no cluster exists. */
  kubeadmInit: "/etc/kubeadm-alicloud/kubeadm-init.yaml",
  containerd: "/etc/kubeadm-alicloud/containerd.toml",
  secrets: "/etc/kubeadm-alicloud/secrets",
  /** Which OOS secret parameters this node reads, and where they land under `secrets`. */
  secretManifest: "/etc/kubeadm-alicloud/secrets.list",
  fetcher: "/usr/local/lib/kubeadm-alicloud/fetch-secrets.py",
  metadataGuard: `/etc/systemd/system/${METADATA_GUARD_UNIT}`,
  bootstrapUnit: `/etc/systemd/system/${BOOTSTRAP_UNIT}`,
} as const;

export const FETCHER_PATH = bootstrapFile("fetch-secrets.py");
const FETCHER = readFileSync(FETCHER_PATH, "utf8");

/**
 * containerd.io builds pinned per package format, from Docker's repository (or its
 * Alibaba mirror). Ubuntu: 2.3.6-1 (`containerd.io_2.3.6-1~ubuntu.24.04~noble`, seen in
 * public apt logs; the jammy build has the same version by Docker's naming but no
 * listing was found here). Alibaba Cloud Linux 3 takes the RHEL 8 build, published only
 * under `linux/rhel/8` since Docker stopped CentOS 8 builds (docker/docker-ce-packaging
 * #1024, docker/for-linux#1517): 2.3.4-2.el8 (2.3.4 was published twice; -2 carries
 * runc 1.5.1).
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
      // Registry mirrors: one hosts.toml per registry in one directory (plan/registry-mirrors.ts).
      "io.containerd.cri.v1.images": {
        pinned_images: { sandbox: "__PAUSE_IMAGE__" },
        registry: { config_path: CONTAINERD_CERTS_DIR },
      },
      "io.containerd.cri.v1.runtime": {
        containerd: {
          runtimes: { runc: { runtime_type: "io.containerd.runc.v2", options: { SystemdCgroup: true } } },
        },
      },
    },
  });
}

export interface NodeBootstrapArgs {
  readonly spec: ClusterSpec;
  readonly facts: ClusterFacts;
  readonly role: NodeKind;
  /** Workers: their pool. */
  readonly pool?: NodePoolSpec;
  /**
   * Control planes: every control plane's private address. A control plane decides at
   * boot whether the cluster exists and joins through any of them that serves.
   */
  readonly peers?: readonly string[];
  /** Control planes: the one that may run `kubeadm init` while no cluster exists yet. */
  readonly first?: boolean;
}

/** The kubelets' configuration (plan/kubeadm.ts), as 16 hexadecimal digits. */
export const kubeletConfigurationDigest = () =>
  createHash("sha256").update(yaml(kubeletConfiguration())).digest("hex").slice(0, 16);

/** The settings file the script sources. Values are checked, so quoting is plain. */
export function renderNodeEnv(a: NodeBootstrapArgs): string {
  const version = a.role === "worker" && a.pool ? a.pool.kubernetesVersion : a.spec.kubernetesVersion;
  const controlPlane = a.role === "control-plane";
  if (controlPlane && (a.peers ?? []).length === 0)
    throw new Error("a control plane needs the addresses of its peers");
  const values: Record<string, string> = {
    ROLE: a.role,
    KUBERNETES_VERSION: version,
    KUBERNETES_MINOR: version.split(".").slice(0, 2).join("."),
    PACKAGE_SOURCE: a.spec.nodeSoftware.packageSource,
    IMAGE_REPOSITORY: a.spec.nodeSoftware.imageRepository,
    API_DNS_NAME: a.spec.apiEndpoint.dnsName,
    CONTAINERD_DEB_VERSION: CONTAINERD.deb,
    CONTAINERD_RPM_VERSION: CONTAINERD.rpm,
    KUBEADM_ATTEMPT_SECONDS: String(KUBEADM_ATTEMPT_SECONDS),
    // Read by no script: a joining node takes the kubelets' configuration from the cluster
    // (kube-system/kubelet-config), so its digest is here to make a new one a new launch
    // template, and the pools' rollout replace nodes that joined with the old one.
    KUBELET_CONFIGURATION: kubeletConfigurationDigest(),
    ROLE_WAIT_SECONDS: String(ROLE_WAIT_SECONDS),
    // Workers reach the API through the load balancer; control planes never do (hairpin).
    ...(controlPlane
      ? { CONTROL_PLANE_PEERS: (a.peers ?? []).join(","), FIRST_CONTROL_PLANE: a.first ? "yes" : "no" }
      : { API_HOSTS_ADDRESS: a.facts.loadBalancerAddress }),
  };
  for (const [k, v] of Object.entries(values)) {
    if (!/^[A-Za-z0-9._:/,-]+$/.test(v))
      throw new Error(`node.env: ${k}=${v} has characters the script does not expect`);
  }
  return `${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
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

const file = (path: string, content: string, permissions: string): WriteFile => ({
  path,
  content,
  permissions,
  owner: "root:root",
});

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

/**
 * A shell script as it travels in user data: without its comment lines and blank
 * lines (the repository keeps them; 32 KB of user data does not), the shebang kept, and
 * here-documents left exactly as they are. The bootstrap tests run this shipped text.
 */
export function shippedShell(text: string): string {
  const out: string[] = [];
  let heredocEnd: RegExp | undefined;
  for (const [i, line] of text.split("\n").entries()) {
    if (heredocEnd) {
      out.push(line);
      if (heredocEnd.test(line)) heredocEnd = undefined;
      continue;
    }
    if (i === 0 && line.startsWith("#!")) {
      out.push(line);
      continue;
    }
    if (/^\s*(#.*)?$/.test(line)) continue;
    out.push(line);
    // <<WORD, <<'WORD', <<"WORD", <<-WORD; not the here-string <<<.
    const m = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(line.replace(/<<</g, ""));
    if (m) heredocEnd = new RegExp(`^${m[1] ? "\\t*" : ""}${m[3]}$`);
  }
  return `${out.join("\n")}\n`;
}

/** A write_files entry's text as the node sees it. */
export function fileText(f: WriteFile): string {
  return f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")).toString("utf8") : f.content;
}

function kubeadmFiles(a: NodeBootstrapArgs): WriteFile[] {
  const common = { spec: a.spec, facts: a.facts, imageRepository: a.spec.nodeSoftware.imageRepository };
  const join = renderKubeadmConfig({ ...common, role: a.role, ...(a.pool ? { pool: a.pool } : {}) });
  const files = [packed(NODE_PATHS.kubeadmJoin, join, "0644")];
  if (a.role === "control-plane" && a.first) {
    const init = renderKubeadmConfig({
      ...common,
      role: "init",
      initToken: { ttl: goDuration(a.spec.pki.bootstrapTokenTtlHours), groups: [DEFAULT_TOKEN_GROUP] },
    });
    files.push(packed(NODE_PATHS.kubeadmInit, init, "0644"));
  }
  return files;
}

/** The cloud-config document for one node. It holds no key and no token. */
export function renderUserData(a: NodeBootstrapArgs, publicFiles: NodePublicFiles): string {
  const files: WriteFile[] = [
    packed(NODE_PATHS.script, shippedShell(BOOTSTRAP_SCRIPT), "0755"),
    ...BOOTSTRAP_LIBRARIES.map((name) =>
      packed(`${NODE_PATHS.lib}/${name}`, shippedShell(readFileSync(bootstrapFile(name), "utf8")), "0644"),
    ),
    packed(NODE_PATHS.fetcher, FETCHER, "0755"),
    file(NODE_PATHS.env, renderNodeEnv(a), "0644"),
    ...kubeadmFiles(a),
    file(NODE_PATHS.containerd, renderContainerdConfig(), "0644"),
    ...hostsFiles(a.spec.nodeSoftware.registryMirrors).map((h) => file(h.path, h.content, "0644")),
    file(
      NODE_PATHS.secretManifest,
      renderSecretManifest(secretManifest(a.spec, a.role, a.pool?.name)),
      "0644",
    ),
    file(NODE_PATHS.metadataGuard, renderMetadataGuardUnit(), "0644"),
    file(NODE_PATHS.bootstrapUnit, renderBootstrapUnit(NODE_PATHS.script), "0644"),
  ];
  if (a.role === "control-plane") {
    if (a.spec.apiServer.audit.enabled) files.push(packed(AUDIT_POLICY_FILE, renderAuditPolicy(), "0644"));
    if (a.spec.apiServer.anonymousHealthOnly.enabled) {
      files.push(
        file(
          AUTH_CONFIG_FILE,
          renderAuthenticationConfig(Number(a.spec.kubernetesVersion.split(".")[1])),
          "0644",
        ),
      );
    }
    for (const name of PUBLIC_PKI_FILES) {
      const content = publicFiles.pki?.[name];
      if (!content) throw new Error(`a control plane needs ${name}`);
      files.push(file(`${NODE_PATHS.secrets}/${SECRET_PATHS.pki(name)}`, content, "0644"));
    }
  }
  for (const [name, content] of Object.entries(publicFiles.pki ?? {})) {
    if (!PUBLIC_PKI_FILES.includes(name) || /PRIVATE KEY/.test(content))
      throw new Error(`${name} is not public: private keys never go into user data`);
  }
  // cloud-init only hands over to systemd (node-units.ts says why).
  const runcmd = [
    ["systemctl", "daemon-reload"],
    ["systemctl", "enable", BOOTSTRAP_UNIT],
    ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
  ];
  const doc = `#cloud-config\n${yaml({ write_files: files, runcmd }, { lineWidth: 0 })}`;
  if (Buffer.byteLength(doc, "utf8") > USER_DATA_LIMIT) {
    throw new Error(
      `user data for a ${a.role} node is ${Buffer.byteLength(doc, "utf8")} bytes; Alibaba Cloud accepts ${USER_DATA_LIMIT}`,
    );
  }
  return doc;
}
