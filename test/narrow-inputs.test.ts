// Narrow inputs (issue: architecture, item 3). Components take the sections of the spec
// they use, computed artefacts (user data, placements, steps, plans) from the
// composition root (components/cluster.ts); dynamic resources store only what their
// operation needs, so that an edit elsewhere in the config is never a diff on them
// (which would re-run a readiness check, a role handover or a certificate install on
// running control planes).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Recorder, RecordedResource } from "../tools/render/mock-runtime";
import { byName, changedInputs } from "./declared-diff";
import { declareCluster, installMocks, specFor } from "./kit";

const COMPONENTS = join(__dirname, "..", "components");
/**
 * The composition root and its helpers that turn the spec into a component's artefacts (user
 * data; the control planes' arguments) are the only places that see the whole spec.
 */
const WHOLE_SPEC_ALLOWED = new Set(["cluster.ts", "user-data.ts", "control-plane-args.ts"]);

/** Declarations typed as the whole ClusterSpec (a section, ClusterSpec["x"], is fine). */
export function wholeSpecUses(source: string): string[] {
  return [...source.matchAll(/^.*:\s*ClusterSpec\b(?!\s*\[).*$/gm)].map((m) => m[0].trim());
}

describe("components take sections, not the whole spec", () => {
  it("no component but the composition root has a value typed as the whole ClusterSpec", () => {
    const offenders = readdirSync(COMPONENTS)
      .filter((f) => f.endsWith(".ts") && !WHOLE_SPEC_ALLOWED.has(f))
      .flatMap((f) => wholeSpecUses(readFileSync(join(COMPONENTS, f), "utf8")).map((l) => `${f}: ${l}`));
    expect(offenders).toEqual([]);
  });

  it("the check sees a whole-spec argument (negative control)", () => {
    expect(wholeSpecUses("export interface A {\n  readonly spec: ClusterSpec;\n}")).toHaveLength(1);
    expect(wholeSpecUses('  readonly controlPlane: Pick<ClusterSpec["controlPlane"], "x">;')).toEqual([]);
    expect(wholeSpecUses('  readonly apiEndpoint: ClusterSpec["apiEndpoint"];')).toEqual([]);
  });
});

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const BASE = { clusterName: "ni" };
const dynamicOnly = (rs: readonly RecordedResource[]) =>
  byName(rs.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")));

describe("dynamic resources store the smallest inputs", () => {
  it.each([
    ["a tag", { tags: { team: "platform" } }],
    ["an add-on switched on", { addons: { monitoring: { enabled: true } } }],
    // On a public API (making it public is another edit: its address goes into the API certificate
    // through the control planes' settings change, test/control-plane-settings.test.ts).
    [
      "the API allow-list",
      { apiEndpoint: { public: true, allowedCidrs: ["198.51.100.0/24"] } },
      { apiEndpoint: { public: true, allowedCidrs: ["203.0.113.0/24"] } },
    ],
    [
      "a pool's size",
      { nodePools: [{ name: "default", instanceTypes: ["ecs.g7.xlarge"], minSize: 2, maxSize: 9 }] },
    ],
  ])("%s changes none of them", async (_what, edit, base: Record<string, unknown> = {}) => {
    const before = await declareCluster(recorder, specFor({ ...BASE, ...base }, "prod"));
    const after = await declareCluster(recorder, specFor({ ...BASE, ...base, ...edit }, "prod"));
    // The edit is real: something else in the cluster changes.
    expect(changedInputs(byName(before), byName(after)).length).toBeGreaterThan(0);
    expect(dynamicOnly(before).size).toBeGreaterThanOrEqual(10);
    expect(changedInputs(dynamicOnly(before), dynamicOnly(after))).toEqual([]);
  });

  it("a change they act on shows (negative control): the control planes' instance type", async () => {
    const before = dynamicOnly(await declareCluster(recorder, specFor(BASE, "prod")));
    const after = dynamicOnly(
      await declareCluster(
        recorder,
        specFor({ ...BASE, controlPlane: { count: 3, instanceType: "ecs.g7.2xlarge" } }, "prod"),
      ),
    );
    // Each control plane is drained before its restart, then checked again after it.
    expect(changedInputs(before, after).sort()).toEqual([
      "ni-cp-0-drain: instanceType",
      "ni-cp-0-ready: revision",
      "ni-cp-1-drain: instanceType",
      "ni-cp-1-ready: revision",
      "ni-cp-2-drain: instanceType",
      "ni-cp-2-ready: revision",
    ]);
  });

  it("a kubeadm setting of the control planes reaches each of them through its settings change, and nothing else", async () => {
    const before = dynamicOnly(await declareCluster(recorder, specFor(BASE, "prod")));
    const audit = { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 };
    const after = dynamicOnly(
      await declareCluster(recorder, specFor({ ...BASE, apiServer: { audit } }, "prod")),
    );
    expect(changedInputs(before, after).sort()).toEqual([
      "ni-cp-0-settings: script",
      "ni-cp-1-settings: script",
      "ni-cp-2-settings: script",
    ]);
  });
});
