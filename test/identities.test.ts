// Resource identities are pinned across releases (issue: architecture, item 2): the
// identities (type chain and name) every example stack declares are recorded in
// test/identities/<stack>.txt; one that disappears without an alias that points back to
// it fails here, and so does one that is new (record it with
// UPDATE_IDENTITIES=1 npx vitest run test/identities.test.ts, and review the diff).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { projectConfig } from "../config/load";
import { validateStackConfig } from "../config/validate";
import type { Recorder } from "../tools/render/mock-runtime";
import { PROJECT_DIR, readStackFile, stackFilePath } from "../tools/render/stack-file";
import { identityChanges, identityOf } from "./identities";
import { declareCluster, installMocks } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const record = (stack: string) => join(__dirname, "identities", `${stack}.txt`);

async function declaredIdentities(stack: string) {
  const file = readStackFile(PROJECT_DIR, stackFilePath(PROJECT_DIR, stack));
  const spec = validateStackConfig(projectConfig(file.config, file.project), {
    project: file.project,
    stack: file.stack,
  });
  const rs = await declareCluster(recorder, spec);
  return rs.map((r) => ({ identity: identityOf(r.urn), aliases: r.aliases }));
}

describe("resource identities", () => {
  it.each(["dev", "staging", "prod"])(
    "%s declares exactly the recorded identities, or aliases the ones it renamed",
    async (stack) => {
      const declared = await declaredIdentities(stack);
      if (process.env.UPDATE_IDENTITIES === "1")
        writeFileSync(record(stack), `${[...new Set(declared.map((d) => d.identity))].sort().join("\n")}\n`);
      const recorded = readFileSync(record(stack), "utf8").split("\n").filter(Boolean);
      expect(recorded.length).toBeGreaterThan(50);
      expect(identityChanges(recorded, declared)).toEqual({ lost: [], added: [] });
    },
  );

  it("a rename is caught unless an alias points back (negative control)", () => {
    const old = "kubeadm-alicloud:cluster:KubeadmCluster$alicloud:vpc/network:Network::prod-vpc";
    const renamed = {
      identity: "kubeadm-alicloud:cluster:KubeadmCluster$alicloud:vpc/network:Network::prod-network",
      aliases: [],
    };
    expect(identityChanges([old], [renamed])).toEqual({ lost: [old], added: [renamed.identity] });
    expect(identityChanges([old], [{ ...renamed, aliases: [{ name: "prod-vpc" }] }]).lost).toEqual([]);
    expect(
      identityChanges(
        [old],
        [{ ...renamed, aliases: [{ urn: `urn:pulumi:prod::kubeadm-alicloud::${old}` }] }],
      ).lost,
    ).toEqual([]);
    // An alias to another name does not cover it.
    expect(identityChanges([old], [{ ...renamed, aliases: [{ name: "prod-other" }] }]).lost).toEqual([old]);
  });
});
