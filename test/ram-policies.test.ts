// Issue 11 (part): RAM policies that survive more than five edits, and OOS secret
// parameters that survive a change of their KMS key. Recorded inputs and options,
// under mocks, with every add-on on.
import { beforeAll, describe, expect, it } from "vitest";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

const ALL_ADDONS = {
  cloudControllerManager: { enabled: true },
  csiDisk: { enabled: true },
  metricsServer: { enabled: true },
  clusterAutoscaler: { enabled: true },
  certManager: { enabled: true },
  nodeProblemDetector: { enabled: true },
  monitoring: { enabled: true },
  gateway: { enabled: true },
};

describe("under mocks, every add-on on", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    const recorder: Recorder = await installMocks();
    rs = await declareCluster(
      recorder,
      specFor({
        clusterName: "rp",
        addons: ALL_ADDONS,
        pki: { secretsKmsKeyId: "key-hzz62f1cb66fa42qo0001" },
      }),
    );
  });

  it("every RAM policy deletes its oldest non-default version past RAM's five (resource_alicloud_ram_policy.go rotate_strategy)", () => {
    const policies = rs.filter((r) => r.type === "alicloud:ram/policy:Policy");
    // The node secrets' (control planes, one pool) and the add-ons' (CCM, CSI, cluster-autoscaler).
    expect(policies.length).toBeGreaterThanOrEqual(5);
    for (const p of policies)
      expect(p.inputs.rotateStrategy, p.name).toBe("DeleteOldestNonDefaultVersionWhenLimitExceeded");
  });

  it("every OOS secret parameter is deleted before it is replaced: key_id and the fixed name are ForceNew", () => {
    const params = rs.filter((r) => r.type === "alicloud:oos/secretParameter:SecretParameter");
    expect(params.length).toBeGreaterThanOrEqual(7);
    for (const p of params) {
      expect(p.deleteBeforeReplace, p.name).toBe(true);
      expect(p.inputs.keyId).toBe("key-hzz62f1cb66fa42qo0001");
    }
    // The recorder does see the option: the control planes, replaced only on request, use it too.
    const others = rs.filter((r) => r.type === "alicloud:ram/role:Role");
    expect(others.every((r) => r.deleteBeforeReplace === false)).toBe(true);
  });
});
