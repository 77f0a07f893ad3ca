// The end-to-end run on a real account (.github/workflows/e2e.yml): a small throwaway
// cluster is created with `pulumi up`, every node must be Ready, a smoke test runs (a
// Deployment reached through a LoadBalancer Service, a PersistentVolumeClaim bound), the
// cluster is upgraded one minor (the staged rollout), a pool scaled out and in through
// ESS, and the cluster destroyed whatever happened before. Every command's output goes
// to the log directory (kept by the workflow); the kubeconfig never does.
import type { EssApi } from "../../components/ess";
import { smokeManifest, SMOKE } from "./smoke";

export interface E2eSettings {
  readonly stack: string;
  readonly region: string;
  readonly zones: readonly string[];
  readonly instanceType: string;
  readonly from: string;
  readonly to: string;
  /** The runner's address, as a CIDR, let through to the public API endpoint. */
  readonly allowedCidr: string;
  /** Minutes for each long step. */
  readonly limits: {
    readonly upMinutes: number;
    readonly readyMinutes: number;
    readonly smokeMinutes: number;
  };
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface E2ePorts {
  run(
    command: string,
    args: readonly string[],
    opts: { timeoutMs: number; input?: string },
  ): Promise<CommandResult>;
  readonly ess: Pick<EssApi, "group" | "scaleTo">;
  /** Writes the stack's config file (stacks/Pulumi.<stack>.yaml), as YAML. */
  writeStackConfig(stack: string, config: Record<string, unknown>): void;
  /** A private file (mode 0600) outside the log directory; returns its path. */
  writeSecret(name: string, content: string): string;
  /** Appends to the step's log in the kept log directory. */
  log(step: string, text: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface StepReport {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly detail: string;
}

class StepFailed extends Error {}
/** A failure no wait can change (the smoke client could not connect). */
class DefiniteFailure extends StepFailed {}

const MINUTE = 60_000;
const POOL = "e2e";

/**
 * The stack's config, typed as a stack file holds it (`pulumi config set` would store
 * numbers as strings): a dev cluster, one control plane, a pool of 2 (1 to 3), a public
 * API endpoint that only the runner may reach.
 */
export function stackConfig(s: E2eSettings, version: string): Record<string, unknown> {
  const k = (key: string) => `kubeadm-alicloud:${key}`;
  return {
    config: {
      [k("environment")]: "dev",
      [k("clusterName")]: s.stack,
      [k("region")]: s.region,
      [k("zones")]: [...s.zones],
      [k("kubernetesVersion")]: version,
      [k("controlPlane")]: { deletionProtection: false },
      [k("apiEndpoint")]: { public: true, allowedCidrs: [s.allowedCidr] },
      [k("nodePools")]: [
        { name: POOL, instanceTypes: [s.instanceType], minSize: 1, maxSize: 3, desiredCapacity: 2 },
      ],
    },
  };
}

export async function runE2e(s: E2eSettings, p: E2ePorts): Promise<{ ok: boolean; steps: StepReport[] }> {
  const steps: StepReport[] = [];
  const cmd = async (
    step: string,
    command: string,
    args: readonly string[],
    minutes: number,
    input?: string,
  ) => {
    p.log(step, `$ ${command} ${args.join(" ")}`);
    const r = await p.run(command, args, { timeoutMs: minutes * MINUTE, ...(input ? { input } : {}) });
    // A secret's value (--show-secrets) never reaches the kept logs.
    const stdout = args.includes("--show-secrets") ? "(secret output withheld)\n" : r.stdout;
    p.log(step, `${stdout}${r.stderr}\n(exit ${r.code})`);
    return r;
  };
  const must = async (
    step: string,
    command: string,
    args: readonly string[],
    minutes: number,
    input?: string,
  ) => {
    const r = await cmd(step, command, args, minutes, input);
    if (r.code !== 0)
      throw new StepFailed(
        `${command} ${args.slice(0, 3).join(" ")} exited ${r.code}: ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`,
      );
    return r.stdout;
  };
  const stackArgs = ["--stack", s.stack, "--non-interactive"];
  const pulumi = (step: string, args: readonly string[], minutes = 5) =>
    must(step, "pulumi", [...args, ...stackArgs], minutes);
  const output = async (step: string, name: string, secret = false) =>
    (await pulumi(step, ["stack", "output", name, ...(secret ? ["--show-secrets"] : [])])).trim();

  let kubectlBase: string[] = [];
  const kubectl = (step: string, args: readonly string[], input?: string) =>
    must(step, "kubectl", [...kubectlBase, "--request-timeout=30s", ...args], 2, input);

  /** Polls `check` until it returns undefined (done) or time runs out; its last answer is the failure. */
  const until = async (step: string, minutes: number, check: () => Promise<string | undefined>) => {
    const deadline = p.now() + minutes * MINUTE;
    for (;;) {
      let why: string | undefined;
      try {
        why = await check();
      } catch (err) {
        // A definite failure ends the wait; anything else (an API not answering) is retried.
        if (err instanceof DefiniteFailure) throw err;
        why = (err as Error).message;
      }
      if (why === undefined) return;
      p.log(step, `waiting: ${why}`);
      if (p.now() >= deadline) throw new StepFailed(`not within ${minutes} min: ${why}`);
      await p.sleep(20_000);
    }
  };
  const nodes = async (step: string) =>
    (
      JSON.parse(await kubectl(step, ["get", "nodes", "-o", "json"])) as {
        items: {
          metadata: { name: string };
          status: { nodeInfo: { kubeletVersion: string }; conditions?: { type: string; status: string }[] };
        }[];
      }
    ).items.map((n) => ({
      name: n.metadata.name,
      version: n.status.nodeInfo.kubeletVersion.replace(/^v/, ""),
      ready: (n.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    }));
  const allReady = (step: string, count: number, version?: string) => async () => {
    const ns = await nodes(step);
    const notReady = ns.filter((n) => !n.ready || (version !== undefined && n.version !== version));
    if (ns.length !== count) return `${ns.length} nodes, want ${count}`;
    return notReady.length > 0
      ? `not Ready${version ? ` at ${version}` : ""}: ${notReady.map((n) => n.name).join(", ")}`
      : undefined;
  };

  let groupId = "";
  const plan: [string, () => Promise<string>][] = [
    [
      "create",
      async () => {
        p.writeStackConfig(s.stack, stackConfig(s, s.from));
        await cmd("create", "pulumi", ["stack", "init", ...stackArgs], 2); // exists already on a rerun
        await pulumi("create", ["up", "--yes", "--skip-preview"], s.limits.upMinutes);
        return `pulumi up of ${s.stack} at ${s.from}`;
      },
    ],
    [
      "nodes-ready",
      async () => {
        const kubeconfig = p.writeSecret("kubeconfig", await output("nodes-ready", "kubeconfig", true));
        const address = await output("nodes-ready", "apiPublicAddress");
        const dnsName = await output("nodes-ready", "apiEndpoint");
        // The kubeconfig names apiEndpoint.dnsName, which the runner cannot resolve; the
        // public CLB address is in the API certificate, and so is the name checked here.
        kubectlBase = [
          "--kubeconfig",
          kubeconfig,
          "--server",
          `https://${address}:6443`,
          "--tls-server-name",
          dnsName,
        ];
        groupId =
          (JSON.parse(await output("nodes-ready", "nodePoolScalingGroupIds")) as Record<string, string>)[
            POOL
          ] ?? "";
        await until("nodes-ready", s.limits.readyMinutes, allReady("nodes-ready", 3));
        return "1 control plane and 2 pool nodes Ready";
      },
    ],
    [
      "smoke",
      async () => {
        await kubectl("smoke", ["apply", "-f", "-"], smokeManifest());
        let address = "";
        await until("smoke", s.limits.smokeMinutes, async () => {
          const svc = JSON.parse(
            await kubectl("smoke", ["get", "service", "-n", SMOKE.namespace, SMOKE.service, "-o", "json"]),
          ) as {
            status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
          };
          address = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? "";
          return address ? undefined : "the LoadBalancer Service has no address yet";
        });
        await kubectl("smoke", [
          "run",
          SMOKE.client,
          "-n",
          SMOKE.namespace,
          "--image",
          SMOKE.image,
          "--restart=Never",
          "--command",
          "--",
          "/agnhost",
          "connect",
          `${address}:80`,
          "--timeout=5s",
        ]);
        await until("smoke", s.limits.smokeMinutes, async () => {
          const phase = (
            await kubectl("smoke", [
              "get",
              "pod",
              "-n",
              SMOKE.namespace,
              SMOKE.client,
              "-o",
              "jsonpath={.status.phase}",
            ])
          ).trim();
          if (phase === "Failed")
            throw new DefiniteFailure(`the client pod could not connect to ${address}:80`);
          return phase === "Succeeded" ? undefined : `client pod ${phase || "pending"}`;
        });
        // agnhost connect prints a failure as a line starting TIMEOUT, DNS, REFUSED, OTHER
        // or UNKNOWN (kubernetes/kubernetes test/images/agnhost/README.md, "connect"): the
        // pod's exit code alone is not what its README promises.
        const said = await kubectl("smoke", ["logs", "-n", SMOKE.namespace, SMOKE.client]);
        if (/^(TIMEOUT|DNS|REFUSED|OTHER|UNKNOWN)/m.test(said))
          throw new DefiniteFailure(`the client pod could not connect to ${address}:80: ${said.trim()}`);
        await until("smoke", s.limits.smokeMinutes, async () => {
          const phase = (
            await kubectl("smoke", [
              "get",
              "pvc",
              "-n",
              SMOKE.namespace,
              SMOKE.claim,
              "-o",
              "jsonpath={.status.phase}",
            ])
          ).trim();
          return phase === "Bound" ? undefined : `the claim is ${phase || "pending"}`;
        });
        return `the Deployment answered through ${address}; the claim is Bound`;
      },
    ],
    [
      "upgrade",
      async () => {
        p.writeStackConfig(s.stack, stackConfig(s, s.to));
        await pulumi("upgrade", ["up", "--yes", "--skip-preview"], s.limits.upMinutes);
        const confirmed = await output("upgrade", "confirmedKubernetesVersion");
        if (confirmed !== s.to)
          throw new StepFailed(`confirmedKubernetesVersion is ${confirmed}, not ${s.to}`);
        await until("upgrade", s.limits.readyMinutes, allReady("upgrade", 3, s.to));
        return `every node at ${s.to}`;
      },
    ],
    [
      "scale",
      async () => {
        if (!groupId) throw new StepFailed(`no scaling group for pool ${POOL} in the stack's outputs`);
        const { desired } = await p.ess.group(groupId);
        await p.ess.scaleTo(groupId, desired + 1);
        await until("scale", s.limits.readyMinutes, allReady("scale", 2 + desired));
        await p.ess.scaleTo(groupId, desired);
        await until("scale", s.limits.readyMinutes, allReady("scale", 1 + desired));
        return `pool ${POOL} out to ${desired + 1} nodes and back to ${desired}`;
      },
    ],
  ];

  let failed = false;
  for (const [name, body] of plan) {
    if (failed) break;
    const started = p.now();
    try {
      const detail = await body();
      steps.push({ name, ok: true, seconds: (p.now() - started) / 1000, detail });
    } catch (err) {
      failed = true;
      steps.push({ name, ok: false, seconds: (p.now() - started) / 1000, detail: (err as Error).message });
    }
  }
  // Whatever happened: nothing is left running on the account.
  const started = p.now();
  try {
    await pulumi("destroy", ["destroy", "--yes", "--skip-preview"], s.limits.upMinutes);
    await pulumi("destroy", ["stack", "rm", "--yes"]);
    steps.push({ name: "destroy", ok: true, seconds: (p.now() - started) / 1000, detail: "destroyed" });
  } catch (err) {
    steps.push({
      name: "destroy",
      ok: false,
      seconds: (p.now() - started) / 1000,
      detail: `${(err as Error).message}: delete what is left by hand (stack ${s.stack})`,
    });
  }
  return { ok: steps.every((x) => x.ok), steps };
}
