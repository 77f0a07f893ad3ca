// A sandbox for the bootstrap script: a fake root built from the node's real user data,
// stub system commands on PATH (stubs.sh), and the script run with real bash.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { NODE_PATHS, fileText, type WriteFile } from "../../plan/node-bootstrap";

const STUBBED = ["curl", "apt-get", "apt-mark", "dnf", "modprobe", "sysctl", "swapoff", "systemctl", "kubeadm", "kubectl", "sleep"];
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
  for (const d of ["etc/modules-load.d", "etc/sysctl.d", "etc/apt/sources.list.d", "etc/yum.repos.d", "usr/local/sbin"]) mkdirSync(join(root, d), { recursive: true });
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

export function runBootstrap(box: Sandbox, env: Record<string, string> = {}): Run {
  return runScript(box, join(box.root, NODE_PATHS.script), [], env);
}

/** Run any script of ours in the sandbox, with the stubs on PATH. */
export function runScript(box: Sandbox, script: string, args: readonly string[], env: Record<string, string> = {}): Run {
  const before = existsSync(box.calls) ? readFileSync(box.calls, "utf8").split("\n").filter(Boolean).length : 0;
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: {
      PATH: `${join(box.root, "..", "bin")}:${process.env.PATH ?? ""}`,
      KUBEADM_ALICLOUD_ROOT: box.root,
      STUB_CALLS: box.calls,
      STUB_STATE: box.state,
      ...env,
    },
  });
  const calls = existsSync(box.calls) ? readFileSync(box.calls, "utf8").split("\n").filter(Boolean).slice(before) : [];
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`, calls };
}

export const read = (box: Sandbox, path: string) => readFileSync(join(box.root, path), "utf8");
export const exists = (box: Sandbox, path: string) => existsSync(join(box.root, path));
