// The readiness gate and the RAM-role calls, with Alibaba's real ECS SDK client talking
// to a loopback stand-in for the ECS API (harness/fake-ecs.py). What is asserted is
// what went over the wire: which calls, in which order, with which parameters, signed
// with which key.
import { describe, expect, it } from "vitest";
import { ecsClient, parseEndpoint } from "../components/cloud-assistant";
import { readinessCommand, READINESS_TIMEOUT_SECONDS, waitForCommand } from "../components/readiness";
import { CLOUD_ASSISTANT_SECONDS, WAIT_READY_SECONDS } from "../plan/timeouts";
import { fakeEcsPerTest, signedBy, type FakeEcs } from "./harness/fake-ecs";

const KEY_ID = "LTAI-test-gate";
// The credential chain's first step (its other steps are in credentials.test.ts).
const fake = fakeEcsPerTest(KEY_ID);

const SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\necho kubeadm-alicloud: ready\n";
const quick = { pollMs: 1 };
const api = (f: FakeEcs) => ecsClient("cn-hangzhou", { endpoint: f.url, rolePollMs: 1, roleWaitMs: 2_000 });
const gate = (f: FakeEcs, opts = {}) =>
  waitForCommand(
    api(f),
    "i-cp0",
    readinessCommand(SCRIPT, READINESS_TIMEOUT_SECONDS),
    READINESS_TIMEOUT_SECONDS,
    { ...quick, ...opts },
  );
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: Error) => e,
  );

describe("the readiness gate against the ECS API", () => {
  it("waits for the agent, re-sends undelivered commands, and passes Cloud Assistant's Timeout", async () => {
    const f = await fake({
      agentOfflinePolls: 3,
      abortedRuns: 2,
      results: [
        { status: "Running" },
        { status: "Success", exitCode: 0, output: "log\nkubeadm-alicloud: ready\n" },
      ],
    });
    await expect(gate(f)).resolves.toEqual({
      invokeId: "t-fake3",
      output: "log\nkubeadm-alicloud: ready\n",
      exitCode: 0,
    });
    const actions = f.requests().map((r) => r.action);
    // Agent first: no RunCommand before DescribeCloudAssistantStatus said true (4th poll).
    expect(actions.slice(0, 5)).toEqual([
      "DescribeCloudAssistantStatus",
      "DescribeCloudAssistantStatus",
      "DescribeCloudAssistantStatus",
      "DescribeCloudAssistantStatus",
      "RunCommand",
    ]);
    expect(f.calls("DescribeCloudAssistantStatus")[0]?.query).toMatchObject({
      RegionId: "cn-hangzhou",
      "InstanceId.1": "i-cp0",
    });
    const runs = f.calls("RunCommand");
    expect(runs).toHaveLength(3);
    for (const r of runs) {
      expect(r.query).toMatchObject({
        "InstanceId.1": "i-cp0",
        Type: "RunShellScript",
        ContentEncoding: "Base64",
        Timeout: String(CLOUD_ASSISTANT_SECONDS),
        RegionId: "cn-hangzhou",
      });
      // The script runs with its own, shorter limit, so its report is the output.
      const content = Buffer.from(r.query.CommandContent ?? "", "base64").toString("utf8");
      expect(content.split("\n").slice(0, 3)).toEqual([
        "#!/usr/bin/env bash",
        `set -- ${WAIT_READY_SECONDS} # kubeadm-alicloud: the script's own limit, inside Cloud Assistant's ${CLOUD_ASSISTANT_SECONDS} s`,
        "set -euo pipefail",
      ]);
    }
    // Every call signed (ACS3-HMAC-SHA256) with the key from the credential chain.
    for (const r of f.requests()) expect(signedBy(r)).toBe(KEY_ID);
    expect(f.calls("DescribeInvocationResults").map((r) => r.query.InvokeId)).toEqual([
      "t-fake1",
      "t-fake1",
      "t-fake2",
      "t-fake2",
      "t-fake3",
      "t-fake3",
    ]);
  });

  it("gives up on an undeliverable command at the gate's deadline, saying why", async () => {
    const f = await fake({ abortedRuns: 1_000 });
    const err = await errorOf(gate(f, { pollMs: 5, gateSeconds: 0.3 }));
    expect(err?.message).toMatch(
      /^i-cp0 did not become ready: Cloud Assistant could not deliver the readiness command within 0.3 s \(\d+ tries; last: invocation t-fake\d+ ended Aborted ClientNotRunning: the aliyun service is not running on the instance\)$/,
    );
    expect(f.calls("RunCommand").length).toBeGreaterThan(1);
  });

  it("never runs the command when the agent does not come online", async () => {
    const f = await fake({ agentOfflinePolls: 1_000 });
    const err = await errorOf(gate(f, { pollMs: 5, agentOnlineSeconds: 0.1 }));
    expect(err?.message).toBe(
      "i-cp0 did not become ready: its Cloud Assistant agent did not come online within 0.1 s (DescribeCloudAssistantStatus never said true)",
    );
    expect(f.calls("RunCommand")).toEqual([]);
  });

  it("fails at once on a delivered command's failure, with status, exit code, ErrorInfo and the output's tail", async () => {
    const output = `${Array.from({ length: 70 }, (_, i) => `log ${i}`).join("\n")}\n`;
    const f = await fake({
      results: [
        {
          status: "Failed",
          exitCode: 1,
          output,
          errorCode: "ExitCodeNonzero",
          errorInfo: "the command exited non-zero",
        },
      ],
    });
    const err = await errorOf(gate(f));
    expect(err?.message).toMatch(
      /^i-cp0 did not become ready: Cloud Assistant invocation t-fake1 ended Failed \(exit 1\): the command exited non-zero\n--- last lines of its output:\nlog 20\n/,
    );
    expect(err?.message).toMatch(/log 69$/);
    expect(f.calls("RunCommand")).toHaveLength(1);
  });

  it("retries RunCommand through throttling and server errors, but not through a refusal", async () => {
    const f = await fake({
      runErrors: [
        { status: 503, code: "ServiceUnavailable" },
        { status: 400, code: "Throttling.User" },
      ],
    });
    await expect(gate(f)).resolves.toMatchObject({ invokeId: "t-fake1" });
    expect(f.calls("RunCommand")).toHaveLength(3);

    const g = await fake({ runErrors: [{ status: 403, code: "Forbidden.RAM" }] });
    await expect(gate(g)).rejects.toThrow(/Forbidden\.RAM|code: 403/);
    expect(g.calls("RunCommand")).toHaveLength(1);
  });
});

describe("an instance's RAM role", () => {
  it("attaches and detaches, each time waiting until DescribeInstanceRamRole shows it", async () => {
    const f = await fake({ roleLag: 2 });
    const ecs = api(f);
    expect(await ecs.instanceRole("i-cp0")).toBeUndefined();
    await ecs.attachRole("i-cp0", "bootstrap-role");
    expect(f.calls("AttachInstanceRamRole")[0]?.query).toMatchObject({
      InstanceIds: '["i-cp0"]',
      RamRoleName: "bootstrap-role",
      RegionId: "cn-hangzhou",
    });
    // The lag: two polls still without the role, the third with it.
    expect(f.calls("DescribeInstanceRamRole")).toHaveLength(4);
    expect(await ecs.instanceRole("i-cp0")).toBe("bootstrap-role");
    await ecs.detachRole("i-cp0", "bootstrap-role");
    expect(await ecs.instanceRole("i-cp0")).toBeUndefined();
    expect(f.calls("DescribeInstanceRamRole")).toHaveLength(9);
    for (const r of f.requests()) expect(signedBy(r)).toBe(KEY_ID);
  });

  it("reports a per-instance failure and a change that never shows", async () => {
    const f = await fake({ attachFail: { code: "InvalidRamRole.NotEcsRole", message: "not an ECS role" } });
    await expect(api(f).attachRole("i-cp0", "x")).rejects.toThrow(
      "AttachInstanceRamRole x on i-cp0 failed: InvalidRamRole.NotEcsRole not an ECS role",
    );
    const g = await fake({ roles: { "i-cp0": "steady" }, roleLag: 1_000_000 });
    await expect(
      ecsClient("cn-hangzhou", { endpoint: g.url, rolePollMs: 5, roleWaitMs: 100 }).detachRole(
        "i-cp0",
        "steady",
      ),
    ).rejects.toThrow(
      "i-cp0: detaching steady did not show in DescribeInstanceRamRole within 0.1 s (it shows steady)",
    );
  });
});

describe("the endpoint", () => {
  it("takes an override for tests, and otherwise leaves it to the SDK", () => {
    expect(parseEndpoint("http://127.0.0.1:8080")).toEqual({ endpoint: "127.0.0.1:8080", protocol: "HTTP" });
    expect(parseEndpoint("ecs-cn-hangzhou.aliyuncs.com")).toEqual({
      endpoint: "ecs-cn-hangzhou.aliyuncs.com",
      protocol: "HTTPS",
    });
    expect(() => parseEndpoint("ftp://x/y")).toThrow(/KUBEADM_ALICLOUD_ECS_ENDPOINT/);
  });
});
