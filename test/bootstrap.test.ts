// The node bootstrap, run with real bash in a sandbox built from the node's real user
// data, with stubbed system commands. Plus the real linters: cloud-init's schema on
// every rendered document and shellcheck on the scripts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  BOOTSTRAP_LIBRARIES,
  BOOTSTRAP_SCRIPT_PATH,
  NODE_PATHS,
  USER_DATA_LIMIT,
} from "../plan/node-bootstrap";
import { renderMetadataGuardUnit } from "../plan/node-units";
import { PRIVATE_PKI_FILES, secretManifest } from "../plan/node-secrets";
import {
  STUB_TOKENS,
  exists,
  read,
  runBootstrap as runInSandbox,
  sandbox,
  startFakeCloud,
  stubSecretValues,
  type FakeCloud,
  type Run,
  type Sandbox,
} from "./harness/harness";
import { TEST_PKI, bootEnv, nodeUserData as userData, type TestNode } from "./harness/nodes";
import { specFor } from "./kit";

const kindOf = (node: TestNode) => (node === "worker" ? "worker" : "control-plane");

/** Stubbed commands reduced to the step they stand for, in order, without repeats. */
function steps(run: Run): string[] {
  const names = run.calls.map((c) => {
    if (c.startsWith("curl") && c.includes("/latest/")) return "metadata";
    if (c.startsWith("curl") && c.includes("/readyz")) return "probe peers";
    if (c.startsWith("curl") && c.includes("/v3/cluster/")) return "etcd";
    if (c.startsWith("curl") && c.includes("/configmaps/kubeadm-config")) return "cluster version";
    if (c.startsWith("kubectl")) return "kubectl";
    if (c.startsWith("curl")) return "download";
    if (c.startsWith("kubeadm config")) return "kubeadm config images";
    if (c.startsWith("kubeadm ")) return `kubeadm ${c.split(" ")[1]}`;
    if (c.startsWith("systemctl")) return `systemctl ${c.split(" ")[1]}`;
    return c.split(" ")[0] ?? c;
  });
  return names.filter((n, i) => n !== names[i - 1] && n !== "sleep");
}

const spec = specFor({ clusterName: "boot" });
// The metadata service and OOS the fetcher talks to, holding this spec's secrets.
let cloud: FakeCloud;
beforeAll(async () => {
  cloud = await startFakeCloud({ parameters: stubSecretValues(spec) });
});
afterAll(() => cloud.stop());
const runBootstrap = (box: Sandbox, env: Record<string, string> = {}): Run =>
  runInSandbox(box, bootEnv({ ...cloud.env, ...env }));

describe("node bootstrap script in a sandbox", () => {
  it.each([
    ["first", "ubuntu-24.04"],
    ["control-plane", "alinux3"],
    ["worker", "ubuntu-22.04"],
  ] as const)("%s on %s: runs the steps in order and leaves an ok status", (role, os) => {
    const box = sandbox(userData(spec, role), os);
    const run = runBootstrap(box);
    expect(run.status, run.output).toBe(0);
    const install = os === "alinux3" ? ["dnf"] : ["download", "apt-get", "apt-mark"];
    // Control planes look for a serving peer before installing anything, and a joining one
    // reads the version the cluster runs (it installs that one); before kubeadm it clears what
    // an earlier instance at its address left in etcd and in the Node list.
    const decide = {
      first: ["probe peers"],
      "control-plane": ["probe peers", "cluster version"],
      worker: [],
    }[role];
    const kubeadm = {
      first: ["kubeadm init"],
      "control-plane": ["etcd", "kubectl", "kubeadm join"],
      worker: ["kubeadm join"],
    }[role];
    expect(steps(run)).toEqual([
      "metadata",
      "swapoff",
      "modprobe",
      "sysctl",
      ...decide,
      ...install,
      "kubeadm config images",
      "systemctl daemon-reload",
      "systemctl enable",
      "systemctl restart",
      "systemctl enable",
      ...kubeadm,
    ]);
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
    // Waits for the dpkg lock a fresh image's unattended-upgrades holds (apt-get(8): DPkg::Lock::Timeout).
    expect(
      ubuntu.calls
        .filter((c) => c.startsWith("apt-get"))
        .every((c) => c.startsWith("apt-get -o DPkg::Lock::Timeout=600 ")),
    ).toBe(true);
    expect(install).toContain(`kubeadm=${spec.kubernetesVersion}-1.1`);
    expect(install).toContain(`kubelet=${spec.kubernetesVersion}-1.1`);
    expect(install).toContain("containerd.io=2.3.6-1~ubuntu.24.04~noble");
    expect(ubuntu.calls).toContain("apt-mark hold kubelet kubeadm kubectl containerd.io");
    const alinuxBox = sandbox(userData(spec, "worker"), "alinux3");
    const alinux = runBootstrap(alinuxBox);
    const dnf = alinux.calls.find((c) => c.startsWith("dnf install"));
    expect(dnf).toContain(`kubeadm-${spec.kubernetesVersion} `);
    expect(dnf).toContain("containerd.io-2.3.4-2.el8");
    // Docker publishes el8 builds under linux/rhel/8 only; both repositories keep their
    // pinned packages out of a routine dnf update.
    const docker = read(alinuxBox, "etc/yum.repos.d/docker-ce.repo");
    expect(docker).toContain("baseurl=https://mirrors.aliyun.com/docker-ce/linux/rhel/8/$basearch/stable");
    expect(docker).toContain("gpgkey=https://mirrors.aliyun.com/docker-ce/linux/rhel/gpg");
    expect(docker).toMatch(/^exclude=containerd\.io$/m);
    expect(read(alinuxBox, "etc/yum.repos.d/kubernetes.repo")).toMatch(
      /^exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni$/m,
    );
    expect(dnf).toContain("--disableexcludes=kubernetes,docker-ce-stable");
  });

  it("takes packages from the per-minor repository of the chosen source", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    runBootstrap(box);
    const minor = spec.kubernetesVersion.split(".").slice(0, 2).join(".");
    expect(read(box, "etc/apt/sources.list.d/kubernetes.list")).toContain(
      `https://mirrors.aliyun.com/kubernetes-new/core/stable/v${minor}/deb/`,
    );
    const upstream = specFor({ clusterName: "boot", region: "ap-southeast-1", zones: ["ap-southeast-1a"] });
    const box2 = sandbox(userData(upstream, "worker"), "alinux3");
    runBootstrap(box2);
    expect(read(box2, "etc/yum.repos.d/kubernetes.repo")).toContain(
      `baseurl=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/`,
    );
  });

  it("gives the kubelet the provider id and node name <region>.<instance-id>, from the metadata service with a token", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    const run = runBootstrap(box);
    const used = readFileSync(join(box.state, "kubeadm-config-used.yaml"), "utf8");
    const join0 = parse(used) as {
      discovery: { bootstrapToken: { token: string } };
      nodeRegistration: { name: string; kubeletExtraArgs: { name: string; value: string }[] };
    };
    expect(join0.nodeRegistration.name).toBe("cn-hangzhou.i-bp1stub0001");
    expect(join0.nodeRegistration.kubeletExtraArgs).toContainEqual({
      name: "provider-id",
      value: "cn-hangzhou.i-bp1stub0001",
    });
    expect(join0.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: "node-ip", value: "10.0.0.21" });
    expect(join0.discovery.bootstrapToken.token).toBe(STUB_TOKENS.default);
    expect(used).not.toMatch(/__[A-Z_]+__/);
    expect(run.calls.find((c) => c.includes("/latest/api/token"))).toMatch(
      /-X PUT -H X-aliyun-ecs-metadata-token-ttl-seconds: 900/,
    );
    expect(
      run.calls
        .filter((c) => c.includes("/meta-data/"))
        .every((c) => c.includes("X-aliyun-ecs-metadata-token: metadata-token")),
    ).toBe(true);
  });

  it("points the API name at the load balancer on workers; on joining control planes at a serving peer, then at itself", () => {
    const api = (ip: string) => `${ip} ${spec.apiEndpoint.dnsName} # kubeadm-alicloud api`;
    const atKubeadm = (box: Sandbox) => readFileSync(join(box.state, "hosts-at-kubeadm"), "utf8");
    const worker = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    runBootstrap(worker);
    expect(read(worker, "etc/hosts")).toContain(api("10.0.0.250"));
    // Any serving peer, not a fixed first one: here the third answers, the first does not.
    const cp = sandbox(userData(spec, "control-plane"), "ubuntu-24.04");
    const run = runBootstrap(cp, { STUB_SERVING_PEERS: "10.0.0.12" });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain("node cn-hangzhou.i-bp1stub0001 at 10.0.0.21");
    expect(run.output).toContain("control plane: kubeadm join through 10.0.0.12");
    expect(atKubeadm(cp)).toContain(api("10.0.0.12"));
    const hosts = read(cp, "etc/hosts");
    expect(hosts).toContain(api("10.0.0.21"));
    expect(hosts.match(/# kubeadm-alicloud api/g)).toHaveLength(1);
    const first = sandbox(userData(spec, "first"), "ubuntu-24.04");
    runBootstrap(first);
    expect(atKubeadm(first)).toContain(api("10.0.0.21"));
    expect(read(first, "etc/hosts")).toContain(api("10.0.0.21"));
  });

  it("a second run after success changes nothing", () => {
    const box = sandbox(userData(spec, "first"), "ubuntu-24.04");
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
    const run = runBootstrap(box, {
      STUB_CURL_FAIL_MATCH: "Release.key",
      STUB_CURL_FAIL_TIMES: "2",
      STUB_APT_FAIL_TIMES: "1",
    });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.startsWith("curl") && c.includes("Release.key"))).toHaveLength(3);
    expect(run.calls.filter((c) => c === "apt-get -o DPkg::Lock::Timeout=600 update -q")).toHaveLength(2);
    expect(run.calls.filter((c) => c.startsWith("sleep")).map((c) => c.split(" ")[1])).toEqual([
      "2",
      "4",
      "2",
    ]);
  });

  it("resets and retries a failed kubeadm step, then succeeds", () => {
    const box = sandbox(userData(spec, "control-plane"), "ubuntu-24.04");
    const run = runBootstrap(box, { STUB_KUBEADM_FAIL_TIMES: "2" });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.startsWith("kubeadm join") || c.startsWith("kubeadm reset"))).toEqual([
      expect.stringMatching(/^kubeadm join --config /),
      "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
      expect.stringMatching(/^kubeadm join --config /),
      "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
      expect.stringMatching(/^kubeadm join --config /),
    ]);
    // The CA files were put back after each reset wiped them.
    expect(read(box, "etc/kubernetes/pki/ca.crt")).toBe(TEST_PKI["ca.crt"]);
  });

  it("gives up after a bounded number of kubeadm failures, with the log's tail in the status", () => {
    const box = sandbox(userData(spec, "first"), "ubuntu-24.04");
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
    expect(retry.calls).toContain(
      "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
    );
  });

  const mode = (box: Sandbox, p: string) =>
    spawnSync("stat", ["-c", "%a", join(box.root, p)], { encoding: "utf8" }).stdout.trim();

  it("keeps fetched secrets root-only while it works, and no copy once it is done", () => {
    // A run that cannot finish leaves the fetched secrets for the next try: root-only.
    const failing = sandbox(userData(spec, "first"), "ubuntu-24.04");
    expect(runBootstrap(failing, { STUB_KUBEADM_FAIL_TIMES: "99" }).status).toBe(1);
    for (const e of secretManifest(spec, "control-plane").filter((x) => !x.optional))
      expect(mode(failing, `etc/kubeadm-alicloud/secrets/${e.path}`), e.path).toBe("600");
    expect(mode(failing, "etc/kubeadm-alicloud/secrets/kubeadm.rendered.yaml")).toBe("600");
    expect(mode(failing, "etc/kubeadm-alicloud/secrets")).toBe("700");
    expect(mode(failing, "etc/kubeadm-alicloud/secrets/pki")).toBe("700");

    const box = sandbox(userData(spec, "first"), "ubuntu-24.04");
    expect(runBootstrap(box).status).toBe(0);
    expect(exists(box, "etc/kubeadm-alicloud/secrets")).toBe(false);
    for (const f of PRIVATE_PKI_FILES) {
      expect(mode(box, `etc/kubernetes/pki/${f}`), f).toBe("600");
      expect(read(box, `etc/kubernetes/pki/${f}`)).toBe(TEST_PKI[f]);
    }
    // The Secrets encryption key, where kube-apiserver's mount expects it.
    expect(mode(box, "etc/kubernetes/enc/encryption-config.yaml")).toBe("600");
    expect(mode(box, "etc/kubernetes/enc")).toBe("700");
    expect(read(box, "etc/kubernetes/enc/encryption-config.yaml")).toContain("secretbox:");
    expect(read(box, "etc/kubernetes/audit/policy.yaml")).toContain("kind: Policy");
    expect(read(box, "etc/kubernetes/auth/authentication-config.yaml")).toContain(
      "kind: AuthenticationConfiguration",
    );
    expect(mode(box, "var/log/kubeadm-alicloud")).toBe("700");
  });

  it.each(["first", "control-plane", "worker"] as const)(
    "%s: reads exactly its manifest's secrets from OOS, and kubeadm gets the tokens",
    (role) => {
      const before = cloud.requests().length;
      const box = sandbox(userData(spec, role), "ubuntu-24.04");
      expect(runBootstrap(box).status).toBe(0);
      const asked = cloud
        .requests()
        .slice(before)
        .filter((r) => r.method === "POST")
        .map((r) => new URL(r.path, cloud.url).searchParams.get("Name"));
      const manifest = secretManifest(
        spec,
        kindOf(role),
        role === "worker" ? spec.nodePools[0]?.name : undefined,
      );
      expect(asked.sort()).toEqual(manifest.map((e) => e.parameterName).sort());
      const used = readFileSync(join(box.state, "kubeadm-config-used.yaml"), "utf8");
      if (role === "first") {
        // kubeadm init installs only the control planes' token; Pulumi installs the pools'
        // (components/bootstrap-tokens.ts), and control planes cannot read them.
        expect(used).toContain(`token: ${STUB_TOKENS["control-plane"]}`);
        expect(used).not.toContain(STUB_TOKENS.default);
      } else {
        expect(used).toContain(
          `token: ${role === "worker" ? STUB_TOKENS.default : STUB_TOKENS["control-plane"]}`,
        );
      }
    },
  );

  it("stops before kubeadm, with the store's answer in the status, when a secret cannot be read", async () => {
    const [denied] = secretManifest(spec, "worker", spec.nodePools[0]?.name).map((e) => e.parameterName);
    const refusing = await startFakeCloud({ parameters: stubSecretValues(spec), deny: [denied ?? ""] });
    try {
      const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
      const run = runInSandbox(box, { ...refusing.env });
      expect(run.status).toBe(1);
      expect(run.calls.some((c) => c.startsWith("kubeadm join"))).toBe(false);
      expect(read(box, "var/lib/kubeadm-alicloud/status")).toMatch(
        /^failed: could not read this node's secrets from OOS/,
      );
      expect(run.output).toContain(`secret ${denied}: gave up after 8 tries: HTTP 403 Forbidden.RAM`);
      expect(exists(box, "etc/kubeadm-alicloud/secrets/bootstrap-token")).toBe(false);
    } finally {
      refusing.stop();
    }
  });

  it("puts the metadata guard in place before containerd and kubeadm start anything", () => {
    const box = sandbox(userData(spec, "worker"), "ubuntu-24.04");
    const run = runBootstrap(box);
    const guard = run.calls.indexOf("systemctl enable --now kubeadm-alicloud-metadata-guard.service");
    expect(guard).toBeGreaterThan(-1);
    expect(guard).toBeLessThan(run.calls.indexOf("systemctl restart containerd"));
    expect(read(box, NODE_PATHS.metadataGuard)).toBe(renderMetadataGuardUnit());
  });
});

describe("rendered user data and scripts, checked with the real linters", () => {
  const tools = (cmd: string) => spawnSync(cmd, ["--version"]).status === 0;

  it.each(["first", "control-plane", "worker"] as const)(
    "the %s document passes cloud-init's schema and fits in 32 KB",
    (role) => {
      if (!tools("cloud-init"))
        throw new Error("cloud-init is missing: install Debian's cloud-init (bash .ci/run does)");
      // The largest documents: RSA-4096 certificates (real ones), every hardening file.
      const big = specFor({ clusterName: "boot", pki: { keyAlgorithm: "RSA-4096" } });
      const doc = userData(big, role, 0, 4096);
      expect(Buffer.byteLength(doc)).toBeLessThan(USER_DATA_LIMIT);
      const file = join(mkdtempSync(join(tmpdir(), "ud-")), "user-data.yaml");
      writeFileSync(file, doc);
      const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`).toContain("Valid cloud-config");
      expect(r.status).toBe(0);
    },
  );

  it("cloud-init's schema check is really on: it refuses a broken document", () => {
    // Negative control: without jsonschema cloud-init would skip validation and pass everything.
    const file = join(mkdtempSync(join(tmpdir(), "ud-")), "broken.yaml");
    writeFileSync(file, "#cloud-config\nwrite_files:\n  - path: /x\n    content: x\n    permissions: 600\n");
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("write_files.0.permissions: 600 is not of type 'string'");
  });

  it("the metadata guard drops pod traffic to the metadata service and nothing else, on a real datapath", () => {
    // In a private network namespace: a TUN device plays the pod's interface, another the
    // way to 100.100.100.200 (harness/metadata-guard.py). The guard command is the unit's own.
    if (!tools("iptables")) throw new Error("iptables is missing (bash .ci/run installs it)");
    const exec = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(renderMetadataGuardUnit())?.[1] ?? "";
    expect(exec).toContain("-t raw");
    const r = spawnSync(
      "unshare",
      ["-rn", "python3", join(__dirname, "harness", "metadata-guard.py"), exec],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      before: { pod: boolean; host: boolean };
      rules: number;
      after: { pod: boolean; host: boolean };
    };
    // Without the guard a pod reaches it (the check can see a leak); with it, only the host does.
    expect(result).toEqual({
      before: { pod: true, host: true },
      rules: 1,
      after: { pod: false, host: true },
    });
  });

  it("the node scripts and the harness stubs pass shellcheck", () => {
    if (!tools("shellcheck")) throw new Error("shellcheck is missing (bash .ci/run installs it)");
    const libs = BOOTSTRAP_LIBRARIES.map((l) => join("bootstrap", l));
    const r = spawnSync(
      "shellcheck",
      [
        "-x",
        BOOTSTRAP_SCRIPT_PATH,
        ...libs,
        join(__dirname, "..", "bootstrap", "wait-ready.sh"),
        join(__dirname, "harness", "stubs.sh"),
      ],
      { encoding: "utf8", cwd: join(__dirname, "..") },
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
