// A single-member etcd of this machine (Debian's etcd 3.4) on loopback, for tests that
// need the real thing: the backups, and the rollout's preflight.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./net";

export const ETCD = "/usr/bin/etcd";
export const ETCDCTL = "/usr/bin/etcdctl";

/** Starts a member with its data under `dir`; returns its client URL once it answers. */
export async function startEtcd(dir: string, procs: ChildProcess[]): Promise<string> {
  const [client, peer] = await Promise.all([freePort(), freePort()]);
  const url = `http://127.0.0.1:${client}`;
  procs.push(
    spawn(
      ETCD,
      [
        "--data-dir",
        join(dir, "data"),
        "--listen-client-urls",
        url,
        "--advertise-client-urls",
        url,
        "--listen-peer-urls",
        `http://127.0.0.1:${peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${peer}`,
        "--initial-cluster",
        `default=http://127.0.0.1:${peer}`,
      ],
      { stdio: "ignore" },
    ),
  );
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync(ETCDCTL, ["--endpoints", url, "endpoint", "health"], {
        env: { ...process.env, ETCDCTL_API: "3" },
      }).status === 0
    )
      return url;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("etcd did not start");
}
