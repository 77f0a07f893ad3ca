// Scale-in drains (issue 16 item 1). The command the OOS template has Cloud Assistant run
// on a control plane is run here as it would be there, with the instance id OOS's loop
// puts in, using the REAL kubectl against test/harness/fake-kube.py. The template, the
// hook and the role are checked under mocks against what Alibaba documents (plan/scale-in.ts
// cites each source). Not run here: OOS and ESS themselves (no account).
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { DRAIN_MARGIN_SECONDS, parseDrainResult } from "../plan/drain";
import { commandContentSize, COMMAND_CONTENT_LIMIT } from "../plan/node-commands";
import {
  HEARTBEAT_MAX_SECONDS,
  oosRoleStatements,
  scaleInCommand,
  scaleInCommandParts,
  scaleInTemplate,
  scaleInTimeouts,
} from "../plan/scale-in";
import { haveKubectl, kubeconfig, pod, startFake, stopFakes } from "./harness/kube";
import { declareCluster, installMocks, specFor, type Recorder } from "./kit";

afterEach(stopFakes);
const REGION = "cn-hangzhou";
const NODE = `${REGION}.i-bp1worker`;

function runScaleIn(dir: string, kube: string, instance: string, budget: number) {
  const script = scaleInCommand(REGION, budget, instance);
  const started = Date.now();
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    timeout: scaleInTimeouts(budget, 1).commandSeconds * 1000,
    env: { ...process.env, KUBEADM_ALICLOUD_ROOT: join(dir, "root"), KUBEADM_ALICLOUD_KUBECONFIG: kube },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!haveKubectl)("the scale-in command, with the real kubectl", () => {
  it("drains the node of the instance ESS removes, then deletes its Node", async () => {
    const fake = await startFake({
      nodes: [{ name: NODE }, { name: "other" }],
      pods: [pod("default", "web-1", { node: NODE }), pod("default", "web-2", { node: "other" })],
      daemonsets: [],
      pdbs: [],
    });
    const r = runScaleIn(fake.dir, kubeconfig(fake.dir, fake.url), "i-bp1worker", 30);
    expect(r.status, r.output).toBe(0);
    expect(parseDrainResult(r.output)).toMatchObject({ node: NODE, ok: true });
    expect(fake.state().nodes.map((n) => n.name)).toEqual(["other"]);
    expect(fake.state().pods.map((p) => p.name)).toEqual(["web-2"]);
    expect(fake.log()).toContain('"POST", "path": "/api/v1/namespaces/default/pods/web-1/eviction');
    expect(fake.log()).toContain(`"DELETE", "path": "/api/v1/nodes/${NODE}`);
  });

  it("is a no-op for an instance whose node is gone (a rerun, or a node that never joined)", async () => {
    const fake = await startFake({ nodes: [{ name: "other" }], pods: [], daemonsets: [], pdbs: [] });
    const r = runScaleIn(fake.dir, kubeconfig(fake.dir, fake.url), "i-bp1worker", 30);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`no node ${NODE}: nothing to drain`);
    expect(fake.log()).not.toContain('"PATCH"');
  });

  it("fails when a budget blocks it, naming the pod, and leaves the Node cordoned for the CCM", async () => {
    const fake = await startFake({
      nodes: [{ name: NODE }],
      pods: [pod("shop", "db-0", { node: NODE, labels: { app: "db" } })],
      daemonsets: [],
      pdbs: [{ namespace: "shop", name: "db-budget", matchLabels: { app: "db" }, disruptionsAllowed: 0 }],
    });
    const budget = 6;
    const r = runScaleIn(fake.dir, kubeconfig(fake.dir, fake.url), "i-bp1worker", budget);
    expect(r.status, r.output).toBe(3);
    expect(parseDrainResult(r.output)).toMatchObject({ pods: ["shop/db-0"], budgets: ["shop/db-budget"] });
    expect(fake.state().nodes).toEqual([{ name: NODE, unschedulable: true }]);
    expect(fake.log()).not.toContain('"DELETE"');
    expect(r.seconds).toBeLessThan(budget + DRAIN_MARGIN_SECONDS);
  });

  it("says it could not start when the API does not answer, and does not wait out the budget", () => {
    const dir = mkdtempSync(join(tmpdir(), "scale-in-"));
    const r = runScaleIn(dir, kubeconfig(dir, "http://127.0.0.1:9"), "i-bp1worker", 300);
    expect(r.status, r.output).toBe(4);
    expect(r.output).toContain("the API did not answer");
    expect(r.seconds).toBeLessThan(60);
  });

  it("refuses what is not an instance id (OOS's loop item goes into a shell command)", () => {
    const dir = mkdtempSync(join(tmpdir(), "scale-in-"));
    const r = runScaleIn(dir, kubeconfig(dir, "http://127.0.0.1:9"), "i-x; touch /tmp/pwned", 30);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("usage:");
  });
});

describe("the OOS template and its time limits", () => {
  const template = scaleInTemplate({
    region: REGION,
    drainSeconds: 600,
    maxPoolSize: 100,
    controlPlaneIds: ["i-cp0", "i-cp1", "i-cp2"],
    roleName: "prod-scale-in",
  });
  const tasks = template.Tasks as {
    Name: string;
    Action: string;
    OnError?: string;
    OnSuccess?: string;
    Properties: Record<string, unknown>;
    Loop?: Record<string, unknown>;
  }[];
  const task = (n: string) => tasks.find((t) => t.Name === n) as (typeof tasks)[number];

  it("nests its limits: drain budget < Cloud Assistant timeout < the hook's heartbeat <= 21600 s", () => {
    for (const [budget, size] of [
      [60, 1],
      [600, 100],
      [3600, 1000],
    ] as const) {
      const t = scaleInTimeouts(budget, size);
      expect(t.commandSeconds).toBeGreaterThan(budget + DRAIN_MARGIN_SECONDS);
      expect(t.heartbeatSeconds).toBeGreaterThan(t.commandSeconds);
      expect(t.heartbeatSeconds).toBeLessThanOrEqual(HEARTBEAT_MAX_SECONDS);
    }
    expect(task("drain").Properties.timeout).toBe(scaleInTimeouts(600, 100).commandSeconds);
  });

  it("takes ESS's parameters, runs on a running control plane, and completes the action either way", () => {
    const params = template.Parameters as Record<string, { Default: unknown }>;
    expect(params.instanceIds?.Default).toEqual(["${instanceIds}"]);
    expect(params.lifecycleActionToken?.Default).toBe("${lifecycleActionToken}");
    expect(task("selectControlPlane").Properties).toMatchObject({
      API: "DescribeInstances",
      Parameters: { InstanceIds: "{{ controlPlaneIds }}", Status: "Running" },
    });
    expect(task("drain").Properties.instanceId).toBe("{{ selectControlPlane.instanceId }}");
    expect(task("drain")).toMatchObject({ OnSuccess: "complete", OnError: "abandon" });
    expect(task("selectControlPlane").OnError).toBe("abandon");
    expect(task("complete").Properties).toMatchObject({
      API: "CompleteLifecycleAction",
      Parameters: { LifecycleActionResult: "CONTINUE" },
    });
    expect(task("abandon").Properties).toMatchObject({ Parameters: { LifecycleActionResult: "ABANDON" } });
    // Every node of the activity is drained, even when another's drain fails.
    expect(task("drain").Loop).toMatchObject({ Items: "{{ instanceIds }}", RateControl: { MaxErrors: 100 } });
  });

  it("fits OOS's 64 KB template limit (OOS CreateTemplate, Content)", () => {
    expect(Buffer.byteLength(JSON.stringify(template))).toBeLessThan(64 * 1024);
  });

  it("holds no placeholder of ours that OOS or ESS could expand, and fits Cloud Assistant's limit", () => {
    const [before, after] = scaleInCommandParts(REGION, 600);
    for (const part of [before, after]) {
      expect(part).not.toContain("{{");
      expect(part).not.toContain("${");
    }
    expect(commandContentSize(scaleInCommand(REGION, 3600, "i-bp1worker"))).toBeLessThanOrEqual(
      COMMAND_CONTENT_LIMIT,
    );
  });

  it("lets the role run commands on the control planes only, and complete actions of the cluster's groups only", () => {
    const s = oosRoleStatements(REGION, ["i-cp0"], ["asg-1"]);
    const run = s.find((x) => x.Action.includes("ecs:RunCommand"));
    expect(run?.Resource).toEqual([`acs:ecs:${REGION}:*:instance/i-cp0`, `acs:ecs:${REGION}:*:command/*`]);
    expect(s.find((x) => x.Action.includes("ess:CompleteLifecycleAction"))?.Resource).toEqual([
      `acs:ess:${REGION}:*:scalinggroup/asg-1`,
    ]);
    expect(s.flatMap((x) => x.Action).every((a) => !a.endsWith("*"))).toBe(true);
  });
});

describe("under mocks", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks("prod");
  });

  it("every pool gets one SCALE_IN hook notifying the cluster's OOS template, whatever its size", async () => {
    const spec = specFor({}, "prod");
    const declared = await declareCluster(recorder, spec);
    const hooks = declared.filter((r) => r.type === "alicloud:ess/lifecycleHook:LifecycleHook");
    expect(hooks).toHaveLength(spec.nodePools.length);
    const template = declared.find((r) => r.type === "alicloud:oos/template:Template");
    for (const h of hooks) {
      expect(h.inputs).toMatchObject({ lifecycleTransition: "SCALE_IN", defaultResult: "ABANDON" });
      expect(String(h.inputs.notificationArn)).toBe(
        `acs:ess:${spec.region}:ACCOUNT_ID:oos/${String(template?.inputs.templateName)}`,
      );
    }
    const role = declared.find(
      (r) => r.type === "alicloud:ram/role:Role" && r.name.endsWith("scale-in-role"),
    );
    expect(String(role?.inputs.assumeRolePolicyDocument)).toContain("oos.aliyuncs.com");
    const content = JSON.parse(String(template?.inputs.content)) as {
      RamRole: string;
      Parameters: { OOSAssumeRole: { Default: string } };
    };
    expect(content.Parameters.OOSAssumeRole.Default).toBe(String(role?.inputs.roleName));
  });
});
