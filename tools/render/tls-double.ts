// A stand-in for the @pulumi/tls and @pulumi/random providers under Pulumi's mocks.
// It executes exactly the inputs it is given and issues real keys, CSRs and X.509
// certificates (Node's crypto + @peculiar/x509): it does not know what a "right"
// certificate is. Like the real providers it rejects missing required arguments and
// values they do not accept, so a test passing here means the inputs were coherent.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  webcrypto,
  type KeyObject,
} from "node:crypto";
// @peculiar/x509 resolves its algorithms through tsyringe, which needs this polyfill.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

// @peculiar/x509 is typed against the DOM's Crypto; Node's webcrypto is that API.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** allowed_uses values of the tls provider (terraform-provider-tls), snake_case as it spells them. */
const KEY_USAGE: Record<string, x509.KeyUsageFlags> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXT_KEY_USAGE: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: "1.3.6.1.5.5.7.3.1",
  client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3",
  email_protection: "1.3.6.1.5.5.7.3.4",
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9",
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

type Inputs = Record<string, unknown>;

export class ProviderRejection extends Error {}

function reject(type: string, name: string, message: string): never {
  throw new ProviderRejection(`${type} "${name}": ${message}`);
}

function required<T>(
  type: string,
  name: string,
  inputs: Inputs,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
): T {
  const v = inputs[key];
  if (v === undefined || v === null || v === "") reject(type, name, `the argument "${key}" is required`);
  if (!check(v)) reject(type, name, `"${key}" must be ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function optionalStrings(inputs: Inputs, key: string): string[] {
  const v = inputs[key];
  return isStringArray(v) ? v : [];
}

// ---- keys ------------------------------------------------------------------------

function privateKey(type: string, name: string, inputs: Inputs): Inputs {
  const algorithm = required(type, name, inputs, "algorithm", isString, "a string");
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (algorithm === "RSA") {
    const bits = inputs.rsaBits === undefined ? 2048 : inputs.rsaBits;
    if (!isNumber(bits) || bits < 1024)
      reject(type, name, `rsaBits ${String(bits)} is not a usable RSA size`);
    pair = generateKeyPairSync("rsa", { modulusLength: bits });
  } else if (algorithm === "ECDSA") {
    const curve = inputs.ecdsaCurve === undefined ? "P224" : inputs.ecdsaCurve;
    const names: Record<string, string> = {
      P224: "secp224r1",
      P256: "prime256v1",
      P384: "secp384r1",
      P521: "secp521r1",
    };
    const named = isString(curve) ? names[curve] : undefined;
    if (!named) reject(type, name, `ecdsaCurve ${String(curve)} is not one of P224, P256, P384, P521`);
    pair = generateKeyPairSync("ec", { namedCurve: named });
  } else if (algorithm === "ED25519") {
    pair = generateKeyPairSync("ed25519");
  } else {
    reject(type, name, `algorithm "${algorithm}" is not one of RSA, ECDSA, ED25519`);
  }
  // The provider writes PKCS#1 for RSA and SEC1 for ECDSA, plus PKCS#8 for all.
  const traditional = algorithm === "RSA" ? "pkcs1" : algorithm === "ECDSA" ? "sec1" : "pkcs8";
  return {
    privateKeyPem: pair.privateKey.export({ type: traditional, format: "pem" }),
    privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }),
    publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }),
  };
}

type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];
type SigningAlgorithm = NonNullable<
  Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["signingAlgorithm"]
>;

interface ImportedKey {
  readonly keys: KeyPair;
  readonly signingAlgorithm: SigningAlgorithm;
}

const WEB_CURVES: Record<string, { named: string; hash: string }> = {
  prime256v1: { named: "P-256", hash: "SHA-256" },
  secp384r1: { named: "P-384", hash: "SHA-384" },
  secp521r1: { named: "P-521", hash: "SHA-512" },
};

/** A PEM private key as a WebCrypto key pair, with the signature algorithm the tls provider uses for it. */
async function importKey(type: string, name: string, pem: string): Promise<ImportedKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    return reject(type, name, "the private key is not a PEM private key");
  }
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  let params: { name: string; hash?: string; namedCurve?: string };
  let signing: { name: string; hash: string };
  if (key.asymmetricKeyType === "rsa") {
    params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    signing = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  } else if (key.asymmetricKeyType === "ec") {
    const curve = WEB_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""];
    if (!curve)
      return reject(
        type,
        name,
        `this double cannot sign with curve ${String(key.asymmetricKeyDetails?.namedCurve)}`,
      );
    params = { name: "ECDSA", namedCurve: curve.named };
    signing = { name: "ECDSA", hash: curve.hash };
  } else {
    return reject(type, name, `this double cannot sign with ${String(key.asymmetricKeyType)} keys`);
  }
  const subtle = webcrypto.subtle;
  const pair = {
    privateKey: await subtle.importKey("pkcs8", pkcs8, params, true, ["sign"]),
    publicKey: await subtle.importKey("spki", spki, params, true, ["verify"]),
  };
  return { keys: pair as unknown as KeyPair, signingAlgorithm: signing };
}

// ---- certificates ----------------------------------------------------------------

const SUBJECT_FIELDS: Record<string, string> = {
  commonName: "CN",
  organization: "O",
  organizationalUnit: "OU",
  country: "C",
  province: "ST",
  locality: "L",
  postalCode: "postalCode",
  serialNumber: "serialNumber",
};

function subjectName(type: string, name: string, subject: unknown): x509.JsonName {
  if (subject === undefined) return [];
  if (typeof subject !== "object" || subject === null) reject(type, name, "subject must be an object");
  const out: x509.JsonName = [];
  for (const [k, v] of Object.entries(subject)) {
    if (v === undefined) continue;
    const attr = SUBJECT_FIELDS[k];
    if (!attr) {
      if (k === "streetAddresses" || k === "emailAddress") continue;
      reject(type, name, `subject has no field "${k}"`);
    }
    if (!isString(v)) reject(type, name, `subject.${k} must be a string`);
    out.push({ [attr]: [v] });
  }
  return out;
}

function usageExtensions(type: string, name: string, uses: string[]): x509.Extension[] {
  let flags = 0;
  const ekus: string[] = [];
  for (const use of uses) {
    const flag = KEY_USAGE[use];
    const eku = EXT_KEY_USAGE[use];
    if (flag !== undefined) flags |= flag;
    else if (eku !== undefined) ekus.push(eku);
    else reject(type, name, `allowedUses: "${use}" is not an accepted value`);
  }
  const out: x509.Extension[] = [];
  if (flags !== 0) out.push(new x509.KeyUsagesExtension(flags, true));
  if (ekus.length > 0) out.push(new x509.ExtendedKeyUsageExtension(ekus));
  return out;
}

function sanExtension(dnsNames: string[], ipAddresses: string[]): x509.Extension[] {
  const names = [
    ...dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  return names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [];
}

function validity(type: string, name: string, inputs: Inputs): { notBefore: Date; notAfter: Date } {
  const hours = required(type, name, inputs, "validityPeriodHours", isNumber, "a number");
  if (hours <= 0) reject(type, name, "validityPeriodHours must be positive");
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + hours * 3_600_000) };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return bytes.toString("hex");
}

function timeOutputs(v: { notBefore: Date; notAfter: Date }, inputs: Inputs): Inputs {
  return {
    validityStartTime: v.notBefore.toISOString().replace(".000Z", "Z"),
    validityEndTime: v.notAfter.toISOString().replace(".000Z", "Z"),
    earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
    readyForRenewal: false,
  };
}

async function selfSignedCert(type: string, name: string, inputs: Inputs): Promise<Inputs> {
  const keyPem = required(type, name, inputs, "privateKeyPem", isString, "a string");
  const uses = required(type, name, inputs, "allowedUses", isStringArray, "a list of strings");
  const key = await importKey(type, name, keyPem);
  const v = validity(type, name, inputs);
  const isCa = inputs.isCaCertificate === true;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCa, undefined, true),
    ...usageExtensions(type, name, uses),
    ...sanExtension(optionalStrings(inputs, "dnsNames"), optionalStrings(inputs, "ipAddresses")),
  ];
  if (inputs.setSubjectKeyId === true)
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subjectName(type, name, inputs.subject),
    ...v,
    keys: key.keys,
    signingAlgorithm: key.signingAlgorithm,
    extensions,
  });
  return { certPem: cert.toString("pem"), ...timeOutputs(v, inputs) };
}

async function certRequest(type: string, name: string, inputs: Inputs): Promise<Inputs> {
  const keyPem = required(type, name, inputs, "privateKeyPem", isString, "a string");
  const key = await importKey(type, name, keyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(type, name, inputs.subject),
    keys: key.keys,
    signingAlgorithm: key.signingAlgorithm,
    extensions: sanExtension(optionalStrings(inputs, "dnsNames"), optionalStrings(inputs, "ipAddresses")),
  });
  return { certRequestPem: csr.toString("pem") };
}

async function locallySignedCert(type: string, name: string, inputs: Inputs): Promise<Inputs> {
  const csrPem = required(type, name, inputs, "certRequestPem", isString, "a string");
  const caKeyPem = required(type, name, inputs, "caPrivateKeyPem", isString, "a string");
  const caCertPem = required(type, name, inputs, "caCertPem", isString, "a string");
  const uses = required(type, name, inputs, "allowedUses", isStringArray, "a list of strings");
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) reject(type, name, "certRequestPem does not carry a valid signature");
  const ca = new x509.X509Certificate(caCertPem);
  const caKey = await importKey(type, name, caKeyPem);
  const same = Buffer.from(ca.publicKey.rawData).equals(
    createPublicKey(createPrivateKey(caKeyPem)).export({ type: "spki", format: "der" }),
  );
  if (!same) reject(type, name, "caPrivateKeyPem does not belong to caCertPem");
  const v = validity(type, name, inputs);
  const san = csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(inputs.isCaCertificate === true, undefined, true),
    ...usageExtensions(type, name, uses),
    ...(san ? [san] : []),
    await x509.AuthorityKeyIdentifierExtension.create(caKey.keys.publicKey),
  ];
  if (inputs.setSubjectKeyId === true)
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(csr.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: csr.subject,
    issuer: ca.subject,
    ...v,
    publicKey: csr.publicKey,
    signingKey: caKey.keys.privateKey,
    signingAlgorithm: caKey.signingAlgorithm,
    extensions,
  });
  return { certPem: cert.toString("pem"), ...timeOutputs(v, inputs) };
}

// ---- random ----------------------------------------------------------------------

function randomText(type: string, name: string, inputs: Inputs): Inputs {
  const length = required(type, name, inputs, "length", isNumber, "a number");
  if (length < 1) reject(type, name, "length must be at least 1");
  const flag = (k: string) => inputs[k] !== false; // every class is on unless turned off
  let alphabet = "";
  if (flag("lower")) alphabet += "abcdefghijklmnopqrstuvwxyz";
  if (flag("upper")) alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (flag("numeric")) alphabet += "0123456789";
  if (flag("special"))
    alphabet += isString(inputs.overrideSpecial) ? inputs.overrideSpecial : "!@#$%&*()-_=+[]{}<>:?";
  if (alphabet === "") reject(type, name, "every character class is disabled");
  // RandomString's result is not a secret (the random provider does not mark it), and
  // it can show in the bundle (a bootstrap token's id names its Secret): derived from
  // the resource's name and keepers, so the same stack renders the same bytes. Passwords
  // stay random: they are secrets and the bundle masks them. pulumi up draws real ones.
  const seeded = type === "random:index/randomString:RandomString";
  const seed = createHash("sha256")
    .update(`${name}\0${JSON.stringify(inputs.keepers ?? {})}`)
    .digest();
  const pick = (i: number) =>
    (seeded ? (seed[i % seed.length] ?? 0) + i * 7 : randomInt(alphabet.length)) % alphabet.length;
  const result = Array.from({ length }, (_, i) => alphabet[pick(i)]).join("");
  return { result };
}

function randomBytesOutputs(type: string, name: string, inputs: Inputs): Inputs {
  const length = required(type, name, inputs, "length", isNumber, "a number");
  if (length < 1) reject(type, name, "length must be at least 1");
  const bytes = randomBytes(length);
  return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
}

/** Outputs for tls and random resources, or undefined for types this double does not know. */
export async function tlsAndRandomOutputs(
  type: string,
  name: string,
  inputs: Inputs,
): Promise<Inputs | undefined> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return privateKey(type, name, inputs);
    case "tls:index/selfSignedCert:SelfSignedCert":
      return selfSignedCert(type, name, inputs);
    case "tls:index/certRequest:CertRequest":
      return certRequest(type, name, inputs);
    case "tls:index/locallySignedCert:LocallySignedCert":
      return locallySignedCert(type, name, inputs);
    case "random:index/randomBytes:RandomBytes":
      return randomBytesOutputs(type, name, inputs);
    case "random:index/randomString:RandomString":
    case "random:index/randomPassword:RandomPassword":
      return randomText(type, name, inputs);
    default:
      return undefined;
  }
}
