// A sandbox for the bootstrap script: a fake root built from the node's real user data,
// stub system commands on PATH (stubs.sh), and the script run with real bash.
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { constants, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import type { ClusterSpec } from "../../config/spec";
import { renderEncryptionConfig } from "../../plan/hardening";
import { NODE_PATHS, fileText, type WriteFile } from "../../plan/node-bootstrap";
import { nodeSecretItems, type SecretSource } from "../../plan/node-secrets";
import { TEST_PKI } from "./nodes";

const STUBBED = [
  "curl",
  "apt-get",
  "apt-mark",
  "dnf",
  "modprobe",
  "sysctl",
  "swapoff",
  "systemctl",
  "kubeadm",
  "kubectl",
  "sleep",
  "crictl",
];
const OS_RELEASE: Record<string, string> = {
  "ubuntu-24.04": 'ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n',
  "ubuntu-22.04": 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n',
  alinux3: 'ID="alinux"\nVERSION_ID="3"\n',
};

export interface Sandbox {
  readonly root: string;
  readonly calls: string;
  readonly state: string;
}

/** A fake root holding what cloud-init would write from `userData`, on the given OS. */
export function sandbox(userData: string, os: keyof typeof OS_RELEASE): Sandbox {
  const base = mkdtempSync(join(tmpdir(), "node-"));
  const root = join(base, "root");
  for (const d of [
    "etc/modules-load.d",
    "etc/sysctl.d",
    "etc/apt/sources.list.d",
    "etc/yum.repos.d",
    "usr/local/sbin",
  ])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), OS_RELEASE[os] ?? "");
  writeFileSync(join(root, "etc/fstab"), "UUID=abc / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n");
  writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n");
  const doc = parse(userData.replace(/^#cloud-config\n/, "")) as { write_files: WriteFile[] };
  for (const f of doc.write_files) {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, fileText(f));
    chmodSync(path, Number.parseInt(f.permissions, 8));
  }
  const bin = join(base, "bin");
  mkdirSync(bin);
  for (const cmd of STUBBED) symlinkSync(join(__dirname, "stubs.sh"), join(bin, cmd));
  const state = join(base, "state");
  mkdirSync(state);
  return { root, calls: join(base, "calls.log"), state };
}

export interface Run {
  readonly status: number;
  readonly output: string;
  /** Stubbed commands in the order they were called, this run only. */
  readonly calls: string[];
}

/**
 * The bootstrap script, in a private mount namespace whose cgroup root is a real
 * filesystem of the host kind asked for: cgroup2 (a cgroup v2 host), or the tmpfs a
 * cgroup v1 host has at /sys/fs/cgroup. `stat -f` on it is the real check.
 */
export function runBootstrap(
  box: Sandbox,
  env: Record<string, string> = {},
  cgroup: "v1" | "v2" = "v2",
): Run {
  const mount = join(box.root, "..", "cgroup");
  mkdirSync(mount, { recursive: true });
  const fs = cgroup === "v2" ? "cgroup2" : "tmpfs";
  return runScript(box, join(box.root, NODE_PATHS.script), [], { CGROUP_ROOT: mount, ...env }, [
    "unshare",
    "-m",
    "sh",
    "-c",
    `mount -t ${fs} none "$CGROUP_ROOT" && exec bash "$0"`,
  ]);
}

/** Run any script of ours in the sandbox, with the stubs on PATH (`wrapper` runs bash). */
export function runScript(
  box: Sandbox,
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  wrapper: readonly string[] = ["bash"],
): Run {
  const before = existsSync(box.calls)
    ? readFileSync(box.calls, "utf8").split("\n").filter(Boolean).length
    : 0;
  const [command, ...prefix] = wrapper as [string, ...string[]];
  const r = spawnSync(command, [...prefix, script, ...args], {
    encoding: "utf8",
    env: {
      PATH: `${join(box.root, "..", "bin")}:${process.env.PATH ?? ""}`,
      KUBEADM_ALICLOUD_ROOT: box.root,
      STUB_CALLS: box.calls,
      STUB_STATE: box.state,
      ...env,
    },
  });
  const calls = existsSync(box.calls)
    ? readFileSync(box.calls, "utf8").split("\n").filter(Boolean).slice(before)
    : [];
  // Killed by a signal: the shell's convention, 128 + the signal's number.
  const status = r.status ?? (r.signal ? 128 + (constants.signals[r.signal] ?? 0) : -1);
  return { status, output: `${r.stdout}${r.stderr}`, calls };
}

export const read = (box: Sandbox, path: string) => readFileSync(join(box.root, path), "utf8");
export const exists = (box: Sandbox, path: string) => existsSync(join(box.root, path));

/** What fake-cloud.py answers (see its docstring). */
export interface FakeCloudConfig {
  readonly parameters: Readonly<Record<string, string>>;
  readonly deny?: readonly string[];
  readonly failFirst?: number;
  readonly roleAfter?: number;
  /** The status every OSS PUT gets instead of 200. */
  readonly ossStatus?: number;
  /** ESS: each scaling group's instances (DescribeScalingInstances' fields). */
  readonly scalingInstances?: Readonly<
    Record<
      string,
      readonly { InstanceId: string; CreationTime: string; LifecycleState?: string; HealthStatus?: string }[]
    >
  >;
  /** ESS actions answered 403 Forbidden.RAM. */
  readonly essDeny?: readonly string[];
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body; for an OSS PUT, its MD5 (Base64) and size. */
  readonly body: string | { md5: string; size: number };
}

/**
 * A local stand-in for the metadata service and OOS, in its own process (the harness
 * runs scripts with spawnSync, which blocks this one). Stop it when done.
 */
export interface FakeCloud {
  readonly url: string;
  /** Environment that points the bootstrap script and the fetcher at it, with short backoff. */
  readonly env: Readonly<Record<string, string>>;
  requests(): LoggedRequest[];
  /** Where OSS PUTs are kept: objects/<path>. */
  readonly dir: string;
  stop(): void;
}

export async function startFakeCloud(config: FakeCloudConfig): Promise<FakeCloud> {
  const dir = mkdtempSync(join(tmpdir(), "cloud-"));
  const files = {
    config: join(dir, "config.json"),
    log: join(dir, "requests.jsonl"),
    port: join(dir, "port"),
  };
  writeFileSync(files.config, JSON.stringify(config));
  const child = spawn("python3", [join(__dirname, "fake-cloud.py"), files.config, files.log, files.port], {
    stdio: "ignore",
  });
  for (let waited = 0; !existsSync(files.port); waited += 20) {
    if (waited > 10_000 || child.exitCode !== null) throw new Error("fake-cloud.py did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = `http://127.0.0.1:${readFileSync(files.port, "utf8").trim()}`;
  return {
    url,
    env: { METADATA_URL: url, OOS_ENDPOINT: url, FETCH_BACKOFF_SECONDS: "0.01" },
    requests: () =>
      existsSync(files.log)
        ? readFileSync(files.log, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as LoggedRequest)
        : [],
    /** Where OSS PUTs are kept: objects/<path>. */
    dir,
    stop: () => void child.kill(),
  };
}

/** Fixed join tokens the stub secret store hands out, by owner. */
export const STUB_TOKENS: Readonly<Record<string, string>> = {
  "control-plane": "cccccc.dddddddddddddddd",
  default: "eeeeee.ffffffffffffffff",
};

/**
 * Values for every node secret of a spec, as the secret store would hold them. The
 * cluster-initialized marker exists only when `initialized` (Pulumi writes it once the
 * first control plane served).
 */
export function stubSecretValues(spec: ClusterSpec, initialized = false): Record<string, string> {
  const value = (s: SecretSource, i: number): string | undefined => {
    if (s.kind === "pki") return TEST_PKI[s.file];
    if (s.kind === "encryption-config") return renderEncryptionConfig("a2V5".repeat(11));
    if (s.kind === "cluster-initialized") return initialized ? "initialized" : undefined;
    return STUB_TOKENS[s.owner] ?? `${String(i).padStart(6, "t")}.${"x".repeat(16)}`;
  };
  return Object.fromEntries(
    nodeSecretItems(spec).flatMap((item, i) => {
      const v = value(item.source, i);
      return v === undefined ? [] : [[item.parameterName, v]];
    }),
  );
}
