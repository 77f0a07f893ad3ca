// pki.json (what every certificate says, no key material) and, with --materialize,
// the emulated PEM files in kubeadm's layout plus admin.conf, for local inspection.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { ClusterSpec } from "../../config/spec";
import { resourceName } from "../../plan/naming";
import { ADMIN, BREAK_GLASS, CAS, SA_FILES, type LeafProfile } from "../../plan/pki";
import { stableJson } from "./bundle";

type Outputs = ReadonlyMap<string, Record<string, unknown>>;

const KEY = "tls:index/privateKey:PrivateKey";
const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";

function text(outputs: Outputs, type: string, name: string, field: string): string {
  const v = outputs.get(`${type}::${name}`)?.[field];
  if (typeof v !== "string") throw new Error(`render: no ${field} for ${type} ${name}`);
  return v;
}

const KEY_USAGE_NAMES: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, "digitalSignature"],
  [x509.KeyUsageFlags.nonRepudiation, "nonRepudiation"],
  [x509.KeyUsageFlags.keyEncipherment, "keyEncipherment"],
  [x509.KeyUsageFlags.dataEncipherment, "dataEncipherment"],
  [x509.KeyUsageFlags.keyAgreement, "keyAgreement"],
  [x509.KeyUsageFlags.keyCertSign, "keyCertSign"],
  [x509.KeyUsageFlags.cRLSign, "cRLSign"],
];
const EKU_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
};

/** The facts a reviewer checks on a certificate, read back from the certificate itself. */
export function describeCertificate(pem: string) {
  const cert = new x509.X509Certificate(pem);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    isCA: basic?.ca ?? false,
    keyUsage: KEY_USAGE_NAMES.filter(([flag]) => ku !== null && (ku.usages & flag) !== 0).map(([, n]) => n),
    extendedKeyUsage: (eku?.usages ?? []).map((u) => EKU_NAMES[String(u)] ?? String(u)),
    subjectAltNames: (san?.names.items ?? []).map((n) => `${n.type}:${n.value}`),
    validityHours: Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 3_600_000),
    publicKey: cert.publicKey.algorithm.name === "ECDSA" ? "ECDSA" : `RSA`,
  };
}

export function pkiJson(spec: ClusterSpec, outputs: Outputs): string {
  const n = (...parts: string[]) => resourceName(spec.clusterName, ...parts);
  const clients: LeafProfile[] = [ADMIN, ...(spec.pki.breakGlass ? [BREAK_GLASS] : [])];
  return stableJson({
    encryptionAlgorithm: spec.pki.keyAlgorithm,
    certificateAuthorities: CAS.map((ca) => ({
      files: [ca.certFile, ca.keyFile],
      earlyRenewalHours: 0,
      ...describeCertificate(text(outputs, SELF_SIGNED, n(`ca-${ca.name}`), "certPem")),
    })),
    serviceAccountKey: { files: [SA_FILES.privateKey, SA_FILES.publicKey], algorithm: spec.pki.keyAlgorithm },
    clientCertificates: clients.map((c) => ({
      credential: c.id,
      earlyRenewalHours: spec.pki.adminEarlyRenewalHours,
      ...describeCertificate(text(outputs, SIGNED, n(c.id), "certPem")),
    })),
    bootstrapTokens: spec.nodePools.map((p) => ({
      pool: p.name,
      ttlHours: spec.pki.bootstrapTokenTtlHours,
      generation: spec.pki.bootstrapTokenGeneration,
      value: "[secret, random at deploy time]",
    })),
    note: "Read back from certificates the provider double issued from the program's real inputs. Keys, serials and dates differ at deploy time; kubeadm signs every other leaf on the nodes.",
  });
}

/** The emulated files, in kubeadm's layout under pki/, plus pki/admin.conf. */
export function pkiFiles(
  spec: ClusterSpec,
  outputs: Outputs,
  adminKubeconfig: string,
): Record<string, string> {
  const n = (...parts: string[]) => resourceName(spec.clusterName, ...parts);
  const files: Record<string, string> = {
    [`pki/${SA_FILES.privateKey}`]: text(outputs, KEY, n("sa", "key"), "privateKeyPem"),
    [`pki/${SA_FILES.publicKey}`]: text(outputs, KEY, n("sa", "key"), "publicKeyPem"),
    "pki/admin.conf": adminKubeconfig,
  };
  for (const ca of CAS) {
    files[`pki/${ca.certFile}`] = text(outputs, SELF_SIGNED, n(`ca-${ca.name}`), "certPem");
    files[`pki/${ca.keyFile}`] = text(outputs, KEY, n(`ca-${ca.name}`, "key"), "privateKeyPem");
  }
  return files;
}
