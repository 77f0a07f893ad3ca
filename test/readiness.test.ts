// The readiness gate: wait-ready.sh on a sandboxed node (stub kubectl), the time limits
// that keep its report in Cloud Assistant's output, and the poller's decisions on a
// controlled clock. The gate against the real ECS SDK is in cloud-assistant.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  gateSeconds,
  readinessCommand,
  READINESS_TIMEOUT_SECONDS,
  scriptSeconds,
  verdict,
  waitForCommand,
  type CommandApi,
  type InvocationResult,
} from "../components/readiness";
import { CLOUD_ASSISTANT_SECONDS, GATE_SECONDS, WAIT_READY_SECONDS } from "../plan/timeouts";
import { runScript, type Sandbox } from "./harness/harness";

const WAIT_READY = join(__dirname, "..", "bootstrap", "wait-ready.sh");
const NODE = "cn-hangzhou.i-bp1stub0001";
const LOG = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");

/** A node's root with the bootstrap's state files, and stub kubectl, sleep and curl (metadata) on PATH. */
function node(status?: string, opts: { log?: string; nodeName?: string | null } = {}): Sandbox {
  const base = mkdtempSync(join(tmpdir(), "ready-"));
  const root = join(base, "root");
  mkdirSync(join(root, "var/lib/kubeadm-alicloud"), { recursive: true });
  mkdirSync(join(root, "var/log/kubeadm-alicloud"), { recursive: true });
  mkdirSync(join(base, "bin"));
  mkdirSync(join(base, "state"));
  for (const cmd of ["kubectl", "sleep", "curl"])
    symlinkSync(join(__dirname, "harness", "stubs.sh"), join(base, "bin", cmd));
  if (status !== undefined) writeFileSync(join(root, "var/lib/kubeadm-alicloud/status"), `${status}\n`);
  if (opts.nodeName !== null)
    writeFileSync(join(root, "var/lib/kubeadm-alicloud/node-name"), `${opts.nodeName ?? NODE}\n`);
  writeFileSync(join(root, "var/log/kubeadm-alicloud/bootstrap.log"), opts.log ?? LOG);
  return { root, calls: join(base, "calls.log"), state: join(base, "state") };
}

/** The output ends with the log's last 40 lines, and nothing before them of the log. */
function endsWithLogTail(output: string) {
  expect(output.trimEnd()).toMatch(
    /--- last 40 lines of \S+bootstrap\.log\nline 60\n(line \d+\n){38}line 99$/,
  );
  expect(output).not.toContain("line 59\n");
}

describe("wait-ready.sh on a control plane", () => {
  it("passes once the bootstrap is ok, /readyz answers and this node has registered, and still ends with the log tail", () => {
    const run = runScript(node("ok"), WAIT_READY, ["60"], {
      STUB_READYZ_FAIL_TIMES: "2",
      STUB_NODE_ABSENT_TIMES: "2",
    });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.includes("--raw=/readyz"))).toHaveLength(3);
    // This node by name, not any node.
    // Then once for a drain's record (cordoned and drained: uncordoned, test/wait-ready-kube.test.ts).
    expect(run.calls.filter((c) => c.includes(" get node ") && c.includes("unschedulable"))).toHaveLength(1);
    expect(
      run.calls.filter((c) => c.startsWith("kubectl") && c.includes(" get node ") && c.includes("Ready")),
    ).toEqual(
      Array(3).fill(
        `kubectl --kubeconfig ${run.calls[0]?.split(" ")[2]} --request-timeout=10s get node ${NODE} -o jsonpath={.status.conditions[?(@.type=="Ready")].status}`,
      ),
    );
    expect(run.output).toContain(
      `kubeadm-alicloud: control plane ready; node ${NODE} registered (Ready: False)\n--- last 40 lines`,
    );
    endsWithLogTail(run.output);
    expect(verdict(run.output)).toBe(
      `kubeadm-alicloud: control plane ready; node ${NODE} registered (Ready: False)`,
    );
  });

  it("waits for THIS node: another node registered is not enough", () => {
    const run = runScript(node("ok"), WAIT_READY, ["1"], { STUB_NODE_NAME: "cn-hangzhou.i-other" });
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      `kubeadm-alicloud: control plane not ready: node ${NODE} did not register within 1s`,
    );
    endsWithLogTail(run.output);
  });

  it("a node bootstrapped before names were recorded: the same name from the metadata service, with a token", () => {
    const run = runScript(node("ok", { nodeName: null }), WAIT_READY, ["60"]);
    expect(run.status, run.output).toBe(0);
    expect(run.calls.find((c) => c.includes("/latest/api/token"))).toMatch(
      /-X PUT -H X-aliyun-ecs-metadata-token-ttl-seconds: 60/,
    );
    expect(run.output).toContain(`node ${NODE} registered`);
  });

  it("fails when there is no node name at all", () => {
    const run = runScript(node("ok", { nodeName: null }), WAIT_READY, ["60"], {
      STUB_CURL_FAIL_MATCH: "/latest/api/token",
      STUB_CURL_FAIL_TIMES: "99",
    });
    expect(run.status).toBe(1);
    expect(run.output).toMatch(
      /control plane not ready: no node name: \S+\/var\/lib\/kubeadm-alicloud\/node-name is missing and the metadata service did not answer/,
    );
  });

  it("fails at once when the bootstrap failed, printing its status and the log's last 40 lines last", () => {
    const run = runScript(node("failed: kubeadm init failed 3 times"), WAIT_READY, ["600"]);
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      "control plane not ready: bootstrap failed\nstatus: failed: kubeadm init failed 3 times\n",
    );
    endsWithLogTail(run.output);
    expect(run.calls.filter((c) => c.startsWith("kubectl"))).toEqual([]);
  });

  it("gives up after its own timeout when the bootstrap never finishes, with the tail", () => {
    const run = runScript(node("running"), WAIT_READY, ["0"]);
    expect(run.status).toBe(1);
    expect(run.output).toContain("bootstrap did not finish within 0s");
    endsWithLogTail(run.output);
  });

  it("prints a line at least every heartbeat while it waits", () => {
    const run = runScript(node("running"), WAIT_READY, ["3"], { KUBEADM_ALICLOUD_HEARTBEAT_SECONDS: "1" });
    expect(run.status).toBe(1);
    const beats = run.output
      .split("\n")
      .filter((l) => /^waiting \(\d+s of 3s\): bootstrap status: running$/.test(l));
    expect(beats.length, run.output.slice(0, 500)).toBeGreaterThanOrEqual(2);
  });
});

describe("the time limits", () => {
  it("the script stops before Cloud Assistant does, and the gate outlasts both", () => {
    expect(READINESS_TIMEOUT_SECONDS).toBe(CLOUD_ASSISTANT_SECONDS);
    expect(scriptSeconds(READINESS_TIMEOUT_SECONDS)).toBe(WAIT_READY_SECONDS);
    expect(gateSeconds(READINESS_TIMEOUT_SECONDS)).toBe(GATE_SECONDS);
    // The script's own default is the same number.
    expect(/^TIMEOUT="\$\{1:-(\d+)\}"$/m.exec(readFileSync(WAIT_READY, "utf8"))?.[1]).toBe(
      String(WAIT_READY_SECONDS),
    );
    expect(() => scriptSeconds(100)).toThrow(/leaves the script no time/);
  });

  it("the command Cloud Assistant runs hands the script its shorter limit", () => {
    // Under a Cloud Assistant Timeout of 120 s + 1, the script itself gives up after 1 s.
    const box = node("running");
    const command = join(box.root, "..", "command.sh");
    writeFileSync(
      command,
      readinessCommand(readFileSync(WAIT_READY, "utf8"), CLOUD_ASSISTANT_SECONDS - WAIT_READY_SECONDS + 1),
    );
    const run = runScript(box, command, []);
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      "kubeadm-alicloud: control plane not ready: bootstrap did not finish within 1s",
    );
  });
});

/** A Cloud Assistant that answers from scripts: agent states per poll, results per poll of each run. */
function api(agent: boolean[], runs: (InvocationResult | undefined)[][]): CommandApi & { ran: number } {
  let agentPolls = 0;
  let polls = 0;
  const self = {
    ran: 0,
    agentOnline: async () => agent[Math.min(agentPolls++, agent.length - 1)] ?? true,
    run: async () => {
      self.ran++;
      polls = 0;
      return `t-invoke${self.ran}`;
    },
    result: async () => {
      const script = runs[Math.min(self.ran, runs.length) - 1] ?? [];
      return script[Math.min(polls++, script.length - 1)];
    },
  };
  return self;
}

describe("the Cloud Assistant readiness poller", () => {
  const aborted: InvocationResult = { status: "Aborted", output: "", errorCode: "ClientNotRunning" };

  it("sends an Aborted command again instead of failing, once the agent is online", async () => {
    const a = api(
      [false, false, true],
      [
        [undefined, aborted],
        [
          { status: "Running", output: "" },
          { status: "Success", exitCode: 0, output: "ready\n" },
        ],
      ],
    );
    await expect(waitForCommand(a, "i-cp0", "s", 60, { pollMs: 1 })).resolves.toEqual({
      invokeId: "t-invoke2",
      output: "ready\n",
      exitCode: 0,
    });
    expect(a.ran).toBe(2);
  });

  it("hands a script's non-zero exit back, with its output, only to a caller that reads the script's own result", async () => {
    const failed = { status: "Failed", exitCode: 3, output: "kubeadm-alicloud-rollout: {}\n" };
    await expect(waitForCommand(api([true], [[failed]]), "i", "s", 60, { pollMs: 1 })).rejects.toThrow(
      /^i did not become ready: .*ended Failed \(exit 3\)/,
    );
    await expect(
      waitForCommand(api([true], [[failed]]), "i", "s", 60, {
        pollMs: 1,
        returnFailures: true,
        what: "gate",
      }),
    ).resolves.toEqual({ invokeId: "t-invoke1", output: failed.output, exitCode: 3 });
    // A timeout is not the script's answer: still an error, named as the caller asks.
    await expect(
      waitForCommand(api([true], [[{ status: "Timeout", output: "x" }]]), "i", "s", 60, {
        pollMs: 1,
        returnFailures: true,
        what: "could not finish its gate",
      }),
    ).rejects.toThrow(/^i could not finish its gate: .*ended Timeout/);
  });

  it("treats a successful status with a non-zero exit code, and a timeout, as failures at once", async () => {
    await expect(
      waitForCommand(api([true], [[{ status: "Success", exitCode: 3, output: "x" }]]), "i", "s", 60, {
        pollMs: 1,
      }),
    ).rejects.toThrow(/ended Success \(exit 3\)/);
    await expect(
      waitForCommand(api([true], [[{ status: "Timeout", output: "x" }]]), "i", "s", 60, { pollMs: 1 }),
    ).rejects.toThrow(/ended Timeout/);
  });

  it("stops waiting a little past the command's timeout when no final result comes", async () => {
    let t = 0;
    const clock = { pollMs: 1, now: () => t, sleep: async () => void (t += 30_000) };
    await expect(
      waitForCommand(api([true], [[{ status: "Running", output: "" }]]), "i", "s", 60, clock),
    ).rejects.toThrow(
      /no final result from Cloud Assistant invocation t-invoke1 \(last: Running\) after 180 s/,
    );
  });
});
