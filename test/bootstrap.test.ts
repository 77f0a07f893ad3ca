// The node bootstrap, run with real bash in a sandbox built from the node's real user
// data, with stubbed system commands. Plus the real linters: cloud-init's schema on
// every rendered document and shellcheck on the scripts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterSpec } from "../config/spec";
import type { ClusterFacts, NodeRole } from "../plan/kubeadm";
import { BOOTSTRAP_SCRIPT_PATH, USER_DATA_LIMIT, renderUserData, type NodeSecrets } from "../plan/node-bootstrap";
import { renderEncryptionConfig } from "../plan/hardening";
import { CONTROL_PLANE_FILES } from "../plan/pki";
import { exists, read, runBootstrap, sandbox, type Run } from "./harness/harness";
import { specFor } from "./kit";

const FACTS: ClusterFacts = { loadBalancerAddress: "10.0.0.250", discoveryHash: `sha256:${"cd".repeat(32)}`, encryptionAlgorithm: "RSA-2048" };
const PKI = Object.fromEntries(CONTROL_PLANE_FILES.map((f) => [f, f.endsWith(".key") ? `-----BEGIN PRIVATE KEY-----\nstub ${f}\n-----END PRIVATE KEY-----\n` : `stub ${f}\n`]));
const SECRETS: Record<NodeRole, NodeSecrets> = {
  init: { initTokens: { "control-plane": "gggggg.hhhhhhhhhhhhhhhh", default: "aaaaaa.bbbbbbbbbbbbbbbb" }, pki: PKI, encryptionConfig: renderEncryptionConfig("a2V5".repeat(11)) },
  "control-plane": { bootstrapToken: "cccccc.dddddddddddddddd", pki: PKI, encryptionConfig: renderEncryptionConfig("a2V5".repeat(11)) },
  worker: { bootstrapToken: "eeeeee.ffffffffffffffff" },
};
const HOSTS: Record<NodeRole, string> = { init: "self", "control-plane": "10.0.0.10", worker: FACTS.loadBalancerAddress };

function userData(spec: ClusterSpec, role: NodeRole): string {
  return renderUserData({ spec, facts: FACTS, role, apiHostsAddress: HOSTS[role], ...(role === "worker" ? { pool: spec.nodePools[0] } : {}) }, SECRETS[role]);
}

/** Stubbed commands reduced to the step they stand for, in order, without repeats. */
function steps(run: Run): string[] {
  const names = run.calls.map((c) => {
    if (c.startsWith("curl") && c.includes("100.100.100.200")) return "metadata";
    if (c.startsWith("curl")) return "download";
    if (c.startsWith("kubeadm config")) return "kubeadm config images";
    if (c.startsWith("kubeadm ")) return `kubeadm ${c.split(" ")[1]}`;
    if (c.startsWith("systemctl")) return `systemctl ${c.split(" ")[1]}`;
    return c.split(" ")[0] ?? c;
  });
  return names.filter((n, i) => n !== names[i - 1] && n !== "sleep");
}

const spec = specFor({ clusterName: "boot" });

describe("node bootstrap script in a sandbox", () => {
  it.each([
    ["init", "ubuntu-24.04"],
    ["control-plane", "alinux3"],
    ["worker", "ubuntu-22.04"],
  ] as const)("%s on %s: runs the steps in order and leaves an ok status", (role, os) => {
    const box = sandbox(userData(spec, role), os);
    const run = runBootstrap(box);
    expect(run.status, run.output).toBe(0);
    const install = os === "alinux3" ? ["dnf"] : ["download", "apt-get", "apt-mark"];
    const join = role === "init" ? "kubeadm init" : "kubeadm join";
    expect(steps(run)).toEqual(["metadata", "swapoff", "modprobe", "sysctl", ...install, "kubeadm config images", "systemctl daemon-reload", "systemctl enable", "systemctl restart", "systemctl enable", join]);
    expect(read(box, "var/lib/kubeadm-alicloud/status").trim()).toBe("ok");
    expect(read(box, "etc/sysctl.d/90-kubeadm-alicloud.conf")).toContain("net.ipv4.ip_forward = 1");
    expect(read(box, "etc/fstab")).toContain("#/swapfile none swap");
    // containerd: generated config, pause image as kubeadm names it, systemd cgroups.
    const containerd = read(box, "etc/containerd/config.toml");
    expect(containerd).toContain(`sandbox = "${spec.nodeSoftware.imageRepository}/pause:3.10.1"`);
    expect(containerd).toContain("SystemdCgroup = true");
  });

  it("pins every package to the exact version", () => {
    const ubuntu = runBootstrap(sandbox(userData(spec, "worker"), "ubuntu-24.04"));
    const install = ubuntu.calls.find((c) => c.startsWith("apt-get") && c.includes(" install "));
    expect(install).toContain(`kubeadm=${spec.kubernetesVersion}-1.1`);
    expect(install).toContain(`kubelet=${spec.kubernetesVersion}-1.1`);
    expect(install).toContain("containerd.io=2.3.6-1~ubuntu.24.04~noble");
    expect(ubuntu.calls).toContain("apt-mark hold kubelet kubeadm kubectl containerd.io");
    const alinux = runBootstrap(sandbox(userData(spec, "worker"), "alinux3"));
    const dnf = alinux.calls.find((c) => c.startsWith("dnf install"));
    expect(dnf).toContain(`kubeadm-${spec.kubernetesVersion} `);
    expect(dnf).toContain("containerd.io-2.3.4-2.el8");
  });

  it("takes packages from the per-minor repository of the chosen source", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    runBootstrap(box);
    const minor = spec.kubernetesVersion.split(".").slice(0, 2).join(".");
    expect(read(box, "etc/apt/sources.list.d/kubernetes.list")).toContain(`https://mirrors.aliyun.com/kubernetes-new/core/stable/v${minor}/deb/`);
    const upstream = specFor({ clusterName: "boot", region: "ap-southeast-1", zones: ["ap-southeast-1a"] });
    const box2 = sandbox(userData(upstream, "worker"), "alinux3");
    runBootstrap(box2);
    expect(read(box2, "etc/yum.repos.d/kubernetes.repo")).toContain(`baseurl=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/`);
  });

  it("gives the kubelet the provider id and node name <region>.<instance-id>, from the metadata service with a token", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    const run = runBootstrap(box);
    const used = readFileSync(join(box.state, "kubeadm-config-used.yaml"), "utf8");
    const join0 = parse(used) as { discovery: { bootstrapToken: { token: string } }; nodeRegistration: { name: string; kubeletExtraArgs: { name: string; value: string }[] } };
    expect(join0.nodeRegistration.name).toBe("cn-hangzhou.i-bp1stub0001");
    expect(join0.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: "provider-id", value: "cn-hangzhou.i-bp1stub0001" });
    expect(join0.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: "node-ip", value: "10.0.0.21" });
    expect(join0.discovery.bootstrapToken.token).toBe("eeeeee.ffffffffffffffff");
    expect(used).not.toMatch(/__[A-Z_]+__/);
    expect(run.calls.find((c) => c.includes("/latest/api/token"))).toMatch(/-X PUT -H X-aliyun-ecs-metadata-token-ttl-seconds: 900/);
    expect(run.calls.filter((c) => c.includes("/meta-data/")).every((c) => c.includes("X-aliyun-ecs-metadata-token: metadata-token"))).toBe(true);
  });

  it("points the API name at the load balancer on workers, at the first control plane then itself on joining control planes", () => {
    const worker = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    runBootstrap(worker);
    expect(read(worker, "etc/hosts")).toContain(`10.0.0.250 ${spec.apiEndpoint.dnsName} # kubeadm-alicloud api`);
    const cp = sandbox(userData(spec, "control-plane"), "ubuntu-24.04");
    const run = runBootstrap(cp);
    expect(run.output).toContain("node cn-hangzhou.i-bp1stub0001 at 10.0.0.21");
    const hosts = read(cp, "etc/hosts");
    expect(hosts).toContain(`10.0.0.21 ${spec.apiEndpoint.dnsName} # kubeadm-alicloud api`);
    expect(hosts.match(/# kubeadm-alicloud api/g)).toHaveLength(1);
    const init = sandbox(userData(spec, "init"), "ubuntu-24.04");
    runBootstrap(init);
    expect(read(init, "etc/hosts")).toContain(`10.0.0.21 ${spec.apiEndpoint.dnsName} # kubeadm-alicloud api`);
  });

  it("a second run after success changes nothing", () => {
    const box = sandbox(userData(spec, "init"), "ubuntu-24.04");
    expect(runBootstrap(box).status).toBe(0);
    const hosts = read(box, "etc/hosts");
    const again = runBootstrap(box);
    expect(again.status).toBe(0);
    expect(again.calls).toEqual([]);
    expect(again.output).toContain("already bootstrapped with these inputs; nothing to do");
    expect(read(box, "etc/hosts")).toBe(hosts);
  });

  it("retries a transient package-mirror failure with backoff", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    const run = runBootstrap(box, { STUB_CURL_FAIL_MATCH: "Release.key", STUB_CURL_FAIL_TIMES: "2", STUB_APT_FAIL_TIMES: "1" });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.startsWith("curl") && c.includes("Release.key"))).toHaveLength(3);
    expect(run.calls.filter((c) => c === "apt-get update -q")).toHaveLength(2);
    expect(run.calls.filter((c) => c.startsWith("sleep")).map((c) => c.split(" ")[1])).toEqual(["2", "4", "2"]);
  });

  it("resets and retries a failed kubeadm step, then succeeds", () => {
    const box = sandbox(userData(spec, "control-plane"), "ubuntu-24.04");
    const run = runBootstrap(box, { STUB_KUBEADM_FAIL_TIMES: "2" });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.startsWith("kubeadm join") || c.startsWith("kubeadm reset"))).toEqual([
      expect.stringMatching(/^kubeadm join --config /), "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
      expect.stringMatching(/^kubeadm join --config /), "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
      expect.stringMatching(/^kubeadm join --config /),
    ]);
    // The CA files were put back after each reset wiped them.
    expect(read(box, "etc/kubernetes/pki/ca.crt")).toBe("stub ca.crt\n");
  });

  it("gives up after a bounded number of kubeadm failures, with the log's tail in the status", () => {
    const box = sandbox(userData(spec, "init"), "ubuntu-24.04");
    const run = runBootstrap(box, { STUB_KUBEADM_FAIL_TIMES: "99" });
    expect(run.status).toBe(1);
    expect(run.calls.filter((c) => c.startsWith("kubeadm init"))).toHaveLength(3);
    const status = read(box, "var/lib/kubeadm-alicloud/status");
    expect(status).toMatch(/^failed: kubeadm init failed 3 times; last lines of .*bootstrap\.log: /);
    expect(status).toContain("stub: init failed");
    expect(exists(box, "var/lib/kubeadm-alicloud/done")).toBe(false);
    // A later run starts by clearing what the failed one left.
    const retry = runBootstrap(box);
    expect(retry.status, retry.output).toBe(0);
    expect(retry.calls).toContain("kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock");
  });

  it("keeps secrets root-only", () => {
    const box = sandbox(userData(spec, "init"), "ubuntu-24.04");
    runBootstrap(box);
    const mode = (p: string) => spawnSync("stat", ["-c", "%a", join(box.root, p)], { encoding: "utf8" }).stdout.trim();
    expect(mode("etc/kubeadm-alicloud/secrets/tokens.env")).toBe("600");
    expect(mode("etc/kubeadm-alicloud/secrets/kubeadm.rendered.yaml")).toBe("600");
    expect(mode("etc/kubeadm-alicloud/secrets/pki/ca.key")).toBe("600");
    // The Secrets encryption key, where kube-apiserver's mount expects it.
    expect(mode("etc/kubernetes/enc/encryption-config.yaml")).toBe("600");
    expect(mode("etc/kubernetes/enc")).toBe("700");
    expect(read(box, "etc/kubernetes/enc/encryption-config.yaml")).toContain("secretbox:");
    expect(read(box, "etc/kubernetes/audit/policy.yaml")).toContain("kind: Policy");
    expect(read(box, "etc/kubernetes/auth/authentication-config.yaml")).toContain("kind: AuthenticationConfiguration");
    expect(mode("etc/kubeadm-alicloud/secrets")).toBe("700");
    expect(mode("var/log/kubeadm-alicloud")).toBe("700");
  });
});

describe("rendered user data and scripts, checked with the real linters", () => {
  const tools = (cmd: string) => spawnSync(cmd, ["--version"]).status === 0;

  it.each(["init", "control-plane", "worker"] as const)("the %s document passes cloud-init's schema and fits in 32 KB", (role) => {
    if (!tools("cloud-init")) throw new Error("cloud-init is missing: install Debian's cloud-init (bash .ci/run does)");
    const big = specFor({ clusterName: "boot", pki: { keyAlgorithm: "RSA-4096" } });
    const doc = userData(big, role);
    expect(Buffer.byteLength(doc)).toBeLessThan(USER_DATA_LIMIT);
    const file = join(mkdtempSync(join(tmpdir(), "ud-")), "user-data.yaml");
    writeFileSync(file, doc);
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  it("cloud-init's schema check is really on: it refuses a broken document", () => {
    // Negative control: without jsonschema cloud-init would skip validation and pass everything.
    const file = join(mkdtempSync(join(tmpdir(), "ud-")), "broken.yaml");
    writeFileSync(file, "#cloud-config\nwrite_files:\n  - path: /x\n    content: x\n    permissions: 600\n");
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("write_files.0.permissions: 600 is not of type 'string'");
  });

  it("the node scripts and the harness stubs pass shellcheck", () => {
    if (!tools("shellcheck")) throw new Error("shellcheck is missing (bash .ci/run installs it)");
    const r = spawnSync("shellcheck", [BOOTSTRAP_SCRIPT_PATH, join(__dirname, "..", "bootstrap", "wait-ready.sh"), join(__dirname, "harness", "stubs.sh")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
