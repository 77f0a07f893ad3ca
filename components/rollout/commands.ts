// The rollout's commands on the cluster's machines, through the one Cloud Assistant client:
// a command run with nested limits (plan/rollout/limits.ts) and its output kept, rollout-node.py
// on the first control plane that answers, and the one drain (plan/drain.ts). Each failure is a
// RolloutHalted carrying the node's output. Split from cloud-ports.ts, which acts with them.
import { drainCommand, drainFailure, parseDrainResult } from "../../plan/drain";
import { parseRolloutResult, rolloutNodeCommand } from "../../plan/rollout/node-script";
import { commandWaitSeconds, ROLLOUT_AGENT_SECONDS } from "../../plan/rollout/limits";
import type { CommandApi } from "../cloud-assistant";
import { waitForCommand, type WaitOptions } from "../readiness";
import { RolloutHalted } from "./engine";

export interface CommandArgs {
  readonly commands: CommandApi;
  /** The control planes' instance ids in placement order (cp-0 first). */
  readonly controlPlaneInstanceIds: readonly string[];
  readonly drainBudgetSeconds: number;
  readonly log: (line: string) => void;
  readonly wait?: WaitOptions;
}

export function rolloutCommands(a: CommandArgs) {
  /** Runs a command and returns its output and exit code; undeliverable or timed out: halts. */
  const run = async (instanceId: string, script: string, timeoutSeconds: number, what: string) => {
    try {
      return await waitForCommand(a.commands, instanceId, script, timeoutSeconds, {
        // Nested limits (plan/rollout/limits.ts): the agent of a running node, the
        // command's own Timeout, then polling slack.
        agentOnlineSeconds: ROLLOUT_AGENT_SECONDS,
        gateSeconds: commandWaitSeconds(timeoutSeconds),
        ...a.wait,
        what: `could not ${what}`,
        returnFailures: true,
        log: a.log,
      });
    } catch (err) {
      throw new RolloutHalted((err as Error).message);
    }
  };

  /** rollout-node.py on a control plane: the first in placement order, other than `avoid`, that answers. */
  const onControlPlane = async (
    step: Parameters<typeof rolloutNodeCommand>[0],
    what: string,
    avoid?: string,
  ) => {
    const { script, timeoutSeconds } = rolloutNodeCommand(step);
    const candidates = a.controlPlaneInstanceIds.filter((id) => id !== avoid);
    let lastError = "";
    for (const id of candidates.length > 0 ? candidates : a.controlPlaneInstanceIds) {
      try {
        const r = await run(id, script, timeoutSeconds, what);
        const result = parseRolloutResult(r.output);
        if (result?.reason === "api") {
          lastError = `${id}: the API did not answer (${result.message ?? ""})`;
          continue;
        }
        return { ...r, result };
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    throw new RolloutHalted(`no control plane could ${what}: ${lastError}`);
  };

  const requireOk = (r: Awaited<ReturnType<typeof onControlPlane>>, what: string) => {
    if (r.exitCode === 0 && r.result?.ok) return;
    const problems = r.result?.problems?.join("; ") ?? r.result?.message ?? r.result?.reason ?? "no result";
    const tail = r.output.trimEnd().split("\n").slice(-20).join("\n");
    throw new RolloutHalted(`${what} failed: ${problems}. Its output:\n${tail}`);
  };

  /** A failed drain uncordons (drain.sh) and halts; a rerun drains again. */
  const drain = async (node: string, avoid?: string) => {
    const { script, timeoutSeconds } = drainCommand(node, a.drainBudgetSeconds);
    const candidates = a.controlPlaneInstanceIds.filter((id) => id !== avoid);
    const runner = candidates[0] ?? a.controlPlaneInstanceIds[0];
    if (!runner) throw new RolloutHalted("no control plane to drain from");
    const r = await run(runner, script, timeoutSeconds, `drain ${node}`);
    if (!parseDrainResult(r.output)?.ok) throw new RolloutHalted(drainFailure(node, r.output));
  };

  return { run, onControlPlane, requireOk, drain };
}
