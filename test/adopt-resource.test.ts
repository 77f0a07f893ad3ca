// Adopted instances as declared (components/adopt/resource.ts, components/cluster.ts), under
// Pulumi's mocks: one resource per pool that lists any, none for a pool that lists none,
// parented to its pool, waiting for the pool's rollout, and carrying the pool's own user
// data as install commands and the digest of that user data apart from the version. And its
// diff: the list, the group and that digest decide a run, not the version.
import { beforeAll, describe, expect, it } from "vitest";
import { provider, type AdoptOutputs } from "../components/adopt/resource";
import { cloudConfigParts, renderAdoptInstaller } from "../plan/adopt";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

describe("adopted instances under mocks", () => {
  let recorder: Recorder;
  let rs: RecordedResource[];
  beforeAll(async () => {
    recorder = await installMocks("prod");
    rs = await declareCluster(
      recorder,
      specFor(
        {
          clusterName: "ad",
          nodePools: [
            { name: "general", instanceTypes: ["ecs.g7.xlarge"], minSize: 1, maxSize: 6 },
            {
              name: "owned",
              instanceTypes: ["ecs.g7.xlarge"],
              minSize: 1,
              maxSize: 6,
              adoptInstanceIds: ["i-bp1aaaaaaaa", "i-bp1bbbbbbbb"],
            },
          ],
        },
        "prod",
      ),
    );
  });
  const byName = (name: string) => {
    const r = rs.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}`);
    return r;
  };

  it("declares one resource for the pool that adopts, parented to its pool, after the pool's rollout", () => {
    const adopted = rs.filter((r) => r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:AdoptedInstances");
    expect(adopted.map((r) => r.name)).toEqual(["ad-pool-owned-adopted"]);
    const [r] = adopted as [RecordedResource];
    expect(r.parent).toBe(byName("ad-pool-owned").urn);
    expect(r.inputs).toMatchObject({
      configKey: "nodePools[1]",
      pool: "owned",
      instanceIds: ["i-bp1aaaaaaaa", "i-bp1bbbbbbbb"],
      regionId: "cn-hangzhou",
    });
    const rollout = byName("ad-rollout-pool-owned");
    expect([...r.dependsOn, ...(r.inputDependencies.version ?? [])]).toContain(rollout.urn);
    expect(r.inputDependencies.scalingGroupId).toContain(byName("ad-pool-owned-group").urn);
    expect(r.inputDependencies.roleName?.length).toBeGreaterThan(0);
    expect(r.inputDependencies.securityGroupId?.length).toBeGreaterThan(0);
    // The pool's rollout knows its adopted instances upgrade in place.
    expect(rollout.inputs.pool).toMatchObject({ adopted: true });
    expect(byName("ad-rollout-pool-general").inputs.pool).not.toHaveProperty("adopted");
  });

  it("installs the same user data the pool's launch template carries", () => {
    const r = byName("ad-pool-owned-adopted");
    const template = byName("ad-pool-owned");
    const launch = rs.find(
      (x) => x.type === "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate" && x.parent === template.urn,
    );
    const userData = Buffer.from(String(launch?.inputs.userData), "base64").toString("utf8");
    expect(cloudConfigParts(userData).files.length).toBeGreaterThan(5);
    const install = (r.inputs.commands as { install: string[] }).install;
    const payload = install
      .slice(0, -1)
      .map((c) => /printf '%s' '([^']*)'/.exec(c)?.[1] ?? "")
      .join("");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { gunzipSync } = require("node:zlib") as typeof import("node:zlib");
    expect(gunzipSync(Buffer.from(payload, "base64")).toString("utf8")).toBe(renderAdoptInstaller(userData));
    // What it is bootstrapped from apart from the version: tagged on each instance it bootstraps.
    expect(r.inputs.bootstrapDigest).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe("the adoption's diff", () => {
  const diff = provider.diff as NonNullable<typeof provider.diff>;
  const olds = {
    instanceIds: ["i-b", "i-a"],
    scalingGroupId: "asg-1",
    version: "1.35.2",
  } as unknown as AdoptOutputs;

  it("runs for new pool user data (its digest), not for a new version alone", async () => {
    const tagged = { ...olds, bootstrapDigest: "a".repeat(40) } as AdoptOutputs;
    await expect(diff("id", tagged, { ...tagged, bootstrapDigest: "b".repeat(40) })).resolves.toEqual({
      changes: true,
    });
    await expect(diff("id", tagged, { ...tagged, version: "1.36.5" })).resolves.toEqual({ changes: false });
  });

  it("runs for a changed list or group only, whatever the order of the list", async () => {
    await expect(diff("id", olds, { ...olds, instanceIds: ["i-a", "i-b"] })).resolves.toEqual({
      changes: false,
    });
    await expect(diff("id", olds, { ...olds, version: "1.36.5" })).resolves.toEqual({ changes: false });
    await expect(diff("id", olds, { ...olds, instanceIds: ["i-a"] })).resolves.toEqual({ changes: true });
    await expect(diff("id", olds, { ...olds, scalingGroupId: "asg-2" })).resolves.toEqual({ changes: true });
  });
});
