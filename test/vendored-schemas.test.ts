// The chart schemas kept in test/schemas are the upstream files their SOURCE names:
// each SOURCE ends with the file's sha256, taken when it was copied from the tag.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(__dirname, "schemas");

describe("vendored chart schemas", () => {
  it.each(readdirSync(DIR))("%s is byte for byte the file its SOURCE names", (name) => {
    const source = readFileSync(join(DIR, name, "SOURCE"), "utf8");
    const recorded = /sha256 ([0-9a-f]{64})/.exec(source)?.[1];
    const actual = createHash("sha256")
      .update(readFileSync(join(DIR, name, "values.schema.json")))
      .digest("hex");
    expect(recorded).toBe(actual);
    expect(source).toMatch(/tag v?[0-9.]+|chart [0-9.]+/);
  });
});
