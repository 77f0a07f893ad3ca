// The rollout's nested time limits (plan/rollout/limits.ts): the step that may start just
// before the budget ends must still end inside the deploy job's own limit, and the
// config refuses a budget that breaks this, naming the key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import {
  budgetProblem,
  DEPLOY_JOB_MINUTES,
  ESS_BUSY_SECONDS,
  longestStepSeconds,
} from "../plan/rollout/limits";
import { UPGRADE_NODE_COMMAND_SECONDS } from "../plan/upgrade-node";
import { specFor } from "./kit";

describe("the rollout's time limits", () => {
  it("are those of the deploy job the pipeline runs pulumi up in", () => {
    const workflow = parse(
      readFileSync(join(__dirname, "..", ".github", "workflows", "deploy-stack.yml"), "utf8"),
    ) as {
      jobs: Record<string, { "timeout-minutes"?: number }>;
    };
    const limits = Object.values(workflow.jobs).map((j) => j["timeout-minutes"]);
    expect(limits).toContain(DEPLOY_JOB_MINUTES);
  });

  it("fit the defaults with room, and a step is longer than the upgrade command alone", () => {
    const { drainTimeoutSeconds, gateTimeoutSeconds, timeBudgetMinutes } = specFor({}, "prod").upgrade;
    const step = longestStepSeconds(drainTimeoutSeconds, gateTimeoutSeconds);
    expect(step).toBeGreaterThan(UPGRADE_NODE_COMMAND_SECONDS + drainTimeoutSeconds + gateTimeoutSeconds);
    expect(timeBudgetMinutes * 60 + step).toBeLessThanOrEqual(DEPLOY_JOB_MINUTES * 60);
    expect(budgetProblem(timeBudgetMinutes, drainTimeoutSeconds, gateTimeoutSeconds)).toBeUndefined();
    // An ESS step waiting out a busy group (one surge or one wave's removal) is shorter than
    // the longest step, whatever the drain and gate limits (their least: 1 s each).
    expect(ESS_BUSY_SECONDS).toBeLessThan(longestStepSeconds(1, 1));
  });

  it("refuse a budget that leaves the last step no room, naming the key, in the config", () => {
    expect(() =>
      specFor({ upgrade: { drainTimeoutSeconds: 3600, gateTimeoutSeconds: 1800, timeBudgetMinutes: 150 } }),
    ).toThrow(
      /upgrade\.timeBudgetMinutes: is 150 minutes, but a step may start just before it ends and take 187 minutes/,
    );
    expect(() =>
      specFor({ upgrade: { drainTimeoutSeconds: 3600, gateTimeoutSeconds: 1800, timeBudgetMinutes: 113 } }),
    ).not.toThrow();
  });
});
