// The cluster PKI, issued by the tls double from the component's real inputs and
// judged by openssl.
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterPki } from "../components/pki";
import type { ClusterSpec } from "../config/spec";
import { CONTROL_PLANE_FILES, TOKEN_GROUP_RE, TOKEN_RE } from "../plan/pki";
import { settle } from "../tools/render/mock-runtime";
import { ProviderRejection, tlsAndRandomOutputs } from "../tools/render/tls-double";
import { installMocks, resolved, specFor, type Recorder } from "./kit";
import { certText, hoursValid, openssl, opensslBytes, opensslStatus, writeTemp } from "./openssl";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

interface Issued {
  readonly pki: ClusterPki;
  readonly dir: string;
  readonly kubeconfig: string;
  readonly files: Record<string, string>;
}

async function issue(spec: ClusterSpec): Promise<Issued> {
  recorder.reset();
  const { ClusterPki } = await import("../components/pki");
  const pki = new ClusterPki(`${spec.clusterName}-pki`, {
    clusterName: spec.clusterName,
    pki: spec.pki,
    apiServerUrl: `https://${spec.apiEndpoint.dnsName}:6443`,
    nodePools: spec.nodePools.map((p) => p.name),
  });
  const files = await resolved(pki.controlPlaneFiles);
  const kubeconfig = await resolved(pki.admin.kubeconfig);
  const admin = await resolved(pki.admin.certPem);
  await settle();
  if (recorder.failures.length > 0) throw new Error(recorder.failures.join("\n"));
  const dir = writeTemp({ ...files, "admin.crt": admin, "admin.key": await resolved(pki.admin.keyPem) });
  return { pki, dir, kubeconfig, files };
}

const f = (issued: Issued, name: string) => join(issued.dir, name.replace(/\//g, "_"));

describe("ClusterPki with RSA-2048 (default), checked with openssl", () => {
  let rsa: Issued;
  beforeAll(async () => {
    rsa = await issue(
      specFor({
        clusterName: "pki-rsa",
        nodePools: [
          { name: "general", instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 3 },
          { name: "batch", instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 3 },
        ],
      }),
    );
  });

  it.each([
    ["ca.crt", "kubernetes"],
    ["etcd/ca.crt", "etcd-ca"],
    ["front-proxy-ca.crt", "front-proxy-ca"],
  ])("%s is a self-signed CA named %s, allowed to sign certificates, valid 10 years", (file, cn) => {
    const path = f(rsa, file);
    expect(openssl(["x509", "-in", path, "-noout", "-subject", "-issuer", "-nameopt", "RFC2253"])).toBe(
      `subject=CN=${cn}\nissuer=CN=${cn}\n`,
    );
    expect(openssl(["verify", "-CAfile", path, path]).trim()).toBe(`${path}: OK`);
    const text = certText(path);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(
      /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Certificate Sign/,
    );
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(hoursValid(path)).toBe(87600);
    // The key that comes with it is the certificate's key.
    const certKey = openssl(["x509", "-in", path, "-noout", "-pubkey"]);
    const keyPub = openssl(["pkey", "-in", f(rsa, file.replace(".crt", ".key")), "-pubout"]);
    expect(keyPub).toBe(certKey);
  });

  it("the admin certificate chains to the cluster CA only, as kubernetes-admin in kubeadm:cluster-admins, for client auth", () => {
    const admin = f(rsa, "admin.crt");
    expect(openssl(["verify", "-CAfile", f(rsa, "ca.crt"), admin]).trim()).toBe(`${admin}: OK`);
    expect(opensslStatus(["verify", "-CAfile", f(rsa, "etcd/ca.crt"), admin]).status).not.toBe(0);
    expect(openssl(["x509", "-in", admin, "-noout", "-subject", "-nameopt", "RFC2253"]).trim()).toBe(
      "subject=O=kubeadm:cluster-admins,CN=kubernetes-admin",
    );
    const text = certText(admin);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/CA:FALSE/);
    expect(hoursValid(admin)).toBe(8760);
  });

  it("the discovery hash equals kubeadm's documented openssl pipeline", async () => {
    const pem = openssl(["x509", "-pubkey", "-noout", "-in", f(rsa, "ca.crt")]);
    const der = opensslBytes(["rsa", "-pubin", "-outform", "der"], pem);
    const hex = /= ([0-9a-f]{64})$/.exec(openssl(["dgst", "-sha256", "-hex"], undefined, der).trim())?.[1];
    expect(await resolved(rsa.pki.discoveryHash)).toBe(`sha256:${hex}`);
  });

  it("the admin kubeconfig parses and embeds the cluster CA, the endpoint, and a matching key pair", () => {
    const config = parse(rsa.kubeconfig) as {
      clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
      users: { name: string; user: { "client-certificate-data": string; "client-key-data": string } }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      "current-context": string;
    };
    const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
    expect(config.clusters).toHaveLength(1);
    expect(config.clusters[0]?.cluster.server).toBe("https://api.pki-rsa.k8s.internal:6443");
    expect(b64(config.clusters[0]?.cluster["certificate-authority-data"] ?? "")).toBe(rsa.files["ca.crt"]);
    const user = config.users[0]?.user;
    const dir = writeTemp({
      "c.crt": b64(user?.["client-certificate-data"] ?? ""),
      "c.key": b64(user?.["client-key-data"] ?? ""),
    });
    expect(openssl(["x509", "-in", join(dir, "c.crt"), "-noout", "-pubkey"])).toBe(
      openssl(["pkey", "-in", join(dir, "c.key"), "-pubout"]),
    );
    expect(openssl(["verify", "-CAfile", f(rsa, "ca.crt"), join(dir, "c.crt")]).trim()).toMatch(/: OK$/);
    expect(config["current-context"]).toBe(config.contexts[0]?.name);
    expect(config.contexts[0]?.context).toEqual({ cluster: "pki-rsa", user: "kubernetes-admin" });
  });

  it("a control plane receives exactly kubeadm's shared files, and sa.pub belongs to sa.key", () => {
    expect(Object.keys(rsa.files).sort()).toEqual([...CONTROL_PLANE_FILES]);
    expect(CONTROL_PLANE_FILES).toEqual([
      "ca.crt",
      "ca.key",
      "etcd/ca.crt",
      "etcd/ca.key",
      "front-proxy-ca.crt",
      "front-proxy-ca.key",
      "sa.key",
      "sa.pub",
    ]);
    expect(openssl(["pkey", "-in", f(rsa, "sa.key"), "-pubout"])).toBe(rsa.files["sa.pub"]);
  });

  it("one bootstrap token per pool, in kubeadm's format, distinct, with groups and ttl", async () => {
    const tokens = rsa.pki.bootstrapTokens;
    expect(Object.keys(tokens).sort()).toEqual(["batch", "general"]);
    const values = await Promise.all(Object.values(tokens).map((t) => resolved(t.token)));
    for (const [pool, t] of Object.entries(tokens)) {
      const value = await resolved(t.token);
      expect(value).toMatch(TOKEN_RE);
      expect(value.split(".")[0]).toBe(await resolved(t.id));
      expect(t.ttl).toBe("720h0m0s");
      expect(t.usages).toEqual(["signing", "authentication"]);
      for (const g of t.groups) expect(g).toMatch(TOKEN_GROUP_RE);
      expect(t.groups).toContain("system:bootstrappers:kubeadm:default-node-token");
      expect(t.groups).toContain(`system:bootstrappers:kubeadm-alicloud:pool-${pool}`);
    }
    expect(new Set(values).size).toBe(values.length);
  });

  it("keys, tokens and kubeconfigs are secrets wherever they flow; certificates are not", async () => {
    const secretInputs = (type: string) =>
      recorder.ofType(type).map((r) => [r.name, [...r.secretPaths].sort()]);
    expect(
      secretInputs("tls:index/selfSignedCert:SelfSignedCert").every(([, p]) =>
        (p as string[]).includes("privateKeyPem"),
      ),
    ).toBe(true);
    expect(
      secretInputs("tls:index/certRequest:CertRequest").every(([, p]) =>
        (p as string[]).includes("privateKeyPem"),
      ),
    ).toBe(true);
    expect(
      secretInputs("tls:index/locallySignedCert:LocallySignedCert").every(([, p]) =>
        (p as string[]).includes("caPrivateKeyPem"),
      ),
    ).toBe(true);
    const p = rsa.pki;
    expect(await pulumi.isSecret(p.controlPlaneFiles)).toBe(true);
    for (const out of [
      p.admin.kubeconfig,
      p.admin.keyPem,
      p.serviceAccount.privateKeyPem,
      p.cas.cluster.keyPem,
      p.cas.etcd.keyPem,
      p.cas.frontProxy.keyPem,
      ...Object.values(p.bootstrapTokens).map((t) => t.token),
    ]) {
      expect(await pulumi.isSecret(out)).toBe(true);
    }
    for (const out of [p.cas.cluster.certPem, p.admin.certPem, p.discoveryHash])
      expect(await pulumi.isSecret(out)).toBe(false);
  });

  it("renews the admin credential early; never the CAs; exports expiry times", async () => {
    const signed = recorder.ofType("tls:index/locallySignedCert:LocallySignedCert");
    expect(signed.map((r) => r.inputs.earlyRenewalHours)).toEqual([720]);
    for (const ca of recorder.ofType("tls:index/selfSignedCert:SelfSignedCert"))
      expect(ca.inputs.earlyRenewalHours).toBeUndefined();
    const caEnd = Date.parse(await resolved(rsa.pki.cas.cluster.expiresAt));
    const adminEnd = Date.parse(await resolved(rsa.pki.admin.expiresAt));
    expect(Math.round((caEnd - Date.now()) / 3_600_000)).toBe(87600);
    expect(Math.round((adminEnd - Date.now()) / 3_600_000)).toBe(8760);
  });

  it("issues no break-glass credential unless asked", () => {
    expect(rsa.pki.breakGlass).toBeUndefined();
    expect(recorder.resources.some((r) => r.name.includes("super-admin"))).toBe(false);
  });
});

describe("ClusterPki options", () => {
  it("ECDSA-P256 keys everywhere, and the documented pkey pipeline gives the same discovery hash", async () => {
    const ec = await issue(specFor({ clusterName: "pki-ec", pki: { keyAlgorithm: "ECDSA-P256" } }));
    for (const key of ["ca.key", "etcd/ca.key", "front-proxy-ca.key", "sa.key", "admin.key"]) {
      expect(openssl(["pkey", "-in", f(ec, key), "-noout", "-text"])).toMatch(/ASN1 OID: prime256v1/);
    }
    expect(certText(f(ec, "ca.crt"))).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    const pem = openssl(["x509", "-pubkey", "-noout", "-in", f(ec, "ca.crt")]);
    const digest = openssl(
      ["dgst", "-sha256", "-hex"],
      undefined,
      opensslBytes(["pkey", "-pubin", "-outform", "der"], pem),
    );
    const hex = /= ([0-9a-f]{64})$/.exec(digest.trim())?.[1];
    expect(await resolved(ec.pki.discoveryHash)).toBe(`sha256:${hex}`);
    expect(ec.pki.encryptionAlgorithm).toBe("ECDSA-P256");
  });

  it("break-glass, when enabled, is a system:masters client certificate from the cluster CA", async () => {
    const bg = await issue(
      specFor({
        clusterName: "pki-bg",
        pki: { breakGlass: true, adminValidityHours: 720, adminEarlyRenewalHours: 72 },
      }),
    );
    expect(bg.pki.breakGlass).toBeDefined();
    const dir = writeTemp({ "bg.crt": await resolved(bg.pki.breakGlass?.certPem ?? pulumi.output("")) });
    expect(
      openssl(["x509", "-in", join(dir, "bg.crt"), "-noout", "-subject", "-nameopt", "RFC2253"]).trim(),
    ).toBe("subject=O=system:masters,CN=kubernetes-super-admin");
    expect(openssl(["verify", "-CAfile", f(bg, "ca.crt"), join(dir, "bg.crt")]).trim()).toMatch(/: OK$/);
    expect(hoursValid(join(dir, "bg.crt"))).toBe(720);
    expect(await pulumi.isSecret(bg.pki.breakGlass?.kubeconfig ?? pulumi.output(""))).toBe(true);
  });
});

describe("the tls double refuses what the provider refuses", () => {
  it("unknown allowedUses, missing arguments, mismatched CA key", async () => {
    const key = await tlsAndRandomOutputs("tls:index/privateKey:PrivateKey", "k", { algorithm: "RSA" });
    const pem = String(key?.privateKeyPem);
    await expect(
      tlsAndRandomOutputs("tls:index/selfSignedCert:SelfSignedCert", "c", {
        privateKeyPem: pem,
        validityPeriodHours: 1,
        allowedUses: ["certSigning"],
      }),
    ).rejects.toThrow(ProviderRejection);
    await expect(
      tlsAndRandomOutputs("tls:index/selfSignedCert:SelfSignedCert", "c", {
        privateKeyPem: pem,
        allowedUses: [],
      }),
    ).rejects.toThrow(/"validityPeriodHours" is required/);
    await expect(
      tlsAndRandomOutputs("tls:index/privateKey:PrivateKey", "k", { algorithm: "DSA" }),
    ).rejects.toThrow(/not one of RSA, ECDSA, ED25519/);
    const ca = await tlsAndRandomOutputs("tls:index/selfSignedCert:SelfSignedCert", "c", {
      privateKeyPem: pem,
      validityPeriodHours: 1,
      allowedUses: ["cert_signing"],
      isCaCertificate: true,
    });
    const other = await tlsAndRandomOutputs("tls:index/privateKey:PrivateKey", "o", { algorithm: "RSA" });
    const csr = await tlsAndRandomOutputs("tls:index/certRequest:CertRequest", "r", {
      privateKeyPem: other?.privateKeyPem,
      subject: { commonName: "x" },
    });
    await expect(
      tlsAndRandomOutputs("tls:index/locallySignedCert:LocallySignedCert", "s", {
        certRequestPem: csr?.certRequestPem,
        caCertPem: ca?.certPem,
        caPrivateKeyPem: other?.privateKeyPem,
        validityPeriodHours: 1,
        allowedUses: ["client_auth"],
      }),
    ).rejects.toThrow(/does not belong to caCertPem/);
  });
});
