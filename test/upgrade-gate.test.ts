// The pipelines' gate (tools/upgrade): promotion dev -> staging -> prod, each only once
// the environment before it reports the target version from a successful update; a plain
// deploy refuses a version change. The CLI runs against a stand-in `pulumi` executable
// that answers `stack output --json` and `stack history --json` in the shapes of the
// Pulumi CLI (pulumi/pulumi pkg/cmd/pulumi/stack stack_history.go updateInfoJSON): not
// the real CLI or a real backend.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  controlPlaneRolloutUrn,
  deployProblems,
  previousEnvironment,
  upgradeProblems,
} from "../tools/upgrade/promotion";
import { declareCluster, installMocks, PROJECT, specFor, type RecordedResource } from "./kit";

describe("promotion", () => {
  const ok = { stack: "staging", target: "1.36.5", configured: "1.36.5", current: { confirmed: "1.35.2" } };
  it("follows dev, staging, prod", () => {
    expect([previousEnvironment("dev"), previousEnvironment("staging"), previousEnvironment("prod")]).toEqual(
      [undefined, "dev", "staging"],
    );
  });

  it("lets staging follow a dev confirmed at the target by a successful update", () => {
    expect(
      upgradeProblems({ ...ok, previous: { stack: "dev", confirmed: "1.36.5", lastUpdate: "succeeded" } }),
    ).toEqual([]);
  });

  it("refuses when the environment before is not at the target or its last update failed, each said", () => {
    expect(
      upgradeProblems({ ...ok, previous: { stack: "dev", confirmed: "1.35.2", lastUpdate: "failed" } }),
    ).toEqual([
      expect.stringMatching(/^dev is confirmed at 1\.35\.2, not 1\.36\.5: upgrade dev first/),
      expect.stringMatching(/^the last update of dev ended failed, not succeeded/),
    ]);
  });

  it("refuses a target the stack file does not hold yet, a downgrade, and a malformed version", () => {
    expect(upgradeProblems({ ...ok, configured: "1.35.2" })).toEqual([
      expect.stringMatching(
        /^stacks\/Pulumi\.staging\.yaml sets kubernetesVersion 1\.35\.2, not 1\.36\.5: merge/,
      ),
    ]);
    expect(upgradeProblems({ ...ok, target: "1.34.1", configured: "1.34.1" })).toEqual([
      "staging was confirmed at 1.35.2: 1.34.1 would be a downgrade",
    ]);
    expect(upgradeProblems({ ...ok, target: "latest" })).toEqual([
      '"latest" is not an exact Kubernetes version (1.x.y)',
    ]);
  });

  it("keeps version changes out of plain deploys, but not a first deploy or an unchanged version", () => {
    expect(deployProblems("prod", "1.36.5", { confirmed: "1.35.2" })).toEqual([
      expect.stringMatching(
        /goes through the upgrade workflow \(Actions > upgrade, stack prod, version 1\.36\.5\)/,
      ),
    ]);
    expect(deployProblems("prod", "1.36.5", {})).toEqual([]);
    expect(deployProblems("prod", "1.36.5", { confirmed: "1.36.5" })).toEqual([]);
  });
});

describe("the control planes' rollout URN", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    const recorder = await installMocks("dev");
    rs = await declareCluster(recorder, specFor({ clusterName: "gate" }));
  });
  it("is the URN Pulumi gives the resource", () => {
    const r = rs.find((x) => x.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:ControlPlaneRollout");
    expect(r?.urn).toBe(controlPlaneRolloutUrn("dev", PROJECT, "gate"));
  });
});

describe("the gate's CLI with a stand-in pulumi", () => {
  function fakePulumi(stacks: Record<string, { outputs?: object; history?: object[] }>) {
    const dir = mkdtempSync(join(tmpdir(), "gate-"));
    writeFileSync(join(dir, "stacks.json"), JSON.stringify(stacks));
    const bin = join(dir, "pulumi");
    writeFileSync(
      bin,
      `#!/usr/bin/env python3
import json, sys
args = sys.argv[1:]
stacks = json.load(open(${JSON.stringify(join(dir, "stacks.json"))}))
name = args[args.index("--stack") + 1]
if name not in stacks:
    sys.stderr.write("error: no stack named '" + name + "' found\\n"); sys.exit(255)
s = stacks[name]
if args[:2] == ["stack", "output"] and "--json" in args:
    print(json.dumps(s.get("outputs", {})))
elif args[:2] == ["stack", "history"] and "--json" in args:
    print(json.dumps(s.get("history", [])))
else:
    sys.stderr.write("unexpected: " + " ".join(args) + "\\n"); sys.exit(2)
`,
    );
    chmodSync(bin, 0o755);
    return { dir, bin };
  }
  const run = (bin: string, dir: string, args: string[]) => {
    const out = join(dir, "github-output");
    writeFileSync(out, "");
    const r = spawnSync("npx", ["tsx", "tools/upgrade/cli.ts", ...args], {
      cwd: join(__dirname, ".."),
      encoding: "utf8",
      env: { ...process.env, PULUMI: bin, GITHUB_OUTPUT: out },
    });
    return { status: r.status, stderr: r.stderr, outputs: readFileSync(out, "utf8") };
  };
  const history = (result: string) => [
    { kind: "refresh", result: "failed" },
    { kind: "update", result, version: 7 },
  ];

  it("refuses staging while dev has no confirmed version and no update, writing nothing", () => {
    // stacks/Pulumi.staging.yaml pins 1.35.0; dev has no state in this stand-in.
    const target = "1.35.0";
    const { dir, bin } = fakePulumi({
      staging: { outputs: { confirmedKubernetesVersion: "1.34.8" }, history: history("succeeded") },
    });
    const r = run(bin, dir, ["--stack", "staging", "--target", target]);
    expect(r.outputs).toBe("");
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/dev is confirmed at no version, not 1\.35\.0: upgrade dev first/);
    expect(r.stderr).toMatch(/the last update of dev ended nowhere \(none found\)/);
  });

  it("passes an upgrade whose environment before is at the target, with from and urn for the workflow", () => {
    const { dir, bin } = fakePulumi({
      dev: { outputs: { confirmedKubernetesVersion: "1.35.0" }, history: history("succeeded") },
      staging: { outputs: { confirmedKubernetesVersion: "1.34.8" }, history: history("succeeded") },
    });
    const r = run(bin, dir, ["--stack", "staging", "--target", "1.35.0"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.outputs).toMatch(
      /^from=1\.34\.8\nurn=urn:pulumi:staging::kubeadm-alicloud::kubeadm-alicloud:index:Cluster\$pulumi-nodejs:dynamic\/kubeadm-alicloud:ControlPlaneRollout::\S+-rollout-control-planes\n$/,
    );
  });

  it("stops a plain deploy that would change the version, naming the workflow", () => {
    const { dir, bin } = fakePulumi({
      staging: { outputs: { confirmedKubernetesVersion: "1.34.8" }, history: history("succeeded") },
    });
    const r = run(bin, dir, ["--stack", "staging", "--deploy"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/a version change goes through the upgrade workflow/);
    expect(run(bin, dir, ["--stack", "dev", "--deploy"]).status).toBe(0); // no state yet: a first deploy
  });
});
