// Imports run one way (issue: architecture, item 1): no cycle anywhere in the program
// and its tools, type-only imports included, since a cycle through types today is a
// cycle through values tomorrow, and module initialisation order then decides whether a
// constant is defined.
import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { cycles, importGraph } from "./import-graph";

describe("the import graph", () => {
  it("reads the whole program: every source directory and the entry point", () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(60);
    expect(graph.get("index.ts")).toContain("components/cluster.ts");
    // `import type` counts: config/spec.ts imports only types.
    expect(graph.get("config/spec.ts")).toContain("config/schema.ts");
  });

  it("has no cycle", () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it("the cycle finder finds a cycle, a self-import and nothing in a tree (negative control)", () => {
    const g = new Map<string, string[]>([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["d"]],
      ["e", ["a"]],
      ["f", []],
    ]);
    expect(cycles(g)).toEqual([["a", "b", "c"], ["d"]]);
    expect(
      cycles(
        new Map([
          ["x", ["y"]],
          ["y", ["z"]],
          ["z", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("plan/ may not import the Pulumi or the Alibaba Cloud SDK (the lint rule refuses a probe; components/ may)", async () => {
    const root = join(__dirname, "..");
    const eslint = new ESLint({ cwd: root });
    const probe =
      'import * as pulumi from "@pulumi/pulumi";\nimport { Config } from "@alicloud/openapi-core";\nexport const x = [pulumi, Config];\n';
    const rules = async (file: string) =>
      (await eslint.lintText(probe, { filePath: join(root, file) }))[0]?.messages.map((m) => m.ruleId) ?? [];
    expect(await rules("plan/probe.ts")).toEqual(["no-restricted-imports", "no-restricted-imports"]);
    expect(await rules("components/probe.ts")).toEqual([]);
  });
});
