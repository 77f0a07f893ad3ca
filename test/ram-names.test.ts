// RAM roles, policies and users are account-wide (RAM is a global service; CreateRole,
// CreatePolicy and CreateUser refuse a name the account already has:
// EntityAlreadyExists.*). Two clusters of the same name in two regions of one account
// must not collide (audit alibaba-resources 1.8), and every name must fit RAM's limits,
// which config/limits.ts checks with everyRamName: so every name declared must be one
// everyRamName knows.
import { beforeAll, describe, expect, it } from "vitest";
import type { Recorder, RecordedResource } from "../tools/render/mock-runtime";
import { everyRamName } from "../plan/naming";
import { SWITCHABLE_ADDONS } from "../addons/index";
import { declareCluster, installMocks, specFor } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const NAME_INPUT: Record<string, string> = {
  "alicloud:ram/role:Role": "roleName",
  "alicloud:ram/policy:Policy": "policyName",
  "alicloud:ram/user:User": "name",
};
const ramNames = (rs: RecordedResource[]) =>
  rs.flatMap((r) => (NAME_INPUT[r.type] ? [String(r.inputs[NAME_INPUT[r.type] as string])] : []));

const config = (region: string, zones: string[]) => ({
  clusterName: "prod",
  region,
  zones,
  nodePools: [
    { name: "general", instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 3 },
    { name: "batch", instanceTypes: ["ecs.c7.large"], minSize: 1, maxSize: 3 },
  ],
  // csiDisk brings a RAM user of its own; the CCM a policy on the control planes' role.
  addons: { csiDisk: { enabled: true } },
});

describe("RAM names", () => {
  it("a cluster named prod in cn-hangzhou and one in cn-shanghai share no RAM role, policy or user name", async () => {
    const hangzhou = ramNames(
      await declareCluster(
        recorder,
        specFor(config("cn-hangzhou", ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"])),
      ),
    );
    const shanghai = ramNames(
      await declareCluster(
        recorder,
        specFor(config("cn-shanghai", ["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"])),
      ),
    );
    expect(hangzhou.length).toBeGreaterThanOrEqual(8);
    expect(shanghai).toHaveLength(hangzhou.length);
    expect(hangzhou.filter((n) => shanghai.includes(n))).toEqual([]);
    expect(new Set(hangzhou).size).toBe(hangzhou.length);
  });

  it("every RAM name the cluster declares is one the config's length check counts", async () => {
    const spec = specFor(config("cn-hangzhou", ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]));
    const declared = ramNames(await declareCluster(recorder, spec));
    const checked = everyRamName(
      spec,
      SWITCHABLE_ADDONS.map((a) => a.name),
    ).map((n) => n.name);
    expect(declared.filter((n) => !checked.includes(n))).toEqual([]);
    expect(declared).toContain("prod-cn-hangzhou-nodes");
  });

  it("ram.namePrefix keeps the names a stack was deployed with", async () => {
    const spec = specFor({
      ...config("cn-hangzhou", ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]),
      ram: { namePrefix: "prod" },
    });
    const declared = ramNames(await declareCluster(recorder, spec));
    expect(declared).toContain("prod-nodes");
    expect(declared).toContain("prod-pool-general");
    expect(declared.every((n) => n.startsWith("prod-") && !n.includes("cn-hangzhou"))).toBe(true);
  });
});
