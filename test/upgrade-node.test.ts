// The in-place node upgrade (bootstrap/upgrade-node.sh through plan/upgrade-node.ts), the
// exact Cloud Assistant command, in the bash sandbox on a root built from a node's real
// user data, with apt, dnf, kubeadm and systemctl stubbed (test/harness/stubs.sh). What
// the stubs cannot tell: whether the packages exist on the mirrors, and kubeadm's own
// upgrade behaviour (read in kubeadm-upgrade.md, not run).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import { kubernetesRepository, upgradeNodeCommand } from "../plan/upgrade-node";
import { read, runScript, sandbox, type Sandbox } from "./harness/harness";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

const FROM = specFor({ clusterName: "upg", kubernetesVersion: "1.35.2" });

function runUpgrade(box: Sandbox, kind: "apply" | "node", target: string, env: Record<string, string> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "upgrade-cmd-")), "command.sh");
  writeFileSync(file, upgradeNodeCommand(kind, target));
  return runScript(box, file, [], { NETWORK_ATTEMPTS: "2", ...env });
}

/** The calls that matter, with the stubbed sleep between retries left out. */
const calls = (c: readonly string[]) => c.filter((x) => !x.startsWith("sleep"));

describe("upgrading a node in place", () => {
  it("first control plane on Ubuntu: switches the repository, kubeadm, upgrade apply, then the kubelet", () => {
    const box = sandbox(nodeUserData(FROM, "first"), "ubuntu-24.04");
    const run = runUpgrade(box, "apply", "1.36.5");
    expect(run.status, run.output).toBe(0);
    const repo = "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36";
    expect(calls(run.calls)).toEqual([
      expect.stringContaining(`curl -fsSL --max-time 60 ${repo}/deb/Release.key`),
      expect.stringMatching(/^apt-get .* update -q$/),
      expect.stringMatching(/^apt-get .* install -y -q --allow-change-held-packages kubeadm=1\.36\.5-1\.1$/),
      "apt-mark hold kubeadm",
      "kubeadm upgrade apply -y v1.36.5",
      expect.stringContaining(`${repo}/deb/Release.key`),
      expect.stringMatching(/^apt-get .* update -q$/),
      expect.stringMatching(
        /install -y -q --allow-change-held-packages kubelet=1\.36\.5-1\.1 kubectl=1\.36\.5-1\.1$/,
      ),
      "apt-mark hold kubelet kubectl",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
    ]);
    expect(read(box, "etc/apt/sources.list.d/kubernetes.list")).toContain(`${repo}/deb/ /`);
    expect(run.output).toContain("kubeadm-alicloud: node upgraded to 1.36.5");
  });

  it("is resumable: a rerun after success does nothing, after a failure it goes on from the failed step", () => {
    const box = sandbox(nodeUserData(FROM, "control-plane"), "ubuntu-22.04");
    const failed = runUpgrade(box, "node", "1.36.5", { STUB_FAIL_MATCH: "kubeadm upgrade" });
    expect(failed.status).not.toBe(0);
    expect(failed.output).toContain("upgrade to 1.36.5 stopped");
    // The failure stops the step: no kubelet was touched.
    expect(failed.calls.some((c) => c.includes("kubelet"))).toBe(false);
    const resumed = runUpgrade(box, "node", "1.36.5");
    expect(resumed.status, resumed.output).toBe(0);
    expect(calls(resumed.calls)[0]).toBe("kubeadm upgrade node");
    expect(resumed.calls.some((c) => c.includes("kubeadm=1.36.5"))).toBe(false);
    const again = runUpgrade(box, "node", "1.36.5");
    expect(again.status, again.output).toBe(0);
    expect(again.calls).toEqual([]);
  });

  it("retries a failing repository with backoff, then stops before kubeadm", () => {
    const box = sandbox(nodeUserData(FROM, "worker"), "ubuntu-24.04");
    const run = runUpgrade(box, "node", "1.36.5", { STUB_APT_FAIL_TIMES: "5" });
    expect(run.status).not.toBe(0);
    expect(run.calls.filter((c) => /apt-get .* update/.test(c))).toHaveLength(2);
    expect(run.calls).toContain("sleep 2");
    expect(run.calls.some((c) => c.startsWith("kubeadm"))).toBe(false);
  });

  it("on Alibaba Cloud Linux: the rpm repository of the target minor, versions pinned", () => {
    const box = sandbox(nodeUserData(FROM, "worker"), "alinux3");
    const run = runUpgrade(box, "node", "1.36.5");
    expect(run.status, run.output).toBe(0);
    expect(calls(run.calls)).toEqual([
      "dnf install -y --disableexcludes=kubernetes kubeadm-1.36.5",
      "kubeadm upgrade node",
      "dnf install -y --disableexcludes=kubernetes kubelet-1.36.5 kubectl-1.36.5",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
    ]);
    expect(read(box, "etc/yum.repos.d/kubernetes.repo")).toContain(
      "baseurl=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36/rpm/",
    );
  });

  it("refuses what is no version, and fits Cloud Assistant's command limit", () => {
    expect(() => upgradeNodeCommand("apply", "latest")).toThrow("not an exact Kubernetes version");
    expect(commandContentSize(upgradeNodeCommand("apply", "1.36.5"))).toBeLessThan(COMMAND_CONTENT_LIMIT);
  });
});

describe("the target minor's package repository the preflight checks", () => {
  it("is the one bootstrap/packages.sh installs from, for each package source", () => {
    const script = readFileSync(join(__dirname, "..", "bootstrap", "packages.sh"), "utf8");
    for (const source of ["aliyun-mirror", "upstream"] as const) {
      const line = new RegExp(`^ +${source}\\)\\n +K8S_REPO="([^"]+)"`, "m").exec(script)?.[1];
      expect(line, source).toBeDefined();
      expect(kubernetesRepository(source, "1.36")).toBe(line?.replace("$KUBERNETES_MINOR", "1.36"));
    }
  });
});
