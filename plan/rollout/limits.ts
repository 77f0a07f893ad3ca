// The staged rollout's time limits, nested: every Cloud Assistant command has its own
// Timeout (the agent kills it), the wait for its result a little more, a step (one
// node's drain, upgrade, uncordon and gate) the sum of its commands, and the rollout's
// time budget is checked before each step. The longest step after the budget must still
// end before the deploy job's own limit (.github/workflows/deploy-stack.yml
// timeout-minutes, below GitHub's 6-hour job limit), or the runner would kill a node
// half upgraded. Pure: the executor (components/rollout) and the config check use it.
import { DRAIN_MARGIN_SECONDS } from "../drain";
import { UPGRADE_NODE_COMMAND_SECONDS } from "../upgrade-node";
import { GATE_MARGIN_SECONDS, QUICK_STEP_SECONDS } from "./node-script";

/** How long a rollout command waits for a node's Cloud Assistant agent: the nodes run already. */
export const ROLLOUT_AGENT_SECONDS = 120;
/** Polling slack after a command's own Timeout, so Cloud Assistant reports the timeout first. */
export const ROLLOUT_POLL_SLACK_SECONDS = 300;
/**
 * How long one ESS step (a surge, a wave's removal) waits out a busy group (another scaling
 * activity running, e.g. the autoscaler's) before it halts: well inside the longest step,
 * so the budget check still bounds the run.
 */
export const ESS_BUSY_SECONDS = 600;
/** The deploy job's limit in minutes (deploy-stack.yml timeout-minutes; a test keeps them equal). */
export const DEPLOY_JOB_MINUTES = 300;

/** The whole wait for one command with Cloud Assistant Timeout `timeoutSeconds`. */
export function commandWaitSeconds(timeoutSeconds: number): number {
  return ROLLOUT_AGENT_SECONDS + timeoutSeconds + ROLLOUT_POLL_SLACK_SECONDS;
}

/** The longest step: a node drained, upgraded, uncordoned and gated, each command at its limit. */
export function longestStepSeconds(drainSeconds: number, gateSeconds: number): number {
  return [
    drainSeconds + DRAIN_MARGIN_SECONDS,
    UPGRADE_NODE_COMMAND_SECONDS,
    QUICK_STEP_SECONDS,
    gateSeconds + GATE_MARGIN_SECONDS,
  ]
    .map(commandWaitSeconds)
    .reduce((a, b) => a + b, 0);
}

/** Why a time budget does not fit in the deploy job with the step that may start just before it ends. */
export function budgetProblem(
  budgetMinutes: number,
  drainSeconds: number,
  gateSeconds: number,
): string | undefined {
  const step = longestStepSeconds(drainSeconds, gateSeconds);
  const most = Math.floor((DEPLOY_JOB_MINUTES * 60 - step) / 60);
  if (budgetMinutes <= most) return undefined;
  return `is ${budgetMinutes} minutes, but a step may start just before it ends and take ${Math.ceil(step / 60)} minutes (drain, upgrade, uncordon and gate at their limits), and the deploy job stops at ${DEPLOY_JOB_MINUTES} minutes: at most ${most} with upgrade.drainTimeoutSeconds ${drainSeconds} and upgrade.gateTimeoutSeconds ${gateSeconds}`;
}
