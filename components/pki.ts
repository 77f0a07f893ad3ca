import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { ClusterSpec } from "../config/spec";
import { ENCRYPTION_KEY_BYTES, renderEncryptionConfig } from "../plan/hardening";
import { resourceName } from "../plan/naming";
import { PRIVATE_PKI_FILES, PUBLIC_PKI_FILES } from "../plan/node-secrets";
import {
  ADMIN,
  BREAK_GLASS,
  CAS,
  CA_USES,
  CONTROL_PLANE_TOKEN,
  DEFAULT_TOKEN_GROUP,
  SA_FILES,
  TOKEN_ID_LENGTH,
  TOKEN_SECRET_LENGTH,
  discoveryHash,
  goDuration,
  renderKubeconfig,
  tlsKeyArgs,
  tokenGroups,
  type CaName,
  type KeyAlgorithm,
  type LeafProfile,
} from "../plan/pki";
import { tokenWindow } from "../plan/tokens";

export interface ClusterPkiArgs {
  readonly clusterName: string;
  readonly pki: ClusterSpec["pki"];
  /** Make a key for encrypting Secrets at rest. */
  readonly encryptionAtRest?: boolean;
  /** The API server URL written into the admin kubeconfig. */
  readonly apiServerUrl: pulumi.Input<string>;
  /** One bootstrap token is made per pool name. */
  readonly nodePools: readonly string[];
  /**
   * Now, in ms since the epoch (default: the clock): which renewal window tokens are issued in
   * (plan/tokens.ts).
   */
  readonly now?: number;
}

export interface CertificateAuthority {
  readonly certPem: pulumi.Output<string>;
  /** Secret. */
  readonly keyPem: pulumi.Output<string>;
  readonly expiresAt: pulumi.Output<string>;
}

export interface ClientCredential {
  readonly certPem: pulumi.Output<string>;
  /** Secret. */
  readonly keyPem: pulumi.Output<string>;
  readonly expiresAt: pulumi.Output<string>;
  /** Secret: a kubeconfig with the cluster CA, this certificate and its key embedded. */
  readonly kubeconfig: pulumi.Output<string>;
}

export interface BootstrapToken {
  /** The public half, `[a-z0-9]{6}`: names the token's Secret (bootstrap-token-<id>). */
  readonly id: pulumi.Output<string>;
  /** Secret: `<id>.<secret>`. */
  readonly token: pulumi.Output<string>;
  /** Secret: the secret half. */
  readonly secret: pulumi.Output<string>;
  /** kubeadm's ttl (a Go duration). */
  readonly ttl: string;
  /** RFC 3339: when the cluster forgets this token (its Secret's `expiration`). */
  readonly expiresAt: string;
  readonly usages: readonly string[];
  readonly groups: readonly string[];
}

/**
 * The cluster's PKI, owned by Pulumi: the three CAs kubeadm expects, the
 * service-account key pair, the admin credential (and an opt-in break-glass one),
 * and one bootstrap token per node pool. kubeadm on each node signs the leaf
 * certificates from these CAs. Every key, token and kubeconfig is a Pulumi secret.
 */
export class ClusterPki extends pulumi.ComponentResource {
  readonly encryptionAlgorithm: KeyAlgorithm;
  readonly cas: Readonly<Record<CaName, CertificateAuthority>>;
  readonly serviceAccount: {
    readonly privateKeyPem: pulumi.Output<string>;
    readonly publicKeyPem: pulumi.Output<string>;
  };
  /** `sha256:<hex>` of the cluster CA's SubjectPublicKeyInfo, for discovery.bootstrapToken.caCertHashes. */
  readonly discoveryHash: pulumi.Output<string>;
  readonly admin: ClientCredential;
  /** Secret: the admin kubeconfig for another server URL (e.g. the load balancer's address). */
  readonly adminKubeconfigFor: (server: pulumi.Input<string>) => pulumi.Output<string>;
  readonly breakGlass: ClientCredential | undefined;
  /** One per node pool, by pool name. */
  readonly bootstrapTokens: Readonly<Record<string, BootstrapToken>>;
  /** The token joining control planes use (never given to workers). */
  readonly controlPlaneToken: BootstrapToken;
  /** When this window's tokens expire, and from when a pulumi up renews them. */
  readonly tokenRenewal: { readonly expiresAt: string; readonly renewFrom: string };
  /**
   * Secret: what a control-plane node receives, keyed by path under /etc/kubernetes/pki:
   * exactly the CA certificates and keys and the service-account pair. Workers get none.
   */
  readonly controlPlaneFiles: pulumi.Output<Record<string, string>>;
  /** The public part of controlPlaneFiles (CA certificates, sa.pub): not secret, goes in user data. */
  readonly controlPlaneCertificates: pulumi.Output<Record<string, string>>;
  /** The private keys of controlPlaneFiles, each a secret: kept in OOS, never in user data. */
  readonly controlPlaneKeys: Readonly<Record<string, pulumi.Output<string>>>;
  /** Secret: the EncryptionConfiguration for Secrets at rest; undefined when that is off. */
  readonly encryptionConfig: pulumi.Output<string> | undefined;

  constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:pki:ClusterPki", name, {}, opts);
    const { clusterName, pki } = args;
    const child = { parent: this };
    const n = (...parts: string[]) => resourceName(clusterName, ...parts);
    this.encryptionAlgorithm = pki.keyAlgorithm;

    const key = (id: string) => {
      const k = new tls.PrivateKey(n(id, "key"), tlsKeyArgs(pki.keyAlgorithm), child);
      // The mock engine (and any consumer reading raw outputs) would see these in
      // clear: mark them here, where they are born.
      return { privateKeyPem: pulumi.secret(k.privateKeyPem), publicKeyPem: k.publicKeyPem };
    };

    const cas = {} as Record<CaName, CertificateAuthority>;
    for (const profile of CAS) {
      const caKey = key(`ca-${profile.name}`);
      // No early renewal: a replaced CA invalidates every certificate kubeadm signed.
      const cert = new tls.SelfSignedCert(
        n(`ca-${profile.name}`),
        {
          privateKeyPem: caKey.privateKeyPem,
          subject: { commonName: profile.commonName },
          isCaCertificate: true,
          validityPeriodHours: pki.caValidityHours,
          allowedUses: [...CA_USES],
          setSubjectKeyId: true,
        },
        child,
      );
      cas[profile.name] = {
        certPem: cert.certPem,
        keyPem: caKey.privateKeyPem,
        expiresAt: cert.validityEndTime,
      };
    }
    this.cas = cas;
    this.serviceAccount = key("sa");
    this.discoveryHash = cas.cluster.certPem.apply(discoveryHash);

    /** Secret: a kubeconfig for one client credential against one server URL, CA embedded. */
    const kubeconfigOf = (
      user: string,
      certPem: pulumi.Input<string>,
      keyPem: pulumi.Input<string>,
      server: pulumi.Input<string>,
    ) =>
      pulumi.secret(
        pulumi
          .all([server, cas.cluster.certPem, certPem, keyPem])
          .apply(([srv, caCertPem, clientCertPem, clientKeyPem]) =>
            renderKubeconfig({ clusterName, server: srv, caCertPem, user, clientCertPem, clientKeyPem }),
          ),
      );

    const client = (profile: LeafProfile): ClientCredential => {
      const k = key(profile.id);
      const csr = new tls.CertRequest(
        n(profile.id, "csr"),
        {
          privateKeyPem: k.privateKeyPem,
          subject: {
            commonName: profile.commonName,
            ...(profile.organization ? { organization: profile.organization } : {}),
          },
        },
        child,
      );
      const signer = cas[profile.signer];
      const cert = new tls.LocallySignedCert(
        n(profile.id),
        {
          certRequestPem: csr.certRequestPem,
          caCertPem: signer.certPem,
          caPrivateKeyPem: signer.keyPem,
          validityPeriodHours: pki.adminValidityHours,
          earlyRenewalHours: pki.adminEarlyRenewalHours,
          allowedUses: [...profile.uses],
        },
        child,
      );
      const kubeconfig = kubeconfigOf(profile.commonName, cert.certPem, k.privateKeyPem, args.apiServerUrl);
      return { certPem: cert.certPem, keyPem: k.privateKeyPem, expiresAt: cert.validityEndTime, kubeconfig };
    };
    this.admin = client(ADMIN);
    const admin = this.admin;
    this.adminKubeconfigFor = (server) => kubeconfigOf(ADMIN.commonName, admin.certPem, admin.keyPem, server);
    this.breakGlass = pki.breakGlass ? client(BREAK_GLASS) : undefined;

    const window = tokenWindow(
      args.now ?? Date.now(),
      pki.bootstrapTokenTtlHours,
      pki.bootstrapTokenRenewBeforeHours,
    );
    this.tokenRenewal = { expiresAt: window.expiresAt, renewFrom: window.renewFrom };
    const token = (owner: string, groups: string[]): BootstrapToken => {
      // The keepers replace both halves when the operator rotates tokens (generation) and
      // when a pulumi up runs in the next renewal window (window).
      const keepers = { generation: String(pki.bootstrapTokenGeneration), window: String(window.index) };
      const alphabet = { upper: false, lower: true, numeric: true, special: false, keepers };
      const id = new random.RandomString(
        n("token", owner, "id"),
        { ...alphabet, length: TOKEN_ID_LENGTH },
        child,
      );
      const secret = new random.RandomPassword(
        n("token", owner, "secret"),
        { ...alphabet, length: TOKEN_SECRET_LENGTH },
        child,
      );
      return {
        id: id.result,
        token: pulumi.secret(pulumi.interpolate`${id.result}.${secret.result}`),
        secret: pulumi.secret(secret.result),
        ttl: goDuration(pki.bootstrapTokenTtlHours),
        expiresAt: window.expiresAt,
        usages: ["signing", "authentication"],
        groups,
      };
    };
    const tokens: Record<string, BootstrapToken> = {};
    for (const pool of args.nodePools) tokens[pool] = token(pool, tokenGroups(pool));
    this.controlPlaneToken = token(CONTROL_PLANE_TOKEN, [DEFAULT_TOKEN_GROUP]);
    this.bootstrapTokens = tokens;

    const files: Record<string, pulumi.Output<string>> = {
      [SA_FILES.privateKey]: this.serviceAccount.privateKeyPem,
      [SA_FILES.publicKey]: this.serviceAccount.publicKeyPem,
    };
    for (const profile of CAS) {
      files[profile.certFile] = cas[profile.name].certPem;
      files[profile.keyFile] = cas[profile.name].keyPem;
    }
    this.controlPlaneFiles = pulumi.secret(pulumi.all(files));
    const pick = (names: readonly string[]) =>
      Object.fromEntries(names.map((f) => [f, files[f] as pulumi.Output<string>]));
    this.controlPlaneCertificates = pulumi.all(pick(PUBLIC_PKI_FILES));
    this.controlPlaneKeys = pick(PRIVATE_PKI_FILES);

    this.encryptionConfig = undefined;
    if (args.encryptionAtRest) {
      const key = new random.RandomBytes(
        n("secrets-encryption-key"),
        { length: ENCRYPTION_KEY_BYTES },
        child,
      );
      this.encryptionConfig = pulumi.secret(key.base64.apply(renderEncryptionConfig));
    }

    this.registerOutputs({
      caCertPem: cas.cluster.certPem,
      discoveryHash: this.discoveryHash,
      caExpiresAt: cas.cluster.expiresAt,
      adminExpiresAt: this.admin.expiresAt,
      adminKubeconfig: this.admin.kubeconfig,
      controlPlaneFiles: this.controlPlaneFiles,
      bootstrapTokensExpireAt: this.tokenRenewal.expiresAt,
    });
  }
}
