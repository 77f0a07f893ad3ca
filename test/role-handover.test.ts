// The control planes' RAM-role handover (components/role-handover.ts), every branch
// with Alibaba's real ECS SDK client against fake-ecs.py: what was attached or detached
// is read back from the calls the fake received.
import { describe, expect, it } from "vitest";
import { ecsClient } from "../components/cloud-assistant";
import {
  bootstrapRoleProvider,
  ensureBootstrapRole,
  handOver,
  handoverProvider,
} from "../components/role-handover";
import { fakeEcsPerTest, signedBy, type FakeEcs } from "./harness/fake-ecs";

const fake = fakeEcsPerTest("LTAI-handover");

const I = {
  regionId: "cn-hangzhou",
  instanceId: "i-cp0",
  bootstrapRoleName: "k-cp-bootstrap",
  steadyRoleName: "k-cp",
};
const api = (f: FakeEcs) => ecsClient("cn-hangzhou", { endpoint: f.url, rolePollMs: 1, roleWaitMs: 2_000 });
const writes = (f: FakeEcs) =>
  f
    .requests()
    .filter((r) => /^(Attach|Detach)/.test(r.action))
    .map((r) => `${r.action} ${r.query.InstanceIds} ${r.query.RamRoleName}`);

describe("BootstrapRole", () => {
  it("attaches the bootstrap role to an instance without a role, and waits until it shows", async () => {
    const f = await fake({ roleLag: 3 });
    await expect(ensureBootstrapRole(api(f), I)).resolves.toEqual({ attached: true, skipped: false });
    expect(writes(f)).toEqual(['AttachInstanceRamRole ["i-cp0"] k-cp-bootstrap']);
    expect(await api(f).instanceRole("i-cp0")).toBe("k-cp-bootstrap");
    expect(f.requests().every((r) => signedBy(r) === "LTAI-handover")).toBe(true);
  });

  it("does nothing when the bootstrap role is already there", async () => {
    const f = await fake({ roles: { "i-cp0": "k-cp-bootstrap" } });
    await expect(ensureBootstrapRole(api(f), I)).resolves.toEqual({ attached: false, skipped: false });
    expect(writes(f)).toEqual([]);
  });

  it("leaves an instance that predates the handover (steady role attached) alone, and says so", async () => {
    const f = await fake({ roles: { "i-cp0": "k-cp" } });
    await expect(ensureBootstrapRole(api(f), I)).resolves.toEqual({ attached: false, skipped: true });
    expect(writes(f)).toEqual([]);
  });

  it("refuses an instance with some other role", async () => {
    const f = await fake({ roles: { "i-cp0": "someone-elses" } });
    await expect(ensureBootstrapRole(api(f), I)).rejects.toThrow(
      "i-cp0 has RAM role someone-elses, neither the bootstrap role k-cp-bootstrap nor the steady role k-cp",
    );
    expect(writes(f)).toEqual([]);
  });
});

describe("RoleHandover", () => {
  it("detaches the bootstrap role and waits until it is gone", async () => {
    const f = await fake({ roles: { "i-cp0": "k-cp-bootstrap" }, roleLag: 2 });
    await expect(handOver(api(f), I)).resolves.toEqual({ detached: true });
    expect(writes(f)).toEqual(['DetachInstanceRamRole ["i-cp0"] k-cp-bootstrap']);
    // Describe before, then until the detach shows (lag 2: the third poll).
    expect(f.calls("DescribeInstanceRamRole")).toHaveLength(4);
    expect(await api(f).instanceRole("i-cp0")).toBeUndefined();
  });

  it.each([
    ["no role", {}],
    ["the steady role (an instance from before the handover)", { "i-cp0": "k-cp" }],
  ])("does nothing when the instance has %s", async (_what, roles) => {
    const f = await fake({ roles });
    await expect(handOver(api(f), I)).resolves.toEqual({ detached: false });
    expect(writes(f)).toEqual([]);
  });
});

describe("the resources' diffs", () => {
  it("replace only for another instance; a renamed role is recorded in place", async () => {
    const b = bootstrapRoleProvider.diff;
    const h = handoverProvider.diff;
    expect(await b?.("id", I, { ...I, instanceId: "i-cp9" })).toMatchObject({
      changes: true,
      replaces: ["instanceId"],
    });
    expect(await b?.("id", I, { ...I, steadyRoleName: "other" })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await b?.("id", I, I)).toMatchObject({ changes: false, replaces: [] });
    expect(await h?.("id", I, { ...I, instanceId: "i-cp9" })).toMatchObject({
      changes: true,
      replaces: ["instanceId"],
    });
    expect(await h?.("id", I, { ...I, bootstrapRoleName: "x" })).toMatchObject({
      changes: true,
      replaces: [],
    });
  });
});
