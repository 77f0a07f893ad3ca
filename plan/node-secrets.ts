// Which secrets each node needs, where they are kept and who may read them.
//
// User data is readable by anyone allowed to describe instances and by any process on
// the node that reaches the metadata service, so no key or token goes there. Each
// secret is an OOS secret parameter (encrypted with KMS); a node's user data carries
// only a manifest of parameter names and where to write them, and the node reads them
// at first boot with its RAM role (bootstrap/fetch-secrets.py). Control planes and
// each node pool have their own role, and each role may read exactly its secrets.
import type { ClusterSpec } from "../config/spec";
import { RAM_NAMES } from "./naming";
import { CAS, CONTROL_PLANE_FILES, CONTROL_PLANE_TOKEN, SA_FILES } from "./pki";

/** OOS refuses secret parameter values longer than this (characters). */
export const SECRET_VALUE_LIMIT = 4096;

/** A role that reads secrets: the control planes', or one node pool's. */
export type SecretReader = "control-plane" | `pool:${string}`;
export const poolReader = (pool: string): SecretReader => `pool:${pool}`;

/** What a secret holds; the component maps each kind to a Pulumi secret output. */
export type SecretSource =
  | { readonly kind: "pki"; readonly file: string }
  | { readonly kind: "encryption-config" }
  | { readonly kind: "token"; readonly owner: string }
  /**
   * Written by Pulumi once the first control plane served the API: from then on no
   * control plane may run `kubeadm init` (a replaced first one joins instead).
   */
  | { readonly kind: "cluster-initialized" };

/** The kind of node a manifest or a reader policy is for. */
export type NodeKind = "control-plane" | "worker";

export interface SecretItem {
  /** Stable key, also the Pulumi resource name suffix: `pki-ca-key`, `token-general`. */
  readonly key: string;
  readonly parameterName: string;
  readonly source: SecretSource;
  readonly readers: readonly SecretReader[];
}

/** Files under /etc/kubernetes/pki that are private keys: fetched, never in user data. */
export const PRIVATE_PKI_FILES: readonly string[] = [
  ...CAS.map((c) => c.keyFile),
  SA_FILES.privateKey,
].sort();
/** The rest of CONTROL_PLANE_FILES (CA certificates, sa.pub): public, in user data. */
export const PUBLIC_PKI_FILES: readonly string[] = CONTROL_PLANE_FILES.filter(
  (f) => !PRIVATE_PKI_FILES.includes(f),
);

const slug = (text: string) => text.replace(/[/.]/g, "-");

/**
 * OOS parameter names: letters, digits, `-` and `_`, at most 180 characters, not
 * starting with ALIYUN, ACS, ALIBABA, ALICLOUD or OOS (the prefix sees to that).
 */
export function secretParameterName(clusterName: string, key: string): string {
  return `kubeadm-alicloud-${clusterName}-${key}`;
}

/** Every secret the cluster's nodes read, with its readers. */
export function nodeSecretItems(spec: ClusterSpec): SecretItem[] {
  const item = (key: string, source: SecretSource, readers: SecretReader[]): SecretItem => ({
    key,
    parameterName: secretParameterName(spec.clusterName, key),
    source,
    readers,
  });
  const items: SecretItem[] = PRIVATE_PKI_FILES.map((file) =>
    item(`pki-${slug(file)}`, { kind: "pki", file }, ["control-plane"]),
  );
  if (spec.apiServer.encryptionAtRest.enabled)
    items.push(item("encryption-config", { kind: "encryption-config" }, ["control-plane"]));
  items.push(
    item(`token-${CONTROL_PLANE_TOKEN}`, { kind: "token", owner: CONTROL_PLANE_TOKEN }, ["control-plane"]),
  );
  items.push(item(CLUSTER_INITIALIZED, { kind: "cluster-initialized" }, ["control-plane"]));
  // Pulumi installs each pool's token in the cluster (components/bootstrap-tokens.ts);
  // a pool reads only its own.
  for (const pool of spec.nodePools)
    items.push(item(`token-pool-${pool.name}`, { kind: "token", owner: pool.name }, [poolReader(pool.name)]));
  return items;
}

/** Item key of the cluster-initialized marker. */
export const CLUSTER_INITIALIZED = "cluster-initialized";

/** One line of a node's manifest: a parameter and where it lands under the secrets directory. */
export interface ManifestEntry {
  readonly parameterName: string;
  readonly path: string;
  /** A parameter that may not exist yet: the fetcher skips it when OOS says it does not. */
  readonly optional?: boolean;
}

/** Paths under /etc/kubeadm-alicloud/secrets that the bootstrap script reads. */
export const SECRET_PATHS = {
  pki: (file: string) => `pki/${file}`,
  encryptionConfig: "encryption-config.yaml",
  /** The node's join token (on the first control plane also the token `kubeadm init` installs). */
  joinToken: "bootstrap-token",
  /** Present once the cluster exists: a control plane then never runs `kubeadm init`. */
  clusterInitialized: "cluster-initialized",
} as const;

/** What one node fetches at first boot. */
export function secretManifest(spec: ClusterSpec, role: NodeKind, pool?: string): ManifestEntry[] {
  const byKey = new Map(nodeSecretItems(spec).map((i) => [i.key, i]));
  const entry = (key: string, path: string): ManifestEntry => {
    const found = byKey.get(key);
    if (!found) throw new Error(`no node secret ${key}`);
    return { parameterName: found.parameterName, path };
  };
  if (role === "worker") {
    if (!pool) throw new Error("a worker's manifest needs its pool");
    return [entry(`token-pool-${pool}`, SECRET_PATHS.joinToken)];
  }
  const entries = PRIVATE_PKI_FILES.map((file) => entry(`pki-${slug(file)}`, SECRET_PATHS.pki(file)));
  if (spec.apiServer.encryptionAtRest.enabled)
    entries.push(entry("encryption-config", SECRET_PATHS.encryptionConfig));
  entries.push(entry(`token-${CONTROL_PLANE_TOKEN}`, SECRET_PATHS.joinToken));
  entries.push({ ...entry(CLUSTER_INITIALIZED, SECRET_PATHS.clusterInitialized), optional: true });
  return entries;
}

export function renderSecretManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${e.parameterName} ${e.path}${e.optional ? " optional" : ""}\n`).join("");
}

export interface RamPolicyDocument {
  readonly Version: "1";
  readonly Statement: readonly {
    readonly Effect: "Allow";
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
  }[];
}

/**
 * Least privilege for one reader: GetSecretParameter on exactly its parameters, and
 * kms:GetSecretValue on exactly the KMS secrets behind them. OOS documents that the
 * caller needs kms:GetSecretValue (GetSecretParameter API reference: "ensure that you
 * have the permissions to call the GetSecretValue API operation of KMS"), and keeps a
 * secret parameter as the KMS secret `oos/<name>`: Alibaba's OOS use case "Control
 * access to different encryption parameters from a RAM user"
 * (help.aliyun.com/document_detail/200116) grants secretparameter/<path> together with
 * secret/oos/<path>. kms:Decrypt is for secrets under a user-managed key only (KMS
 * GetSecretValue reference), so it names the chosen key and is left out with OOS's
 * default key. No node role can read every secret or key of the region (audit
 * alibaba-resources 3.3).
 */
export function readerPolicy(spec: ClusterSpec, reader: SecretReader): RamPolicyDocument {
  const names = nodeSecretItems(spec)
    .filter((i) => i.readers.includes(reader))
    .map((i) => i.parameterName);
  if (names.length === 0) throw new Error(`no secrets for ${reader}`);
  const kmsKey = spec.pki.secretsKmsKeyId;
  return {
    Version: "1",
    Statement: [
      {
        Effect: "Allow",
        Action: ["oos:GetSecretParameter"],
        Resource: names.map((n) => `acs:oos:${spec.region}:*:secretparameter/${n}`),
      },
      {
        Effect: "Allow",
        Action: ["kms:GetSecretValue"],
        Resource: names.map((n) => `acs:kms:${spec.region}:*:secret/oos/${n}`),
      },
      ...(kmsKey
        ? [
            {
              Effect: "Allow" as const,
              Action: ["kms:Decrypt"],
              Resource: [`acs:kms:${spec.region}:*:key/${kmsKey}`],
            },
          ]
        : []),
    ],
  };
}

/** One reader's grant: the policy the component declares and attaches to the reader's role. */
export interface ReaderGrant {
  readonly reader: SecretReader;
  /** The reader as a name part: "control-plane", "pool-<name>". */
  readonly slug: string;
  readonly policyName: string;
  readonly policy: RamPolicyDocument;
}

/** What the node secret store declares: the items, and each reader's grant. */
export interface SecretStorePlan {
  readonly items: readonly SecretItem[];
  readonly grants: readonly ReaderGrant[];
  /** The KMS key that encrypts the parameters; OOS's default key when absent. */
  readonly kmsKeyId?: string;
}

export function secretStorePlan(spec: ClusterSpec): SecretStorePlan {
  const readers: SecretReader[] = ["control-plane", ...spec.nodePools.map((p) => poolReader(p.name))];
  return {
    items: nodeSecretItems(spec),
    grants: readers.map((reader) => {
      const slug = reader.replace(":", "-");
      return {
        reader,
        slug,
        policyName: RAM_NAMES.secretsPolicy(spec, slug),
        policy: readerPolicy(spec, reader),
      };
    }),
    ...(spec.pki.secretsKmsKeyId ? { kmsKeyId: spec.pki.secretsKmsKeyId } : {}),
  };
}
