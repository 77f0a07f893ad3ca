// The user data of each kind of node the bootstrap tests boot in the sandbox. The stub
// metadata service gives every node the address 10.0.0.21 (stubs.sh).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterSpec } from "../../config/spec";
import type { ClusterFacts } from "../../plan/kubeadm";
import { renderUserData } from "../../plan/node-bootstrap";
import { PUBLIC_PKI_FILES } from "../../plan/node-secrets";
import { CAS, SA_FILES } from "../../plan/pki";

export const FACTS: ClusterFacts = {
  loadBalancerAddress: "10.0.0.250",
  discoveryHash: `sha256:${"cd".repeat(32)}`,
  encryptionAlgorithm: "RSA-2048",
};
/**
 * A real PKI for the sandbox, made once with openssl: each CA's certificate and key and
 * the service-account pair, so that what the bootstrap does with them (signing client
 * certificates for the clean-up calls) is done for real. Path under /etc/kubernetes/pki -> PEM.
 */
const pkis = new Map<number, Readonly<Record<string, string>>>();
export function testPki(bits = 2048): Readonly<Record<string, string>> {
  const known = pkis.get(bits);
  if (known) return known;
  const made = makePki(bits);
  pkis.set(bits, made);
  return made;
}
function makePki(bits: number): Readonly<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "pki-"));
  const files: Record<string, string> = {};
  const run = (args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  for (const ca of CAS) {
    const base = ca.keyFile.replace(/\.key$/, "").replace(/\//g, "-");
    run([
      "req",
      "-x509",
      "-newkey",
      `rsa:${bits}`,
      "-nodes",
      "-keyout",
      `${base}.key`,
      "-out",
      `${base}.crt`,
      "-subj",
      `/CN=${ca.commonName}`,
      "-days",
      "2",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment",
    ]);
    files[ca.certFile] = readFileSync(join(dir, `${base}.crt`), "utf8");
    files[ca.keyFile] = readFileSync(join(dir, `${base}.key`), "utf8");
  }
  run(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`, "-out", "sa.key"]);
  run(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  files[SA_FILES.privateKey] = readFileSync(join(dir, "sa.key"), "utf8");
  files[SA_FILES.publicKey] = readFileSync(join(dir, "sa.pub"), "utf8");
  return files;
}
export const TEST_PKI = testPki();
/**
 * The public PKI files control planes get in user data; keys and tokens come from the (fake) secret store.
 */
export const publicPki = (bits = 2048) =>
  Object.fromEntries(PUBLIC_PKI_FILES.map((f) => [f, testPki(bits)[f] as string]));
export const NODE_IP = "10.0.0.21";

/** "first": the control plane that may init; "control-plane": any other; "worker": a pool's node. */
export type TestNode = "first" | "control-plane" | "worker";

/** The first control plane is at NODE_IP; another control plane is the second of three. */
export const PEERS: Readonly<Record<Exclude<TestNode, "worker">, readonly string[]>> = {
  first: [NODE_IP, "10.0.0.11", "10.0.0.12"],
  "control-plane": ["10.0.0.10", NODE_IP, "10.0.0.12"],
};

/** A node's user data; control planes carry the test PKI's certificates (`bits`: its RSA key size). */
export function nodeUserData(spec: ClusterSpec, node: TestNode, pool = 0, bits = 2048): string {
  if (node === "worker")
    return renderUserData(
      { spec, facts: FACTS, role: "worker", ...(spec.nodePools[pool] ? { pool: spec.nodePools[pool] } : {}) },
      {},
    );
  return renderUserData(
    { spec, facts: FACTS, role: "control-plane", peers: PEERS[node], first: node === "first" },
    { pki: publicPki(bits) },
  );
}

/**
 * Environment for a bootstrap run: a peer that serves for joining control planes
 * (10.0.0.10), no waiting for peers, plus whatever the test adds.
 */
export function bootEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { STUB_SERVING_PEERS: "10.0.0.10", PEER_WAIT_SECONDS: "0", ...extra };
}
