// What the cluster PKI must look like, as kubeadm expects it (../shared reference
// kubeadm.md, "PKI kubeadm expects"; kubernetes cmd/kubeadm/app/phases/certs/certlist.go).
// Pure data and functions: the ClusterPki component declares it, tests check it.
import { X509Certificate, createHash } from "node:crypto";
import { stringify } from "yaml";

/** kubeadm's ClusterConfiguration.encryptionAlgorithm values. */
export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** Arguments of tls.PrivateKey that produce a key of this algorithm. */
export function tlsKeyArgs(
  algorithm: KeyAlgorithm,
): { algorithm: "RSA"; rsaBits: number } | { algorithm: "ECDSA"; ecdsaCurve: "P256" } {
  return algorithm === "ECDSA-P256"
    ? { algorithm: "ECDSA", ecdsaCurve: "P256" }
    : { algorithm: "RSA", rsaBits: Number(algorithm.slice(4)) };
}

export type CaName = "cluster" | "etcd" | "frontProxy";

export interface CaProfile {
  readonly name: CaName;
  readonly commonName: string;
  /** Paths under /etc/kubernetes/pki. */
  readonly certFile: string;
  readonly keyFile: string;
}

export const CAS: readonly CaProfile[] = [
  { name: "cluster", commonName: "kubernetes", certFile: "ca.crt", keyFile: "ca.key" },
  { name: "etcd", commonName: "etcd-ca", certFile: "etcd/ca.crt", keyFile: "etcd/ca.key" },
  {
    name: "frontProxy",
    commonName: "front-proxy-ca",
    certFile: "front-proxy-ca.crt",
    keyFile: "front-proxy-ca.key",
  },
];

/** The service-account signing key pair (no certificate). */
export const SA_FILES = { privateKey: "sa.key", publicKey: "sa.pub" } as const;

/**
 * Exactly the files a joining control plane needs when certificates are distributed
 * by hand (kubernetes.io, "Manual certificate distribution"): the three CAs with their
 * keys and the service-account pair. Copying more breaks the join (wrong SANs).
 */
export const CONTROL_PLANE_FILES: readonly string[] = [
  ...CAS.flatMap((c) => [c.certFile, c.keyFile]),
  SA_FILES.privateKey,
  SA_FILES.publicKey,
].sort();

/** Key usages of the tls provider, as it spells them. */
export type TlsUse =
  "digital_signature" | "key_encipherment" | "cert_signing" | "crl_signing" | "server_auth" | "client_auth";

/**
 * Key usages of a kubeadm CA (client-go certutil.NewSelfSignedCACert): sign certificates, plus the two
 * kubeadm always sets.
 */
export const CA_USES: readonly TlsUse[] = ["cert_signing", "digital_signature", "key_encipherment"];

export interface LeafProfile {
  readonly id: string;
  readonly signer: CaName;
  readonly commonName: string;
  readonly organization?: string;
  readonly uses: readonly TlsUse[];
}

/**
 * Client credentials this project issues itself. kubeadm signs every other leaf on
 * the nodes; `kubeadmLeafProfiles` below describes those for tests and reviewers.
 */
export const ADMIN: LeafProfile = {
  id: "admin",
  signer: "cluster",
  commonName: "kubernetes-admin",
  organization: "kubeadm:cluster-admins", // bound to cluster-admin by kubeadm since 1.29
  uses: ["digital_signature", "key_encipherment", "client_auth"],
};
export const BREAK_GLASS: LeafProfile = {
  id: "super-admin",
  signer: "cluster",
  commonName: "kubernetes-super-admin",
  organization: "system:masters", // bypasses RBAC: break-glass only
  uses: ["digital_signature", "key_encipherment", "client_auth"],
};

/** The leaf certificates kubeadm signs from the etcd CA, with kubeadm's profiles. */
export function etcdLeafProfiles(nodeName: string): LeafProfile[] {
  const both: TlsUse[] = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];
  return [
    { id: "etcd-server", signer: "etcd", commonName: nodeName, uses: both },
    { id: "etcd-peer", signer: "etcd", commonName: nodeName, uses: both },
    {
      id: "etcd-healthcheck-client",
      signer: "etcd",
      commonName: "kube-etcd-healthcheck-client",
      uses: ["digital_signature", "key_encipherment", "client_auth"],
    },
    {
      id: "apiserver-etcd-client",
      signer: "etcd",
      commonName: "kube-apiserver-etcd-client",
      uses: ["digital_signature", "key_encipherment", "client_auth"],
    },
  ];
}

/** SANs kubeadm puts on etcd server and peer certificates for a node. */
export function etcdSans(nodeName: string, address: string): { dnsNames: string[]; ipAddresses: string[] } {
  return { dnsNames: [nodeName, "localhost"], ipAddresses: [address, "127.0.0.1", "::1"] };
}

/**
 * kubeadm's discovery hash of a CA: "sha256:" + hex SHA-256 of the certificate's
 * DER SubjectPublicKeyInfo (cmd/kubeadm/app/util/pubkeypin).
 */
export function discoveryHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** Bootstrap tokens: `<id>.<secret>` (k8s.io/cluster-bootstrap/token/api). */
export const TOKEN_ID_LENGTH = 6;
export const TOKEN_SECRET_LENGTH = 16;
export const TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
export const TOKEN_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
/** The group kubeadm binds to node bootstrap and CSR auto-approval. */
export const DEFAULT_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token";

/** Name of the control planes' own join token; no node pool may take it. */
export const CONTROL_PLANE_TOKEN = "control-plane";

/** Extra groups of a pool's token: kubeadm's default plus one naming the pool. */
export function tokenGroups(pool: string): string[] {
  return [DEFAULT_TOKEN_GROUP, `system:bootstrappers:kubeadm-alicloud:pool-${pool}`];
}

/** kubeadm's ttl field is a Go duration. */
export function goDuration(hours: number): string {
  return `${hours}h0m0s`;
}

export interface KubeconfigInput {
  readonly clusterName: string;
  readonly server: string;
  readonly caCertPem: string;
  readonly user: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** A kubeconfig with everything embedded, as kubeadm writes admin.conf. */
export function renderKubeconfig(k: KubeconfigInput): string {
  const context = `${k.user}@${k.clusterName}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: k.clusterName, cluster: { server: k.server, "certificate-authority-data": b64(k.caCertPem) } },
    ],
    users: [
      {
        name: k.user,
        user: { "client-certificate-data": b64(k.clientCertPem), "client-key-data": b64(k.clientKeyPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster: k.clusterName, user: k.user } }],
    "current-context": context,
    preferences: {},
  });
}
