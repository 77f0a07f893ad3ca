// The readiness gate: wait-ready.sh on a sandboxed node, and the Cloud Assistant
// poller that turns its failure into the error pulumi up prints.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitForCommand, type CommandApi, type InvocationResult } from "../components/readiness";
import { renderUserData } from "../plan/node-bootstrap";
import { PUBLIC_PKI_FILES } from "../plan/node-secrets";
import { runScript, sandbox, type Sandbox } from "./harness/harness";
import { specFor } from "./kit";

const WAIT_READY = join(__dirname, "..", "bootstrap", "wait-ready.sh");

function node(status?: string, log?: string): Sandbox {
  const spec = specFor({ clusterName: "ready" });
  const pki = Object.fromEntries(PUBLIC_PKI_FILES.map((f) => [f, "x"]));
  const box = sandbox(renderUserData({ spec, facts: { loadBalancerAddress: "10.0.0.250", discoveryHash: `sha256:${"a".repeat(64)}`, encryptionAlgorithm: "RSA-2048" }, role: "init", apiHostsAddress: "self" }, { pki }), "ubuntu-24.04");
  mkdirSync(join(box.root, "var/lib/kubeadm-alicloud"), { recursive: true });
  mkdirSync(join(box.root, "var/log/kubeadm-alicloud"), { recursive: true });
  if (status !== undefined) writeFileSync(join(box.root, "var/lib/kubeadm-alicloud/status"), `${status}\n`);
  if (log !== undefined) writeFileSync(join(box.root, "var/log/kubeadm-alicloud/bootstrap.log"), log);
  return box;
}

describe("wait-ready.sh on a control plane", () => {
  it("passes once the bootstrap is ok and /readyz answers", () => {
    const run = runScript(node("ok"), WAIT_READY, ["60"], { STUB_READYZ_FAIL_TIMES: "2" });
    expect(run.status, run.output).toBe(0);
    expect(run.calls.filter((c) => c.includes("--raw=/readyz"))).toHaveLength(3);
    expect(run.output).toContain("control plane ready; 1 node(s) registered");
  });

  it("fails at once when the bootstrap failed, printing its status and the log's tail", () => {
    const log = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    const run = runScript(node("failed: kubeadm init failed 3 times", log), WAIT_READY, ["600"]);
    expect(run.status).toBe(1);
    expect(run.output).toContain("control plane not ready: bootstrap failed");
    expect(run.output).toContain("status: failed: kubeadm init failed 3 times");
    expect(run.output).toContain("line 99");
    expect(run.output).toContain("line 40");
    expect(run.output).not.toContain("line 39\n");
    expect(run.calls.filter((c) => c.startsWith("kubectl"))).toEqual([]);
  });

  it("gives up after its timeout when the bootstrap never finishes", () => {
    const run = runScript(node("running", "still installing\n"), WAIT_READY, ["0"]);
    expect(run.status).toBe(1);
    expect(run.output).toContain("bootstrap did not finish within 0s");
    expect(run.output).toContain("still installing");
  });
});

/** A Cloud Assistant that answers from a script of results, one per poll. */
function api(results: (InvocationResult | undefined)[]): CommandApi & { runs: string[] } {
  const runs: string[] = [];
  let polls = 0;
  return {
    runs,
    run: async (instanceId) => {
      runs.push(instanceId);
      return "t-invoke1";
    },
    result: async () => results[Math.min(polls++, results.length - 1)],
  };
}
const noWait = { pollMs: 1, sleep: async () => undefined };

describe("the Cloud Assistant readiness poller", () => {
  it("resolves with the output once the invocation succeeds", async () => {
    const a = api([undefined, { status: "Running", output: "" }, { status: "Success", exitCode: 0, output: "ready\n" }]);
    await expect(waitForCommand(a, "i-cp0", "script", 60, noWait)).resolves.toEqual({ invokeId: "t-invoke1", output: "ready\n" });
    expect(a.runs).toEqual(["i-cp0"]);
  });

  it("fails with the status, exit code and the last 40 lines of the node's output", async () => {
    const output = Array.from({ length: 60 }, (_, i) => `log ${i}`).join("\n");
    const a = api([{ status: "Failed", exitCode: 1, output, errorInfo: "the command exited non-zero" }]);
    const err = await waitForCommand(a, "i-cp0", "script", 60, noWait).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^i-cp0 did not become ready: Cloud Assistant invocation t-invoke1 ended Failed \(exit 1\): the command exited non-zero\n--- last lines of its output:\nlog 20\n/);
    expect(err?.message).toMatch(/log 59$/);
    expect(err?.message).not.toContain("log 19\n");
  });

  it("treats a successful status with a non-zero exit code, and a timeout, as failures", async () => {
    await expect(waitForCommand(api([{ status: "Success", exitCode: 3, output: "x" }]), "i", "s", 60, noWait)).rejects.toThrow(/ended Success \(exit 3\)/);
    await expect(waitForCommand(api([{ status: "Timeout", output: "x" }]), "i", "s", 60, noWait)).rejects.toThrow(/ended Timeout/);
  });

  it("stops waiting past the command's timeout when no final result comes", async () => {
    let t = 0;
    const clock = { pollMs: 1, now: () => t, sleep: async () => { t += 30_000; } };
    await expect(waitForCommand(api([{ status: "Running", output: "" }]), "i", "s", 60, clock)).rejects.toThrow(/no final result .* after 180 s/);
  });
});
