// A readiness gate that reports why it failed. Pulumi's ecs.EcsInvocation fails with
// only "Last status: Failed"; this one waits for the node's Cloud Assistant agent, runs
// the command itself (again, while the agent cannot take it yet), polls the result, and
// puts the tail of the command's output (the node's bootstrap log) into the error that
// `pulumi up` prints.
import * as pulumi from "@pulumi/pulumi";
import {
  AGENT_ONLINE_SECONDS,
  CLOUD_ASSISTANT_SECONDS,
  GATE_SECONDS,
  WAIT_READY_SECONDS,
} from "../plan/timeouts";
import { ecsClient, type CommandApi, type InvocationResult } from "./cloud-assistant";

export type { CommandApi, InvocationResult } from "./cloud-assistant";

/**
 * What control-plane.ts passes as ReadinessCheck's timeoutSeconds: Cloud Assistant's own Timeout for the
 * command.
 */
export const READINESS_TIMEOUT_SECONDS = CLOUD_ASSISTANT_SECONDS;
/**
 * How much sooner than Cloud Assistant the script gives up, so its own report (and the log tail) is the
 * output.
 */
const SCRIPT_MARGIN_SECONDS = CLOUD_ASSISTANT_SECONDS - WAIT_READY_SECONDS;
/** The gate's slack beyond the agent wait and one invocation, for polling. */
const GATE_SLACK_SECONDS = GATE_SECONDS - AGENT_ONLINE_SECONDS - CLOUD_ASSISTANT_SECONDS;

/**
 * wait-ready.sh's own limit under a Cloud Assistant Timeout of `timeoutSeconds` (WAIT_READY_SECONDS for
 * CLOUD_ASSISTANT_SECONDS).
 */
export function scriptSeconds(timeoutSeconds: number): number {
  const s = timeoutSeconds - SCRIPT_MARGIN_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || s < 1)
    throw new Error(
      `a readiness timeout of ${timeoutSeconds} s leaves the script no time of its own (it stops ${SCRIPT_MARGIN_SECONDS} s sooner)`,
    );
  return s;
}

/**
 * The gate's whole budget for a Cloud Assistant Timeout of `timeoutSeconds` (GATE_SECONDS for
 * CLOUD_ASSISTANT_SECONDS).
 */
export function gateSeconds(timeoutSeconds: number): number {
  return AGENT_ONLINE_SECONDS + timeoutSeconds + GATE_SLACK_SECONDS;
}

/** The command Cloud Assistant runs: the script, given its own, shorter time limit as $1. */
export function readinessCommand(script: string, timeoutSeconds: number): string {
  const limit = `set -- ${scriptSeconds(timeoutSeconds)} # kubeadm-alicloud: the script's own limit, inside Cloud Assistant's ${timeoutSeconds} s\n`;
  const shebang = /^#!.*\n/.exec(script)?.[0] ?? "";
  return `${shebang}${limit}${script.slice(shebang.length)}`;
}

// DescribeInvocationResults, InvocationStatus "Aborted": the command could not be sent
// to the instance (the instance must be Running and the command deliverable within a
// minute); ErrorCode ClientNotRunning, ClientNotResponse, ClientIsUpgrading and
// DeliveryTimeout say why. "Elastic Compute Service: DescribeInvocationResults",
// https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults
// None of these ran the script: send it again.
const UNDELIVERED_CODES = new Set([
  "ClientNotRunning",
  "ClientNotResponse",
  "ClientIsUpgrading",
  "DeliveryTimeout",
]);
/** Statuses after which a Cloud Assistant invocation does not change any more (same page). */
const FINAL = new Set([
  "Success",
  "Failed",
  "Error",
  "Timeout",
  "Cancelled",
  "Terminated",
  "Stopped",
  "Invalid",
  "Aborted",
]);

export function undelivered(r: InvocationResult): boolean {
  return (
    r.status === "Aborted" ||
    (r.status !== "Success" && r.errorCode !== undefined && UNDELIVERED_CODES.has(r.errorCode))
  );
}

/**
 * A RunCommand error worth another try: throttling and server errors, which
 * @alicloud/openapi-core 1.0.8 raises as ThrottlingError (any Code containing
 * "Throttling") and ServerError (HTTP 5xx) (src/client.ts, doRequest), and
 * IncorrectInstanceStatus (ECS's "the instance's state does not allow this", e.g. still
 * starting). [uncertain: RunCommand's own error table was not available to check for
 * other agent-not-ready codes; Aborted results above are the documented path.]
 * Anything else (credentials, permissions, a bad request) fails at once.
 */
export function retryableRunError(err: unknown): boolean {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; statusCode?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const status = typeof e.statusCode === "number" ? e.statusCode : 0;
  return (
    e.name === "ThrottlingError" ||
    code.includes("Throttling") ||
    status >= 500 ||
    code === "IncorrectInstanceStatus"
  );
}

export interface WaitOptions {
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Overrides for tests; default AGENT_ONLINE_SECONDS and gateSeconds(timeoutSeconds). */
  readonly agentOnlineSeconds?: number;
  readonly gateSeconds?: number;
  /** Progress lines (agent offline, re-issued commands). */
  readonly log?: (line: string) => void;
  /** How a failure starts: "<instance> <what>: …" (default "did not become ready"). */
  readonly what?: string;
  /**
   * Resolve, not reject, when the script ran and exited non-zero (status Failed): for
   * callers that read the script's own result line (the rollout's steps).
   */
  readonly returnFailures?: boolean;
}

const seconds = (ms: number) => String(Math.round(ms / 100) / 10);

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}
/** wait-ready.sh ends with its verdict, a header and 40 log lines: keep them all. */
const OUTPUT_TAIL_LINES = 50;

/**
 * Wait for the instance's Cloud Assistant agent, run `script` with Cloud Assistant
 * Timeout `timeoutSeconds`, and wait for it to finish. An undelivered command is sent
 * again until the gate's deadline. Resolves with its output on success; rejects with the
 * status, exit code, error and the last lines of output otherwise.
 */
export async function waitForCommand(
  api: CommandApi,
  instanceId: string,
  script: string,
  timeoutSeconds: number,
  opts: WaitOptions = {},
): Promise<{ invokeId: string; output: string; exitCode: number }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = opts.pollMs ?? 15_000;
  const log = opts.log ?? (() => undefined);
  const start = now();
  const gate = opts.gateSeconds ?? gateSeconds(timeoutSeconds);
  const deadline = start + gate * 1000;
  const fail = (why: string) => new Error(`${instanceId} ${opts.what ?? "did not become ready"}: ${why}`);

  // "Before you run commands on … new instances, … query the status of Cloud Assistant
  // … Run commands … only when the return value [CloudAssistantStatus] is true."
  // "Elastic Compute Service: DescribeCloudAssistantStatus", usage notes,
  // https://alibabacloud.com/help/en/ecs/api-describecloudassistantstatus
  const waitForAgent = async (until: number, budget: number) => {
    for (let polls = 0; !(await api.agentOnline(instanceId)); polls++) {
      if (now() >= until)
        throw fail(
          `its Cloud Assistant agent did not come online within ${budget} s (DescribeCloudAssistantStatus never said true)`,
        );
      if (polls === 0) log(`${instanceId}: waiting for the Cloud Assistant agent`);
      await sleep(pollMs);
    }
  };
  const agentBudget = opts.agentOnlineSeconds ?? AGENT_ONLINE_SECONDS;
  await waitForAgent(Math.min(deadline, start + agentBudget * 1000), agentBudget);

  let lastUndelivered = "";
  const undeliveredWithin = (tries: number) =>
    `Cloud Assistant could not deliver the readiness command within ${gate} s (${tries} tries; last: ${lastUndelivered})`;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) {
      if (now() >= deadline) throw fail(undeliveredWithin(attempt - 1));
      await sleep(pollMs);
      await waitForAgent(deadline, gate);
    }
    let invokeId: string;
    try {
      invokeId = await api.run(instanceId, script, timeoutSeconds);
    } catch (err) {
      if (!retryableRunError(err)) throw err;
      lastUndelivered = `RunCommand: ${(err as Error).message}`;
      log(`${instanceId}: ${lastUndelivered}; trying again`);
      continue;
    }
    // A little beyond the command's own timeout, so Cloud Assistant reports Timeout first.
    const invocationDeadline = Math.min(deadline, now() + (timeoutSeconds + 120) * 1000);
    let r: InvocationResult | undefined;
    for (;;) {
      r = await api.result(invokeId, instanceId);
      if (r && FINAL.has(r.status)) break;
      if (now() >= invocationDeadline) {
        // Cut short by the gate while still undelivered (Pending): report the delivery trouble.
        if (lastUndelivered && (!r || r.status === "Pending")) throw fail(undeliveredWithin(attempt));
        throw fail(
          `no final result from Cloud Assistant invocation ${invokeId} (last: ${r?.status ?? "none"}) after ${seconds(now() - start)} s`,
        );
      }
      await sleep(pollMs);
    }
    if (undelivered(r)) {
      lastUndelivered = `invocation ${invokeId} ended ${r.status}${r.errorCode ? ` ${r.errorCode}` : ""}${r.errorInfo ? `: ${r.errorInfo}` : ""}`;
      log(`${instanceId}: ${lastUndelivered}; sending it again`);
      continue;
    }
    if (r.status === "Success" && (r.exitCode ?? 0) === 0) return { invokeId, output: r.output, exitCode: 0 };
    if (opts.returnFailures && r.status === "Failed" && r.exitCode !== undefined)
      return { invokeId, output: r.output, exitCode: r.exitCode };
    throw fail(
      `Cloud Assistant invocation ${invokeId} ended ${r.status}` +
        `${r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ""}${r.errorInfo ? `: ${r.errorInfo}` : ""}\n` +
        `--- last lines of its output:\n${tail(r.output.trimEnd(), OUTPUT_TAIL_LINES)}`,
    );
  }
}

/** The verdict wait-ready.sh prints ("kubeadm-alicloud: …"), else the output's last line. */
export function verdict(output: string): string {
  const lines = output.trimEnd().split("\n");
  return [...lines].reverse().find((l) => l.startsWith("kubeadm-alicloud: ")) ?? lines.pop() ?? "";
}

interface ReadinessInputs {
  regionId: string;
  instanceId: string;
  script: string;
  timeoutSeconds: number;
  revision?: string;
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ReadinessInputs) {
    // Pulumi serializes this function with what it calls; ecsClient loads the SDK only when called.
    const command = readinessCommand(inputs.script, inputs.timeoutSeconds);
    const { invokeId, output } = await waitForCommand(
      ecsClient(inputs.regionId),
      inputs.instanceId,
      command,
      inputs.timeoutSeconds,
    );
    return { id: invokeId, outs: { ...inputs, lastLine: verdict(output) } };
  },
  // Every input change means another node or another check: run it again.
  async diff(_id, olds: ReadinessInputs, news: ReadinessInputs) {
    const changed = (["regionId", "instanceId", "script", "timeoutSeconds", "revision"] as const).filter(
      (k) => olds[k] !== news[k],
    );
    return { changes: changed.length > 0, replaces: changed };
  },
};

export interface ReadinessCheckArgs {
  readonly regionId: pulumi.Input<string>;
  readonly instanceId: pulumi.Input<string>;
  /** The script (wait-ready.sh); it is run with its own limit as $1, scriptSeconds(timeoutSeconds). */
  readonly script: pulumi.Input<string>;
  /** Cloud Assistant's Timeout for the script: READINESS_TIMEOUT_SECONDS. */
  readonly timeoutSeconds: pulumi.Input<number>;
  /**
   * What the node was last changed to (e.g. its instance type): a new revision runs the
   * check again, after the change, and whatever depends on the check waits for it.
   */
  readonly revision?: pulumi.Input<string>;
}

/** Runs `script` on the instance through Cloud Assistant; fails `pulumi up` with the script's output tail. */
export class ReadinessCheck extends pulumi.dynamic.Resource {
  declare readonly lastLine: pulumi.Output<string>;
  constructor(name: string, args: ReadinessCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, lastLine: undefined }, opts, "kubeadm-alicloud", "ReadinessCheck");
  }
}
