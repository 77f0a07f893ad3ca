// The one drain (bootstrap/drain.sh), as the Cloud Assistant command that runs it on a
// control plane, and the reading of its result. The staged rollout and the scale-in
// lifecycle hook both use these; pure: nothing here calls Alibaba Cloud.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "./node-commands";

export const DRAIN_SCRIPT_PATH = join(__dirname, "..", "bootstrap", "drain.sh");
const DRAIN_SCRIPT = readFileSync(DRAIN_SCRIPT_PATH, "utf8");

/**
 * What drain.sh needs besides the budget: a cordon, a look at the budgets and an
 * uncordon (10 s request limit each), kubectl's last 5 s retry, and the log.
 */
export const DRAIN_MARGIN_SECONDS = 120;
export const RESULT_PREFIX = "kubeadm-alicloud-drain: ";

export interface DrainCommand {
  readonly script: string;
  /** Cloud Assistant's Timeout: the budget and the script's margin, strictly inside. */
  readonly timeoutSeconds: number;
}

export interface DrainOptions {
  /** Leave the node cordoned when the drain fails: a node about to be removed anyway. */
  readonly keepCordoned?: boolean;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function drainCommand(node: string, budgetSeconds: number, options: DrainOptions = {}): DrainCommand {
  if (!NODE_NAME.test(node) || node.length > 253) throw new Error(`"${node}" is not a node name`);
  if (!Number.isInteger(budgetSeconds) || budgetSeconds < 1)
    throw new Error(`a drain budget of ${budgetSeconds} s`);
  const shebang = /^#!.*\n/.exec(DRAIN_SCRIPT)?.[0] ?? "";
  const head = [
    `set -- ${node} ${budgetSeconds} # kubeadm-alicloud: the node and its drain budget`,
    ...(options.keepCordoned ? ["export KUBEADM_ALICLOUD_KEEP_CORDONED=yes"] : []),
  ];
  const script = `${shebang}${head.join("\n")}\n${DRAIN_SCRIPT.slice(shebang.length)}`;
  if (commandContentSize(script) > COMMAND_CONTENT_LIMIT) {
    throw new Error(
      `the drain command is ${commandContentSize(script)} bytes in Base64 (limit ${COMMAND_CONTENT_LIMIT})`,
    );
  }
  return { script, timeoutSeconds: budgetSeconds + DRAIN_MARGIN_SECONDS };
}

export interface DrainResult {
  readonly node: string;
  readonly ok: boolean;
  /** "drained", "blocked", "cannot start" or "usage". */
  readonly reason: string;
  /** "namespace/name" of each pod that could not be evicted. */
  readonly pods: readonly string[];
  /** "namespace/name" of each budget in those namespaces that allowed no disruption. */
  readonly budgets: readonly string[];
}

/** The result line drain.sh ends with; undefined when the output has none (it was killed). */
export function parseDrainResult(output: string): DrainResult | undefined {
  const line = output
    .split("\n")
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) return undefined;
  const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as DrainResult;
  return { node: r.node, ok: r.ok, reason: r.reason, pods: r.pods, budgets: r.budgets };
}

/** The error a failed drain stops a rollout or a scale-in with: what blocked it, and the node's output. */
export function drainFailure(node: string, output: string): string {
  const r = parseDrainResult(output);
  const tail = output.trimEnd().split("\n").slice(-20).join("\n");
  if (!r)
    return `the drain of ${node} ended without a result (killed at its time limit?); its output:\n${tail}`;
  if (r.reason === "cannot start")
    return `the drain of ${node} could not start (the API did not answer); its output:\n${tail}`;
  const pods = r.pods.length ? r.pods.join(", ") : "none named";
  const budgets = r.budgets.length ? r.budgets.join(", ") : "none allowing no disruption";
  return `the drain of ${node} was blocked by pods ${pods} (PodDisruptionBudgets: ${budgets}); the node was uncordoned unless it is being removed. Its output:\n${tail}`;
}
