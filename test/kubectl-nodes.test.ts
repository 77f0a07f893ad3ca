// bootstrap/control-plane.sh's Node clean-up with the REAL kubectl (the machine's) and
// openssl, against a minimal TLS stand-in for kube-apiserver (harness/fake-apiserver.py)
// that requires a client certificate from the cluster CA. The sandbox tests stub kubectl
// and so cannot tell whether the jsonpath and flags work; this does.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PKI } from "./harness/nodes";

const LIB = join(__dirname, "..", "bootstrap", "control-plane.sh");
const haveKubectl = spawnSync("kubectl", ["version", "--client"]).status === 0;
let server: ChildProcess | undefined;
let dir: string;
let port = "";

beforeAll(async () => {
  if (!haveKubectl) return;
  dir = mkdtempSync(join(tmpdir(), "kapi-"));
  const pki = join(dir, "root/etc/kubernetes/pki");
  mkdirSync(pki, { recursive: true });
  mkdirSync(join(dir, "root/secrets"), { mode: 0o700 });
  writeFileSync(join(pki, "ca.crt"), TEST_PKI["ca.crt"] ?? "");
  writeFileSync(join(pki, "ca.key"), TEST_PKI["ca.key"] ?? "", { mode: 0o600 });
  // The API server's certificate: signed by the cluster CA for the peer's address, as kubeadm's is.
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "apiserver.key",
    "-subj",
    "/CN=kube-apiserver",
    "-out",
    "apiserver.csr",
  ]);
  writeFileSync(join(dir, "apiserver.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  run([
    "x509",
    "-req",
    "-in",
    "apiserver.csr",
    "-CA",
    join(pki, "ca.crt"),
    "-CAkey",
    join(pki, "ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "apiserver.ext",
    "-out",
    "apiserver.crt",
  ]);
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      nodes: [
        { name: "cn-hangzhou.i-old", ip: "10.0.0.21" },
        { name: "cn-hangzhou.i-peer", ip: "10.0.0.10" },
        { name: "cn-hangzhou.i-self", ip: "10.0.0.99" },
      ],
    }),
  );
  server = spawn(
    "python3",
    [
      join(__dirname, "harness", "fake-apiserver.py"),
      join(dir, "config.json"),
      join(dir, "log.jsonl"),
      join(dir, "port"),
      join(dir, "apiserver.crt"),
      join(dir, "apiserver.key"),
      join(pki, "ca.crt"),
    ],
    { stdio: "ignore" },
  );
  for (let waited = 0; !existsSync(join(dir, "port")); waited += 20) {
    if (waited > 10_000) throw new Error("fake-apiserver.py did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  port = readFileSync(join(dir, "port"), "utf8").trim();
});

afterAll(() => {
  server?.kill();
});

describe.skipIf(!haveKubectl)(
  "removing the Nodes left at this address (real kubectl, TLS with a client certificate)",
  () => {
    it("deletes the earlier instance's Node and its own, never a peer's, authenticated as kubeadm:cluster-admins", () => {
      const script = `set -euo pipefail
log() { echo "log: $*" >&2; }
fail() { echo "FAILED: $*" >&2; exit 1; }
. "${LIB}"
remove_own_nodes 127.0.0.1`;
      const r = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          ROOT: join(dir, "root"),
          SECRETS: join(dir, "root/secrets"),
          NODE_IP: "10.0.0.21",
          NODE_NAME: "cn-hangzhou.i-self",
          API_PORT: port,
        },
      });
      expect(r.status, r.stderr).toBe(0);
      const log = readFileSync(join(dir, "log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { method: string; path: string; subject: string[] });
      const deleted = log.filter((e) => e.method === "DELETE").map((e) => e.path.split("?")[0]);
      expect(deleted.sort()).toEqual(["/api/v1/nodes/cn-hangzhou.i-old", "/api/v1/nodes/cn-hangzhou.i-self"]);
      // Every request carried the certificate the node signed itself from the cluster CA.
      for (const e of log)
        expect(e.subject).toEqual(["kubeadm:cluster-admins", "kubeadm-alicloud-bootstrap"]);
      expect(r.stderr).toContain("deleting Node cn-hangzhou.i-old (10.0.0.21)");
    });
  },
);
