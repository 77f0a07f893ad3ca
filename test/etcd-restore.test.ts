// The etcd restore (bootstrap/etcd-restore.sh), proven with the real etcd (Debian's
// etcd-server 3.4 on loopback, plain HTTP: TLS is not what a restore is about): a
// three-member cluster with data, a snapshot, a restore of each member into a new
// three-member cluster, the data present there, and its members the new ones. Debian's
// etcd is 3.4, so the restore runs through etcdctl; the etcdutl path (etcd 3.5+, with
// --bump-revision and --mark-compacted) is only checked for its arguments, through a
// recording stand-in that hands over to etcdctl without those two flags.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./harness/net";

const RESTORE = join(__dirname, "..", "bootstrap", "etcd-restore.sh");
const ETCD = "/usr/bin/etcd";
const ETCDCTL = "/usr/bin/etcdctl";
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
});

const ctl = (endpoints: string, args: string[]) =>
  spawnSync(ETCDCTL, ["--endpoints", endpoints, "--dial-timeout", "3s", "--command-timeout", "5s", ...args], {
    encoding: "utf8",
    env: { ...process.env, ETCDCTL_API: "3" },
  });

interface Member {
  name: string;
  client: string;
  peer: string;
}

async function members(prefix: string): Promise<Member[]> {
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  return [0, 1, 2].map((i) => ({
    name: `${prefix}-${i}`,
    client: `http://127.0.0.1:${ports[2 * i]}`,
    peer: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
}

const initialCluster = (ms: Member[]) => ms.map((m) => `${m.name}=${m.peer}`).join(",");

/** Start each member on its data dir; `fresh` passes the bootstrap flags a new cluster needs. */
async function start(ms: Member[], dataDir: (m: Member) => string, fresh: boolean): Promise<string> {
  for (const m of ms) {
    procs.push(
      spawn(
        ETCD,
        [
          "--name",
          m.name,
          "--data-dir",
          dataDir(m),
          "--listen-client-urls",
          m.client,
          "--advertise-client-urls",
          m.client,
          "--listen-peer-urls",
          m.peer,
          ...(fresh
            ? ["--initial-advertise-peer-urls", m.peer, "--initial-cluster", initialCluster(ms)]
            : []),
        ],
        { stdio: "ignore" },
      ),
    );
  }
  const endpoints = ms.map((m) => m.client).join(",");
  for (let i = 0; i < 100; i++) {
    if (ctl(endpoints, ["endpoint", "health"]).status === 0) return endpoints;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`etcd did not become healthy at ${endpoints}`);
}

function restore(
  snapshot: string,
  m: Member,
  cluster: string,
  dataDir: string,
  env: Record<string, string> = {},
) {
  return spawnSync("bash", [RESTORE, snapshot, m.name, m.peer, cluster, dataDir], {
    encoding: "utf8",
    env: { ...process.env, ETCDUTL: "no-etcdutl-here", ...env },
  });
}

describe.skipIf(!existsSync(ETCD))("restoring etcd from a snapshot (real etcd 3.4, loopback)", () => {
  it("three members with data -> a snapshot -> a new three-member cluster with the data and only its own members", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-restore-"));
    const old = await members("old");
    const oldEndpoints = await start(old, (m) => join(dir, m.name), true);
    for (let i = 0; i < 50; i++)
      expect(ctl(oldEndpoints, ["put", `/registry/pods/p${i}`, `v${i}`]).status).toBe(0);
    const oldId = JSON.parse(ctl(oldEndpoints, ["member", "list", "-w", "json"]).stdout).header.cluster_id;
    const snapshot = join(dir, "snapshot.db");
    const first = old[0] as Member;
    const saved = ctl(first.client, ["snapshot", "save", snapshot]);
    expect(saved.status, saved.stderr).toBe(0);
    for (const p of procs.splice(0)) p.kill("SIGKILL");

    const fresh = await members("new");
    for (const m of fresh) {
      const r = restore(snapshot, m, initialCluster(fresh), join(dir, `${m.name}.etcd`));
      expect(r.status, r.stderr).toBe(0);
    }
    const endpoints = await start(fresh, (m) => join(dir, `${m.name}.etcd`), false);
    const got = ctl(endpoints, ["get", "/registry/pods/", "--prefix", "--keys-only"]);
    expect(got.stdout.split("\n").filter(Boolean)).toHaveLength(50);
    expect(ctl(endpoints, ["get", "/registry/pods/p7", "--print-value-only"]).stdout.trim()).toBe("v7");
    const list = JSON.parse(ctl(endpoints, ["member", "list", "-w", "json"]).stdout) as {
      header: { cluster_id: number };
      members: { name: string; peerURLs: string[] }[];
    };
    expect(list.members.map((m) => `${m.name}=${m.peerURLs.join()}`).sort()).toEqual(
      fresh.map((m) => `${m.name}=${m.peer}`).sort(),
    );
    expect(list.header.cluster_id).not.toBe(oldId);
  });

  it("refuses a damaged snapshot and a member missing from the cluster list, touching no data directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-restore-"));
    const bad = join(dir, "bad.db");
    writeFileSync(bad, "not a bolt database");
    const m = { name: "a", client: "", peer: "http://127.0.0.1:1" };
    const damaged = restore(bad, m, "a=http://127.0.0.1:1", join(dir, "a.etcd"));
    expect(damaged.status).not.toBe(0);
    expect(damaged.stderr).toContain("is damaged");
    const missing = restore(bad, m, "b=http://127.0.0.1:2", join(dir, "a.etcd"));
    expect(missing.stderr).toContain("does not list this member");
    expect(existsSync(join(dir, "a.etcd"))).toBe(false);
  });

  it("moves an existing data directory aside, and gives etcdutl the revision bump Kubernetes needs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-restore-"));
    const [m] = await members("solo");
    const solo = m as Member;
    const endpoints = await start([solo], (x) => join(dir, x.name), true);
    expect(ctl(endpoints, ["put", "k", "v"]).status).toBe(0);
    const snapshot = join(dir, "s.db");
    expect(ctl(endpoints, ["snapshot", "save", snapshot]).status).toBe(0);
    for (const p of procs.splice(0)) p.kill("SIGKILL");
    // A stand-in for etcdutl: records its arguments, then runs etcd 3.4's etcdctl without
    // the two flags 3.4 lacks.
    const shim = join(dir, "etcdutl");
    writeFileSync(
      shim,
      `#!/usr/bin/env bash\necho "$*" >> "${join(dir, "etcdutl.log")}"\nargs=()\nskip=0\nfor a in "$@"; do\n  if [ "$skip" = 1 ]; then skip=0; continue; fi\n  case "$a" in --bump-revision) skip=1 ;; --mark-compacted) ;; *) args+=("$a") ;; esac\ndone\nETCDCTL_API=3 exec ${ETCDCTL} "\${args[@]}"\n`,
    );
    chmodSync(shim, 0o755);
    const target = join(dir, "solo-0");
    const r = restore(snapshot, solo, `${solo.name}=${solo.peer}`, target, { ETCDUTL: shim });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(dir).some((f) => f.startsWith("solo-0.before-restore-"))).toBe(true);
    const calls = readFileSync(join(dir, "etcdutl.log"), "utf8");
    expect(calls).toMatch(/snapshot restore .* --bump-revision 1000000000 --mark-compacted/);
    expect(calls).toMatch(/--initial-cluster-token kubeadm-alicloud-restore-\d+/);
    expect(existsSync(join(target, "member"))).toBe(true);
  });
});
