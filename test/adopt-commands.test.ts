// The commands that bring an existing ECS instance into a pool (plan/adopt.ts), run with
// real bash in a scratch root: the pool's real user data goes in in parts, and what comes
// out must be exactly what cloud-init writes on a launched node (the same files, bytes and
// modes, and the same runcmd), whatever order the parts arrive in and however often.
// Not run here: cloud-init itself (the expected files come from its write_files as
// test/harness/harness.ts reads them) and Cloud Assistant (its 16 KB limit is checked on
// every command).
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ADOPT_PREFIX,
  adoptInstallCommands,
  adoptResetCommand,
  adoptWaitCommand,
  cloudConfigParts,
} from "../plan/adopt";
import { fileText } from "../plan/node-bootstrap";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import { DONE_FILE } from "../plan/node-units";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

const userData = nodeUserData(specFor({}, "prod"), "worker");

function scratch() {
  const base = mkdtempSync(join(tmpdir(), "adopt-"));
  const root = join(base, "root");
  const bin = join(base, "bin");
  mkdirSync(root);
  mkdirSync(bin);
  // systemctl, kubeadm: record their arguments (the instance's own would act on it).
  for (const cmd of ["systemctl", "kubeadm"]) {
    writeFileSync(join(bin, cmd), `#!/usr/bin/env bash\necho "${cmd} $*" >> "${base}/calls"\n`);
    chmodSync(join(bin, cmd), 0o755);
  }
  const run = (script: string, env: Record<string, string> = {}) => {
    const r = spawnSync("bash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, KUBEADM_ALICLOUD_ROOT: root, ...env },
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };
  const calls = () => (existsSync(join(base, "calls")) ? readFileSync(join(base, "calls"), "utf8") : "");
  return { root, run, calls };
}

describe("installing the pool's user data on an adopted instance", () => {
  const commands = adoptInstallCommands(userData);

  it("travels in parts, each under Cloud Assistant's 16 KB after Base64", () => {
    // The pool's user data alone is more than one command can carry.
    expect(commandContentSize(userData)).toBeGreaterThan(COMMAND_CONTENT_LIMIT);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const c of commands) expect(commandContentSize(c)).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
  });

  it("writes exactly the files cloud-init writes on a launched node, with their modes, then runs runcmd", () => {
    const box = scratch();
    // Parts out of order and one sent twice (a retried delivery): the result is the same.
    const parts = commands.slice(0, -1);
    for (const c of [...parts].reverse()) expect(box.run(c).status).toBe(0);
    expect(box.run(parts[0] ?? "").status).toBe(0);
    const last = box.run(commands[commands.length - 1] ?? "");
    expect(last.status, last.output).toBe(0);
    expect(last.output).toContain(`${ADOPT_PREFIX}installed`);
    const { files, runcmd } = cloudConfigParts(userData);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const path = join(box.root, f.path);
      expect(readFileSync(path, "utf8"), f.path).toBe(fileText({ ...f, owner: "root:root" } as never));
      expect((statSync(path).mode & 0o777).toString(8).padStart(4, "0"), f.path).toBe(f.permissions);
    }
    expect(box.calls().trim().split("\n")).toEqual(runcmd.map((c) => c.join(" ")));
    // Rerun (a retried step): the same files, the same commands again, nothing else.
    expect(box.run(commands[commands.length - 1] ?? "").status).toBe(0);
  });

  it("refuses to run parts that do not add up, and installs nothing", () => {
    const box = scratch();
    for (const c of commands.slice(1, -1)) box.run(c);
    const r = box.run(commands[commands.length - 1] ?? "");
    expect(r.status).toBe(3);
    expect(r.output).toContain("do not add up");
    expect(existsSync(join(box.root, "usr/local/sbin/kubeadm-alicloud-bootstrap"))).toBe(false);
    expect(box.calls()).toBe("");
  });
});

describe("waiting for an adopted instance's bootstrap", () => {
  const status = (root: string, s: string) => {
    mkdirSync(join(root, "var/lib/kubeadm-alicloud"), { recursive: true });
    mkdirSync(join(root, "var/log/kubeadm-alicloud"), { recursive: true });
    writeFileSync(join(root, "var/lib/kubeadm-alicloud/status"), `${s}\n`);
    writeFileSync(join(root, "var/log/kubeadm-alicloud/bootstrap.log"), "kubeadm join: the last line\n");
  };

  it("passes on ok, fails on failed with the log's tail, and fails at its own limit", () => {
    const ok = scratch();
    status(ok.root, "ok");
    expect(ok.run(adoptWaitCommand())).toMatchObject({ status: 0 });
    const failed = scratch();
    status(failed.root, "failed: kubeadm join");
    const f = failed.run(adoptWaitCommand());
    expect(f.status).toBe(1);
    expect(f.output).toContain("kubeadm join: the last line");
    expect(f.output).toContain(`${ADOPT_PREFIX}the bootstrap failed: kubeadm join`);
    const stuck = scratch();
    status(stuck.root, "running");
    const s = stuck.run(adoptWaitCommand(), { KUBEADM_ALICLOUD_WAIT_SECONDS: "0" });
    expect(s.status).toBe(1);
    expect(s.output).toContain("did not finish in time (status: running)");
  });
});

describe("taking an adopted instance out of the cluster", () => {
  it("resets kubeadm, disables the kubelet and the bootstrap, and forgets the bootstrap's state", () => {
    const box = scratch();
    mkdirSync(join(box.root, "var/lib/kubeadm-alicloud"), { recursive: true });
    writeFileSync(join(box.root, DONE_FILE), "");
    const r = box.run(adoptResetCommand());
    expect(r.status, r.output).toBe(0);
    expect(box.calls()).toContain("kubeadm reset -f");
    expect(box.calls()).toContain("systemctl disable --now kubelet");
    expect(box.calls()).toContain("systemctl disable --now kubeadm-alicloud-bootstrap.service");
    expect(existsSync(join(box.root, DONE_FILE))).toBe(false);
    expect(box.run(adoptResetCommand()).status).toBe(0);
  });

  it("every command passes shellcheck", () => {
    const dir = mkdtempSync(join(tmpdir(), "adopt-sc-"));
    const all = [...adoptInstallCommands(userData), adoptWaitCommand(), adoptResetCommand()];
    const files = all.map((c, i) => {
      const f = join(dir, `c${i}.sh`);
      writeFileSync(f, c);
      return f;
    });
    const r = spawnSync("shellcheck", files, { encoding: "utf8" });
    expect(r.error, "shellcheck is missing (bash .ci/run installs it)").toBeUndefined();
    expect(r.stdout).toBe("");
  });
});
