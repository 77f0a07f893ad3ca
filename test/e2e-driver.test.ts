// The end-to-end driver (tools/e2e/driver.ts) against stand-ins: a scripted Pulumi CLI,
// kubectl and ESS that keep a small world (nodes, versions, the smoke test's objects).
// ESS is the real client (components/ess.ts) against the fake ESS (test/harness/
// fake-ecs.py); the world's node count follows the capacity the driver asked ESS for.
// Checked: the order of the steps, that the cluster is destroyed whatever failed, that
// a failure names its step and cause, that the kubeconfig never reaches the kept logs,
// and that the stack file it writes passes the real config validation. Not checked
// here: Alibaba Cloud, Pulumi or a cluster answering (only the workflow run does that).
import { describe, expect, it } from "vitest";
import { projectConfig } from "../config/load";
import { validateStackConfig } from "../config/validate";
import { essClient } from "../components/ess";
import { runE2e, stackConfig, type CommandResult, type E2eSettings } from "../tools/e2e/driver";
import { fakeEcsPerTest, type FakeEcs } from "./harness/fake-ecs";
import { SMOKE, smokeManifest } from "../tools/e2e/smoke";

const settings: E2eSettings = {
  stack: "e2e-42",
  region: "cn-hangzhou",
  zones: ["cn-hangzhou-h", "cn-hangzhou-i"],
  instanceType: "ecs.g7.large",
  from: "1.35.2",
  to: "1.36.5",
  allowedCidr: "198.51.100.7/32",
  limits: { upMinutes: 75, readyMinutes: 20, smokeMinutes: 10 },
};

interface World {
  version: string;
  nodes: number;
  desired: number;
  commands: string[];
  logs: Record<string, string>;
  stackFiles: Record<string, unknown>[];
  clientPhase: string;
  clientSays: string;
  neverReady: boolean;
  destroyFails: boolean;
}

const fake = fakeEcsPerTest("AK-e2e-test");
const group = { DesiredCapacity: 2, MaxSize: 3, MinSize: 1, LaunchTemplateVersion: "1", instances: [] };

function ports(w: World, ess: FakeEcs) {
  let t = 0;
  // The pool follows the last total capacity the driver asked ESS for.
  const poolNodes = () => {
    const last = ess.calls("ScaleWithAdjustment").at(-1);
    return last ? Number(last.query.AdjustmentValue) : w.desired;
  };
  const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
  return {
    run: async (command: string, args: readonly string[], opts: { timeoutMs: number; input?: string }) => {
      w.commands.push(`${command} ${args.join(" ")}`);
      expect(opts.timeoutMs).toBeGreaterThan(0);
      const a = args.join(" ");
      if (command === "pulumi") {
        if (a.startsWith("up ")) {
          const config = w.stackFiles.at(-1)?.config as Record<string, unknown>;
          w.version = String(config["kubeadm-alicloud:kubernetesVersion"]);
          w.nodes = 1 + w.desired;
          return ok();
        }
        if (a.startsWith("destroy "))
          return w.destroyFails ? { code: 255, stdout: "", stderr: "error: deleting vpc" } : ok();
        if (a.startsWith("stack output kubeconfig")) return ok("apiVersion: v1 # SECRET-KUBECONFIG\n");
        if (a.startsWith("stack output apiPublicAddress")) return ok("203.0.113.9\n");
        if (a.startsWith("stack output apiEndpoint")) return ok("api.e2e-42.k8s.internal\n");
        if (a.startsWith("stack output nodePoolScalingGroupIds")) return ok('{"e2e":"asg-e2e"}');
        if (a.startsWith("stack output confirmedKubernetesVersion")) return ok(`${w.version}\n`);
        return ok();
      }
      if (command === "kubectl") {
        expect(args.slice(0, 6)).toEqual([
          "--kubeconfig",
          "/secret/kubeconfig",
          "--server",
          "https://203.0.113.9:6443",
          "--tls-server-name",
          "api.e2e-42.k8s.internal",
        ]);
        if (a.includes("get nodes")) {
          const items = Array.from({ length: w.nodes === 0 ? 0 : 1 + poolNodes() }, (_, i) => ({
            metadata: { name: `n${i}` },
            status: {
              nodeInfo: { kubeletVersion: `v${w.version}` },
              conditions: [{ type: "Ready", status: w.neverReady ? "False" : "True" }],
            },
          }));
          return ok(JSON.stringify({ items }));
        }
        if (a.includes(`get service -n ${SMOKE.namespace}`))
          return ok(JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "10.10.0.99" }] } } }));
        if (a.includes(`get pod -n ${SMOKE.namespace} ${SMOKE.client}`)) return ok(w.clientPhase);
        if (a.includes(`get pvc`)) return ok("Bound");
        if (a.includes(`logs -n ${SMOKE.namespace} ${SMOKE.client}`)) return ok(w.clientSays);
        return ok();
      }
      return { code: 127, stdout: "", stderr: `no ${command}` };
    },
    ess: essClient("cn-hangzhou", ess.url),
    writeStackConfig: (_stack: string, config: Record<string, unknown>) => void w.stackFiles.push(config),
    writeSecret: (name: string) => `/secret/${name}`,
    log: (step: string, text: string) => void (w.logs[step] = `${w.logs[step] ?? ""}${text}\n`),
    sleep: async (ms: number) => void (t += ms),
    now: () => t,
  };
}

const world = (over: Partial<World> = {}): World => ({
  version: "",
  nodes: 0,
  desired: 2,
  commands: [],
  logs: {},
  stackFiles: [],
  clientPhase: "Succeeded",
  clientSays: "",
  neverReady: false,
  destroyFails: false,
  ...over,
});

describe("the end-to-end driver", () => {
  it("writes a stack file the config validation accepts, at each version", () => {
    for (const v of [settings.from, settings.to]) {
      const config = stackConfig(settings, v).config as Record<string, unknown>;
      const flat = Object.fromEntries(
        Object.entries(config).map(([k, x]) => [k, typeof x === "string" ? x : JSON.stringify(x)]),
      );
      const spec = validateStackConfig(projectConfig(flat, "kubeadm-alicloud"), {
        project: "kubeadm-alicloud",
        stack: settings.stack,
      });
      expect(spec).toMatchObject({ environment: "dev", kubernetesVersion: v, clusterName: "e2e-42" });
      expect(spec.nodePools.map((p) => [p.name, p.desiredCapacity, p.kubernetesVersion])).toEqual([
        ["e2e", 2, v],
      ]);
      expect(spec.controlPlane.count).toBe(1);
    }
  });

  it("creates, checks, smoke-tests, upgrades, scales out and in, and destroys, in that order", async () => {
    const w = world();
    const ess = await fake({ groups: { "asg-e2e": group } });
    const r = await runE2e(settings, ports(w, ess));
    expect(r.steps.map((s) => [s.name, s.ok])).toEqual([
      ["create", true],
      ["nodes-ready", true],
      ["smoke", true],
      ["upgrade", true],
      ["scale", true],
      ["destroy", true],
    ]);
    expect(r.ok).toBe(true);
    expect(
      w.stackFiles.map((f) => (f.config as Record<string, unknown>)["kubeadm-alicloud:kubernetesVersion"]),
    ).toEqual(["1.35.2", "1.36.5"]);
    expect(
      ess.calls("ScaleWithAdjustment").map((c) => [c.query.ScalingGroupId, c.query.AdjustmentValue]),
    ).toEqual([
      ["asg-e2e", "3"],
      ["asg-e2e", "2"],
    ]);
    expect(w.commands.at(-2)).toMatch(/^pulumi destroy --yes --skip-preview --stack e2e-42/);
    expect(w.commands.at(-1)).toMatch(/^pulumi stack rm --yes --stack e2e-42/);
    // The smoke test reached the Service's address from inside the cluster.
    expect(w.commands.some((c) => c.includes("/agnhost connect 10.10.0.99:80"))).toBe(true);
    // The kubeconfig went to a private file, never into the kept logs.
    expect(Object.values(w.logs).join("")).not.toContain("SECRET-KUBECONFIG");
  });

  it("destroys the cluster after a failed smoke test, and names the failure; later steps do not run", async () => {
    const w = world({ clientPhase: "Failed" });
    const ess = await fake({ groups: { "asg-e2e": group } });
    const r = await runE2e(settings, ports(w, ess));
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => s.name)).toEqual(["create", "nodes-ready", "smoke", "destroy"]);
    expect(ess.calls("ScaleWithAdjustment")).toEqual([]);
    expect(r.steps[3]?.ok).toBe(true);
    expect(w.commands.filter((c) => c.startsWith("ess"))).toEqual([]);
  });

  it("fails the smoke test on agnhost's failure line even when the client pod exited 0", async () => {
    const w = world({ clientSays: "TIMEOUT: dial tcp 10.10.0.99:80: i/o timeout\n" });
    const r = await runE2e(settings, ports(w, await fake({ groups: { "asg-e2e": group } })));
    expect(r.steps[2]).toMatchObject({
      name: "smoke",
      ok: false,
      detail: expect.stringMatching(/could not connect to 10\.10\.0\.99:80: TIMEOUT/),
    });
  });

  it("gives up on nodes that never become Ready within the limit, and says what it saw", async () => {
    const ess = await fake({ groups: { "asg-e2e": group } });
    const r = await runE2e(settings, ports(world({ neverReady: true }), ess));
    expect(r.steps[1]).toMatchObject({
      name: "nodes-ready",
      ok: false,
      detail: "not within 20 min: not Ready: n0, n1, n2",
    });
    expect(r.steps.at(-1)?.name).toBe("destroy");
  });

  it("reports a failed destroy as a failure to clean up by hand", async () => {
    const ess = await fake({ groups: { "asg-e2e": group } });
    const r = await runE2e(settings, ports(world({ destroyFails: true }), ess));
    expect(r.ok).toBe(false);
    expect(r.steps.at(-1)?.detail).toMatch(
      /exited 255: error: deleting vpc: delete what is left by hand \(stack e2e-42\)/,
    );
  });

  it("pins its smoke test's image and keeps its Service intranet", () => {
    const manifest = smokeManifest();
    expect(manifest).toContain("image: registry.k8s.io/e2e-test-images/agnhost:2.42");
    expect(manifest).toContain(
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet",
    );
    expect(manifest.split("---\n").map((d) => /kind: (\w+)/.exec(d)?.[1])).toEqual([
      "Namespace",
      "Deployment",
      "Service",
      "PersistentVolumeClaim",
      "Pod",
    ]);
  });
});
