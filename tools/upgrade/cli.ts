// npm run upgrade-gate -- --stack <s> (--target <version> | --deploy)
// The pipelines' check before pulumi up (.github/workflows/upgrade.yml, deploy-stack.yml):
// reads the stack file and, through the Pulumi CLI, the stack's confirmed version and
// the environment before it (tools/upgrade/promotion.ts decides). With GITHUB_OUTPUT set,
// writes `from` (the version to plan from) and `urn` (the control planes' rollout).
import { spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { projectConfig } from "../../config/load";
import { ConfigError, validateStackConfig } from "../../config/validate";
import { PROJECT_DIR, readStackFile, stackFilePath } from "../render/stack-file";
import {
  controlPlaneRolloutUrn,
  deployProblems,
  previousEnvironment,
  upgradeProblems,
  type StackFacts,
} from "./promotion";

const USAGE = `usage: npm run upgrade-gate -- --stack <name> (--target <version> | --deploy)`;

function pulumi(args: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(process.env.PULUMI ?? "pulumi", args, { encoding: "utf8", timeout: 120_000 });
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? r.error?.message ?? "" };
}

/** The stack's outputs and last update; a stack with no state yet has neither. */
function facts(stack: string): StackFacts {
  const out = pulumi(["stack", "output", "--json", "--stack", stack]);
  if (!out.ok) {
    if (/no stack named|not found/i.test(out.stderr)) return {};
    throw new Error(`pulumi stack output --stack ${stack} failed: ${out.stderr.trim()}`);
  }
  const outputs = JSON.parse(out.stdout || "{}") as Record<string, unknown>;
  const confirmed = outputs.confirmedKubernetesVersion;
  // `result` of the newest update (pulumi/pulumi pkg/cmd/pulumi/stack stack_history.go
  // updateInfoJSON: kind, result; newest first), skipping previews and refreshes.
  const history = pulumi(["stack", "history", "--json", "--stack", stack, "--page-size", "20"]);
  if (!history.ok) throw new Error(`pulumi stack history --stack ${stack} failed: ${history.stderr.trim()}`);
  const updates = JSON.parse(history.stdout || "[]") as { kind?: string; result?: string }[];
  const last = updates.find((u) => u.kind === "update");
  return {
    ...(typeof confirmed === "string" ? { confirmed } : {}),
    ...(last?.result ? { lastUpdate: last.result } : {}),
  };
}

function main(): number {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, target: { type: "string" }, deploy: { type: "boolean" } },
    strict: true,
  });
  const stackName = values.stack;
  if (!stackName || (values.target === undefined) === (values.deploy !== true)) {
    console.error(USAGE);
    return 2;
  }
  const file = readStackFile(PROJECT_DIR, stackFilePath(PROJECT_DIR, stackName), stackName);
  const spec = validateStackConfig(projectConfig(file.config, file.project), {
    project: file.project,
    stack: stackName,
  });
  const current = facts(stackName);
  let problems: string[];
  if (values.deploy) {
    problems = deployProblems(stackName, spec.kubernetesVersion, current);
  } else {
    const before = previousEnvironment(stackName);
    problems = upgradeProblems({
      stack: stackName,
      target: values.target as string,
      configured: spec.kubernetesVersion,
      current,
      ...(before ? { previous: { stack: before, ...facts(before) } } : {}),
    });
  }
  for (const p of problems) console.error(`upgrade-gate: ${p}`);
  if (problems.length > 0) return 1;
  const lines = [
    `from=${current.confirmed ?? spec.kubernetesVersion}`,
    `urn=${controlPlaneRolloutUrn(stackName, file.project, spec.clusterName)}`,
  ];
  console.log(`upgrade-gate: ${stackName} may go ahead (${lines.join(", ")})`);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${lines.join("\n")}\n`);
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `upgrade-gate: ${(err as Error).message}`);
  process.exitCode = 1;
}
