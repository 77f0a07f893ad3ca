// bootstrap/control-plane.sh's etcd clean-up against a REAL etcd (Debian's etcd-server)
// with mutual TLS: the function runs with real bash, curl and openssl, signs its own
// client certificate from the etcd CA, finds the member registered with this node's
// peer URL through etcd's JSON gateway and removes it, leaving every other member.
//
// Debian ships etcd 3.4; kubeadm 1.36 runs 3.6. The gateway paths and JSON shapes used
// (POST /v3/cluster/member/list and /v3/cluster/member/remove; `members[].ID` a decimal
// string, `peerURLs`) are the same in both: etcd api/etcdserverpb/rpc.proto, the
// google.api.http options of Cluster.MemberList and Cluster.MemberRemove (v3.4 and v3.6).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PKI } from "./harness/nodes";
import { freePort } from "./harness/net";

const LIB = join(__dirname, "..", "bootstrap", "control-plane.sh");
let etcd: ChildProcess | undefined;
let root: string;
let clientPort: number;
let log = "";

/** The etcd CLI as an operator would use it, with a certificate of its own. */
function etcdctl(...args: string[]) {
  const pki = join(root, "etc/kubernetes/pki/etcd");
  return spawnSync(
    "etcdctl",
    [
      "--endpoints",
      `https://127.0.0.1:${clientPort}`,
      "--cacert",
      join(pki, "ca.crt"),
      "--cert",
      join(root, "..", "operator.crt"),
      "--key",
      join(root, "..", "operator.key"),
      ...args,
    ],
    {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    },
  );
}

function signed(name: string, ext: string) {
  const dir = join(root, "..");
  const pki = join(root, "etc/kubernetes/pki/etcd");
  execFileSync(
    "openssl",
    [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, `${name}.key`),
      "-subj",
      `/CN=${name}`,
      "-out",
      join(dir, `${name}.csr`),
    ],
    { stdio: "ignore" },
  );
  writeFileSync(join(dir, `${name}.ext`), ext);
  execFileSync(
    "openssl",
    [
      "x509",
      "-req",
      "-in",
      join(dir, `${name}.csr`),
      "-CA",
      join(pki, "ca.crt"),
      "-CAkey",
      join(pki, "ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      join(dir, `${name}.ext`),
      "-out",
      join(dir, `${name}.crt`),
    ],
    { stdio: "ignore" },
  );
}

beforeAll(async () => {
  root = join(mkdtempSync(join(tmpdir(), "etcdm-")), "root");
  const pki = join(root, "etc/kubernetes/pki/etcd");
  mkdirSync(pki, { recursive: true });
  mkdirSync(join(root, "secrets"), { recursive: true, mode: 0o700 });
  writeFileSync(join(pki, "ca.crt"), TEST_PKI["etcd/ca.crt"] ?? "");
  writeFileSync(join(pki, "ca.key"), TEST_PKI["etcd/ca.key"] ?? "", { mode: 0o600 });
  signed("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  signed("operator", "extendedKeyUsage=clientAuth\n");
  clientPort = await freePort();
  const peerPort = await freePort();
  const dir = join(root, "..");
  etcd = spawn(
    "etcd",
    [
      "--name",
      "m0",
      "--data-dir",
      join(dir, "data"),
      "--listen-client-urls",
      `https://127.0.0.1:${clientPort}`,
      "--advertise-client-urls",
      `https://127.0.0.1:${clientPort}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${peerPort}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peerPort}`,
      "--initial-cluster",
      `m0=http://127.0.0.1:${peerPort}`,
      "--initial-cluster-state",
      "new",
      "--cert-file",
      join(dir, "server.crt"),
      "--key-file",
      join(dir, "server.key"),
      "--client-cert-auth",
      "--trusted-ca-file",
      join(pki, "ca.crt"),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  etcd.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  for (let i = 0; i < 100 && etcdctl("endpoint", "health").status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(etcdctl("endpoint", "health").status, log).toBe(0);
}, 30_000);

afterAll(() => {
  etcd?.kill();
});

/** Run remove_own_etcd_member as the bootstrap does, as the node at `nodeIp`. */
function removeOwnMember(nodeIp: string) {
  const script = `set -euo pipefail
log() { echo "log: $*" >&2; }
fail() { echo "FAILED: $*" >&2; exit 1; }
. "${LIB}"
remove_own_etcd_member 127.0.0.1`;
  return spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      ROOT: root,
      SECRETS: join(root, "secrets"),
      NODE_IP: nodeIp,
      PYTHON: "python3",
      ETCD_CLIENT_PORT: String(clientPort),
    },
  });
}

const members = () =>
  (
    JSON.parse(etcdctl("member", "list", "-w", "json").stdout) as {
      members: { ID: number; peerURLs: string[]; isLearner?: boolean }[];
    }
  ).members;

describe("removing the etcd member left at this node's address (real etcd, mutual TLS)", () => {
  it("removes exactly the member with this node's peer URL, and nothing when none has it", () => {
    // An earlier instance at 127.0.0.9 that never came back: a learner, as kubeadm adds
    // members (etcd accepts one learner at a time).
    const added = etcdctl("member", "add", "old-cp", "--peer-urls", "https://127.0.0.9:2380", "--learner");
    expect(added.status, added.stderr).toBe(0);
    const before = members()
      .map((m) => m.peerURLs[0])
      .sort();
    expect(before).toHaveLength(2);

    const none = removeOwnMember("127.0.0.7");
    expect(none.status, none.stderr).toBe(0);
    expect(none.stderr).not.toContain("removing etcd member");
    expect(
      members()
        .map((m) => m.peerURLs[0])
        .sort(),
    ).toEqual(before);

    const r = removeOwnMember("127.0.0.9");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removing etcd member \d+ \(peer https:\/\/127\.0\.0\.9:2380\)/);
    // The serving member stays; the dead one is gone.
    expect(members().map((m) => m.peerURLs[0])).toEqual(before.filter((u) => u !== "https://127.0.0.9:2380"));
  });

  it("fails, saying through which peer, when etcd refuses the client (negative control: the CA matters)", () => {
    const wrong = join(mkdtempSync(join(tmpdir(), "etcdw-")), "root");
    mkdirSync(join(wrong, "etc/kubernetes/pki/etcd"), { recursive: true });
    mkdirSync(join(wrong, "secrets"), { mode: 0o700 });
    // The cluster CA, not etcd's: etcd's client-cert-auth refuses what it signs.
    writeFileSync(join(wrong, "etc/kubernetes/pki/etcd/ca.crt"), TEST_PKI["ca.crt"] ?? "");
    writeFileSync(join(wrong, "etc/kubernetes/pki/etcd/ca.key"), TEST_PKI["ca.key"] ?? "", { mode: 0o600 });
    const script = `set -euo pipefail
log() { :; }
fail() { echo "FAILED: $*" >&2; exit 1; }
. "${LIB}"
remove_own_etcd_member 127.0.0.1`;
    expect(
      etcdctl("member", "add", "old-cp", "--peer-urls", "https://127.0.0.8:2380", "--learner").status,
    ).toBe(0);
    const r = spawnSync("bash", ["-c", script], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH ?? "",
        ROOT: wrong,
        SECRETS: join(wrong, "secrets"),
        NODE_IP: "127.0.0.8",
        PYTHON: "python3",
        ETCD_CLIENT_PORT: String(clientPort),
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAILED: could not list etcd members through 127.0.0.1");
    expect(members().map((m) => m.peerURLs[0])).toContain("https://127.0.0.8:2380");
  });
});
