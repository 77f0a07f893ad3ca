// The offline stand-in for "a second pulumi up changes nothing" (issue: architecture,
// item 2): declaring the same spec twice gives every resource the same inputs, for each
// environment's shape. Only what the tls and random doubles draw anew is masked
// (test/declared-diff.ts); a real provider keeps those in state.
import { beforeAll, describe, expect, it } from "vitest";
import type { Recorder } from "../tools/render/mock-runtime";
import { byName, changedInputs } from "./declared-diff";
import { declareCluster, installMocks, specFor } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const SHAPES = {
  dev: specFor({ clusterName: "tw" }, "dev"),
  staging: specFor(
    { clusterName: "tw", apiEndpoint: { public: true, allowedCidrs: ["198.51.100.0/24"] } },
    "staging",
  ),
  prod: specFor(
    { clusterName: "tw", addons: { monitoring: { enabled: true }, certManager: { enabled: true } } },
    "prod",
  ),
};

describe("declaring the same spec twice", () => {
  it.each(Object.keys(SHAPES) as (keyof typeof SHAPES)[])(
    "%s: every resource gets the same inputs",
    async (shape) => {
      const first = byName(await declareCluster(recorder, SHAPES[shape]));
      const second = byName(await declareCluster(recorder, SHAPES[shape]));
      expect(first.size).toBeGreaterThan(50);
      expect(changedInputs(first, second)).toEqual([]);
    },
  );

  it("the comparison sees a change (negative control): one tag more changes every tagged resource", async () => {
    const first = byName(await declareCluster(recorder, SHAPES.dev));
    const second = byName(
      await declareCluster(recorder, specFor({ clusterName: "tw", tags: { team: "platform" } }, "dev")),
    );
    const changes = changedInputs(first, second);
    expect(changes).toContain("tw-vpc: tags");
    expect(changes.length).toBeGreaterThan(10);
  });
});
