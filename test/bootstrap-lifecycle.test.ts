// The bootstrap over a node's life: a reboot in the middle, a rerun on a finished node,
// a failure outside kubeadm, a cgroup v1 host, a replaced first control plane, and a
// control plane that retries its join. Real bash in the sandbox with stubbed system
// commands (harness/stubs.sh); the systemd unit is checked with the real systemd-analyze.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { NODE_PATHS } from "../plan/node-bootstrap";
import { BOOTSTRAP_UNIT, DONE_FILE } from "../plan/node-units";
import { BOOTSTRAP_SECONDS } from "../plan/timeouts";
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
import { bootEnv, nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

const spec = specFor({ clusterName: "life" });
let cloud: FakeCloud;
/** The same store once Pulumi has recorded that the cluster exists. */
let initialized: FakeCloud;
beforeAll(async () => {
  cloud = await startFakeCloud({ parameters: stubSecretValues(spec) });
  initialized = await startFakeCloud({ parameters: stubSecretValues(spec, true) });
});
afterAll(() => {
  cloud.stop();
  initialized.stop();
});
const run = (box: Sandbox, env: Record<string, string> = {}, store = cloud): Run =>
  runInSandbox(box, bootEnv({ ...store.env, ...env }));
const statusOf = (box: Sandbox) => read(box, "var/lib/kubeadm-alicloud/status").trim();
const unitText = (box: Sandbox) => read(box, NODE_PATHS.bootstrapUnit);

/**
 * One boot as systemd would do it for the enabled unit: the unit starts only while its
 * ConditionPathExists=! file is absent, and runs its ExecStart. Returns undefined when
 * the condition kept it from starting.
 */
function boot(box: Sandbox, env: Record<string, string> = {}): Run | undefined {
  const unit = unitText(box);
  const condition = /^ConditionPathExists=!(.+)$/m.exec(unit)?.[1];
  const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  if (!condition || !exec) throw new Error("the bootstrap unit has no condition or no ExecStart");
  if (exists(box, condition)) return undefined;
  expect(exec).toBe(NODE_PATHS.script);
  return run(box, env);
}

describe("the bootstrap as a systemd unit", () => {
  it("cloud-init only enables and starts the unit; the unit is valid for systemd-analyze and bounded in time", () => {
    const doc = parse(nodeUserData(spec, "worker").replace(/^#cloud-config\n/, "")) as { runcmd: string[][] };
    expect(doc.runcmd).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", BOOTSTRAP_UNIT],
      ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
    ]);
    const box = sandbox(nodeUserData(spec, "worker"), "ubuntu-24.04");
    const unit = unitText(box);
    expect(unit).toContain(`ConditionPathExists=!${DONE_FILE}`);
    expect(unit).toContain(`TimeoutStartSec=${BOOTSTRAP_SECONDS}`);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    // The real verifier, on the unit with ExecStart pointing at the sandbox's script.
    const copy = join(box.root, "..", BOOTSTRAP_UNIT);
    writeFileSync(
      copy,
      unit.replace(`ExecStart=${NODE_PATHS.script}`, `ExecStart=${join(box.root, NODE_PATHS.script)}`),
    );
    const verify = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe("");
    expect(verify.status).toBe(0);
    // Negative control: the verifier does read our file.
    writeFileSync(copy, unit.replace(`ExecStart=${NODE_PATHS.script}`, "ExecStart=/nonexistent/bootstrap"));
    expect(spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" }).status).not.toBe(0);
  });

  it("a reboot in the middle of kubeadm: at the next boot the unit starts again, cleans up and finishes; then never again", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const first = boot(box, { STUB_KUBEADM_REBOOT_AT: "1" });
    expect(first?.status).toBe(137);
    // Power was lost: no trap ran, the status still says running, nothing is done.
    expect(statusOf(box)).toBe("running");
    expect(exists(box, DONE_FILE)).toBe(false);
    const second = boot(box);
    expect(second?.status, second?.output).toBe(0);
    expect(second?.output).toContain("found the remains of an unfinished run: resetting first");
    expect(
      second?.calls.filter((c) => c.startsWith("kubeadm reset") || c.startsWith("kubeadm init")),
    ).toEqual([
      "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock",
      expect.stringMatching(/^kubeadm init --skip-token-print --config /),
    ]);
    expect(statusOf(box)).toBe("ok");
    expect(boot(box)).toBeUndefined();
  });
});

describe("failures and reruns", () => {
  it("a failing command outside kubeadm marks the node failed at once, naming the command", () => {
    const box = sandbox(nodeUserData(spec, "worker"), "ubuntu-24.04");
    const r = run(box, { STUB_FAIL_MATCH: "systemctl restart containerd" });
    expect(r.status).toBe(1);
    expect(statusOf(box)).toMatch(/^failed: exit 1 at line \d+: systemctl restart containerd$/);
    expect(r.calls.some((c) => c.startsWith("kubeadm join"))).toBe(false);
  });

  it("a rerun with other inputs on a finished node refuses and leaves the node as it is", () => {
    const box = sandbox(nodeUserData(spec, "control-plane"), "ubuntu-24.04");
    expect(run(box).status).toBe(0);
    const env = join(box.root, NODE_PATHS.env);
    writeFileSync(
      env,
      readFileSync(env, "utf8").replace(/^KUBERNETES_VERSION=.*$/m, "KUBERNETES_VERSION=1.36.9"),
    );
    const again = run(box);
    expect(again.status).toBe(3);
    expect(again.output).toContain("REFUSED: this node finished bootstrapping with other inputs");
    expect(again.calls).toEqual([]);
    expect(statusOf(box)).toBe("ok");
  });

  it("a cgroup v1 host is refused before anything is installed, with the image to use", () => {
    const box = sandbox(nodeUserData(spec, "worker"), "alinux3");
    const r = runInSandbox(box, bootEnv(cloud.env), "v1");
    expect(r.status).toBe(1);
    expect(statusOf(box)).toMatch(/^failed: this host runs cgroup v1 \(.* is tmpfs, not cgroup2fs\)/);
    expect(statusOf(box)).toContain("image.os: ubuntu-24.04");
    expect(r.calls.filter((c) => /^(dnf|apt-get|kubeadm|curl)/.test(c))).toEqual([]);
  });
});

describe("tokens never reach the log the readiness gate returns", () => {
  it("kubeadm init runs with --skip-token-print, and the log holds no token", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const r = run(box);
    expect(r.status, r.output).toBe(0);
    const log = read(box, "var/log/kubeadm-alicloud/bootstrap.log");
    expect(log).toContain("bootstrap finished");
    expect(log).not.toContain(STUB_TOKENS["control-plane"]);
    expect(log).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
  });

  it("negative control: the kubeadm stub prints the token as kubeadm init does without the flag", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const config = join(box.root, "..", "init.yaml");
    writeFileSync(config, "bootstrapTokens:\n  - token: abcdef.0123456789abcdef\n");
    const script = join(box.root, "..", "plain-init.sh");
    writeFileSync(script, `#!/bin/bash\nkubeadm init --config ${config}\n`);
    chmodSync(script, 0o755);
    const plain = spawnSync("bash", [script], {
      encoding: "utf8",
      env: {
        PATH: `${join(box.root, "..", "bin")}:${process.env.PATH ?? ""}`,
        KUBEADM_ALICLOUD_ROOT: box.root,
        STUB_CALLS: box.calls,
        STUB_STATE: box.state,
      },
    });
    expect(plain.stdout).toContain("--token abcdef.0123456789abcdef");
  });
});

describe("control-plane identity: init or join is decided at boot, never by index", () => {
  it("a replaced first control plane joins through a serving peer once the cluster exists", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "10.0.0.12" }, initialized);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("control plane: kubeadm join through 10.0.0.12");
    expect(r.calls.some((c) => c.startsWith("kubeadm init"))).toBe(false);
    expect(r.calls.some((c) => c.startsWith("kubeadm join"))).toBe(true);
  });

  // A control plane's user data is what it was created with (Pulumi keeps the old value of an
  // ignored property, also for a replacement: pulumi/pulumi pkg/resource/deploy/step_generator.go,
  // processIgnoreChanges), so after an upgrade a replaced control plane's user data names the
  // version it was first created at; and one created while an upgrade waits names the target.
  it("a joining control plane installs the version the cluster runs (kubeadm-config), not its user data's", () => {
    const box = sandbox(nodeUserData(spec, "control-plane"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "10.0.0.12", STUB_CLUSTER_VERSION: "1.37.1" }, initialized);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(
      `the cluster runs Kubernetes 1.37.1; this node joins at it, not at the ${spec.kubernetesVersion} its user data names`,
    );
    const installs = r.calls.filter((c) => c.startsWith("apt-get") && c.includes(" install "));
    expect(installs.some((c) => c.includes("kubeadm=1.37.1-1.1") && c.includes("kubelet=1.37.1-1.1"))).toBe(
      true,
    );
    expect(installs.some((c) => c.includes(`=${spec.kubernetesVersion}-1.1`))).toBe(false);
    expect(read(box, "etc/apt/sources.list.d/kubernetes.list")).toContain("v1.37");
    expect(r.calls).toContain(
      `kubeadm config images list --kubernetes-version v1.37.1 --image-repository ${spec.nodeSoftware.imageRepository}`,
    );
    // The read went to the peer it joins through, with a short-lived admin certificate.
    const read_ = r.calls.find((c) => c.includes("configmaps/kubeadm-config"));
    expect(read_).toContain("--resolve");
    expect(read_).toContain(":10.0.0.12");
  });

  it("a cluster's version it cannot read stops the join before anything is installed", () => {
    const box = sandbox(nodeUserData(spec, "control-plane"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "10.0.0.12", STUB_CLUSTER_VERSION: "garbage" }, initialized);
    expect(r.status).toBe(1);
    expect(statusOf(box)).toContain("could not read the Kubernetes version the cluster runs");
    expect(r.calls.some((c) => c.startsWith("apt-get") && c.includes(" install "))).toBe(false);
  });

  it("even before Pulumi recorded the cluster, a first control plane that finds a serving peer joins", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "10.0.0.11" });
    expect(r.status, r.output).toBe(0);
    expect(r.calls.some((c) => c.startsWith("kubeadm init"))).toBe(false);
  });

  it("a first control plane that finds the cluster recorded but no peer serving never inits: it fails after its bounded wait", () => {
    const box = sandbox(nodeUserData(spec, "first"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "" }, initialized);
    expect(r.status).toBe(1);
    expect(statusOf(box)).toMatch(
      /^failed: no control plane among 10\.0\.0\.21,10\.0\.0\.11,10\.0\.0\.12 served within 0s/,
    );
    expect(r.calls.some((c) => c.startsWith("kubeadm init"))).toBe(false);
  });

  it("a control plane that is not the first never inits, even with no cluster recorded", () => {
    const box = sandbox(nodeUserData(spec, "control-plane"), "ubuntu-24.04");
    const r = run(box, { STUB_SERVING_PEERS: "" });
    expect(r.status).toBe(1);
    // It decides before installing anything (a joining node installs the cluster's version).
    expect(statusOf(box)).toMatch(/^failed: no control plane among .* served within/);
    expect(r.calls.some((c) => c.startsWith("apt-get") && c.includes(" install "))).toBe(false);
    expect(r.calls.some((c) => c.startsWith("kubeadm init") || c.startsWith("kubeadm join"))).toBe(false);
  });

  it("before each join attempt, removes the etcd member and Nodes left at its address (an earlier instance, then its own failed try)", () => {
    const box = sandbox(nodeUserData(spec, "control-plane"), "ubuntu-24.04");
    const r = run(box, {
      STUB_ETCD_MEMBERS: "111=https://10.0.0.10:2380,222=https://10.0.0.21:2380,333=https://10.0.0.12:2380",
      STUB_NODES:
        "cn-hangzhou.i-old=10.0.0.21,cn-hangzhou.i-peer=10.0.0.10,cn-hangzhou.i-bp1stub0001=10.0.0.21",
      STUB_KUBEADM_FAIL_TIMES: "1",
      STUB_JOIN_LEAVES_MEMBER: "1",
    });
    expect(r.status, r.output).toBe(0);
    const removed = r.calls
      .filter((c) => c.includes("/v3/cluster/member/remove"))
      .map((c) => /"ID": "(\d+)"/.exec(c)?.[1]);
    // The old instance's member before the first try; the member the failed try left before the second.
    expect(removed).toEqual(["222", "901"]);
    const order = r.calls.filter(
      (c) => c.includes("member/remove") || c.startsWith("kubeadm join") || c.startsWith("kubeadm reset"),
    );
    expect(order.map((c) => c.split(" ").slice(0, 2).join(" "))).toEqual([
      "curl -fsS",
      "kubeadm join",
      "kubeadm reset",
      "curl -fsS",
      "kubeadm join",
    ]);
    const deleted = r.calls
      .filter((c) => c.startsWith("kubectl") && c.includes("delete node"))
      .map((c) => c.split("delete node ")[1]?.split(" ")[0]);
    // Never a peer's Node.
    expect(new Set(deleted)).toEqual(new Set(["cn-hangzhou.i-old", "cn-hangzhou.i-bp1stub0001"]));
    // The clean-up calls used certificates this node signed with the cluster's CAs.
    const etcdCall = r.calls.find((c) => c.includes("member/list")) ?? "";
    expect(etcdCall).toContain("--cert ");
    expect(statusOf(box)).toBe("ok");
  });
});
