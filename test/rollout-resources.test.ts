// The staged rollout as Pulumi resources (components/rollout/resources.ts): the preview
// refuses what the version memory forbids, a rerun is never a silent no-op while the
// target differs from the confirmed version, and, under Pulumi's mocks, the dependency
// chain stage by stage (control planes, then each group's new template version, then
// each pool, one after another). The provider's create/update run the engine, tested
// against the fake cloud in test/rollout-executor.test.ts; the Pulumi engine itself
// calling diff with the prior outputs is read in @pulumi/pulumi's dynamic provider host,
// not run under the CLI.
import { beforeAll, describe, expect, it } from "vitest";
import {
  confirmedDigest,
  confirmedTemplate,
  provider,
  stepRefusal,
  type RolloutInputs,
} from "../components/rollout/resources";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

const cp = (version: string, extra: Partial<RolloutInputs> = {}): RolloutInputs => ({
  regionId: "cn-hangzhou",
  configKey: "kubernetesVersion",
  version,
  controlPlaneVersion: version,
  controlPlaneInstanceIds: ["i-cp0", "i-cp1", "i-cp2"],
  drainBudgetSeconds: 600,
  gateSeconds: 600,
  budgetMinutes: 150,
  etcdSnapshots: true,
  upgradeCommands: { apply: "apply", node: "node" },
  ...extra,
});
const pool = (version: string, strategy: "replace" | "in-place", extra: Partial<RolloutInputs> = {}) =>
  cp(version, {
    configKey: "nodePools[0].kubernetesVersion",
    controlPlaneVersion: "1.36.5",
    pool: {
      name: "general",
      scalingGroupId: "asg-1",
      strategy,
      waveSettings: { waves: [1, 5], maxWaveShare: 0.2 },
      templateVersion: "3",
    },
    ...extra,
  });

describe("the rollout's preview refusals, against the version last confirmed", () => {
  it("refuses a skipped minor with the chain, and any downgrade, naming the key; allows the next minor and patches", () => {
    expect(stepRefusal("1.34.3", cp("1.36.5"))).toMatch(
      /^kubernetesVersion is 1\.36\.5, 2 minors past 1\.34\.3, the version last confirmed: .*a 1\.35 release, then 1\.36\.5/,
    );
    expect(stepRefusal("1.36.5", cp("1.35.9"))).toMatch(
      /^kubernetesVersion is 1\.35\.9, .*downgrades are refused/,
    );
    expect(stepRefusal("1.36.5", cp("1.36.2"))).toMatch(/downgrades are refused/);
    expect(stepRefusal("1.35.2", cp("1.36.5"))).toBeUndefined();
    expect(stepRefusal("1.36.2", cp("1.36.5"))).toBeUndefined();
    // A first run has nothing to compare with: the engine re-checks against the cluster itself.
    expect(stepRefusal(undefined, cp("1.36.5"))).toBeUndefined();
  });

  it("refuses to move the control planes without etcd snapshots, and a pool's downgrade or in-place minor skip", () => {
    expect(stepRefusal("1.35.2", cp("1.36.5", { etcdSnapshots: false }))).toMatch(
      /^kubernetesVersion changes from 1\.35\.2 to 1\.36\.5, but etcdBackup\.enabled is false/,
    );
    expect(stepRefusal("1.36.5", cp("1.36.5", { etcdSnapshots: false }))).toBeUndefined();
    expect(stepRefusal("1.35.2", pool("1.34.1", "replace"))).toMatch(
      /^nodePools\[0\]\.kubernetesVersion is 1\.34\.1, but pool general was last confirmed at 1\.35\.2: downgrades are refused/,
    );
    expect(stepRefusal("1.33.2", pool("1.36.5", "in-place"))).toMatch(
      /one minor at a time; go through 1\.34 first/,
    );
    expect(stepRefusal("1.33.2", pool("1.36.5", "replace"))).toBeUndefined();
    // A replace pool's adopted instances are upgraded in place (plan/rollout/pool.ts).
    const adopting = pool("1.36.5", "replace");
    const withAdopted = {
      ...adopting,
      pool: { ...(adopting.pool as NonNullable<RolloutInputs["pool"]>), adopted: true },
    };
    expect(stepRefusal("1.34.2", withAdopted)).toMatch(
      /pool general has adopted instances, which upgrade in place .* go through 1\.35 first/,
    );
    expect(stepRefusal("1.35.2", withAdopted)).toBeUndefined();
  });
});

describe("the rollout's diff", () => {
  const diff = provider.diff as NonNullable<typeof provider.diff>;

  it("throws the refusal at preview", async () => {
    await expect(diff("id", { ...cp("1.34.3"), confirmedVersion: "1.34.3" }, cp("1.36.5"))).rejects.toThrow(
      /kubeadm upgrades one minor at a time/,
    );
  });

  it("reports a change while the target differs from the confirmed version, even with the same inputs", async () => {
    // A failed run leaves its inputs (the new version) in state, and the old memory.
    const failed = { ...cp("1.36.5"), confirmedVersion: "1.35.2" };
    await expect(diff("id", failed, cp("1.36.5"))).resolves.toEqual({ changes: true });
  });

  it("reports none when confirmed and unchanged, whatever the order of keys in state; one when an input moves", async () => {
    const done = { ...pool("1.36.5", "replace"), confirmedVersion: "1.36.5" };
    const reordered = {
      ...done,
      pool: {
        waveSettings: { maxWaveShare: 0.2, waves: [1, 5] },
        strategy: "replace" as const,
        scalingGroupId: "asg-1",
        templateVersion: "3",
        name: "general",
      },
    };
    await expect(diff("id", reordered, pool("1.36.5", "replace"))).resolves.toEqual({ changes: false });
    await expect(diff("id", done, pool("1.36.5", "replace", { gateSeconds: 900 }))).resolves.toEqual({
      changes: true,
    });
    // A new launch-template version (an image change, say) at the same Kubernetes version.
    const newTemplate = pool("1.36.5", "replace");
    const bumped = {
      ...newTemplate,
      pool: { ...(newTemplate.pool as NonNullable<RolloutInputs["pool"]>), templateVersion: "4" },
    };
    await expect(diff("id", done, bumped)).resolves.toEqual({ changes: true });
    await expect(
      diff("id", done, pool("1.36.5", "replace", { controlPlaneInstanceIds: ["i-cp0", "i-cp1", "i-cp9"] })),
    ).resolves.toEqual({ changes: true });
  });
});

describe("the template version a pool was last confirmed at", () => {
  it("is the previous run's only when that run finished: nodes from newer versions pass the gate first", () => {
    const done = { ...pool("1.36.5", "in-place"), confirmedVersion: "1.36.5" };
    expect(confirmedTemplate(done)).toBe("3");
    const digested = {
      ...done,
      pool: { ...(done.pool as NonNullable<RolloutInputs["pool"]>), templateDigest: "d".repeat(40) },
    };
    expect(confirmedDigest(digested)).toBe("d".repeat(40));
    expect(confirmedDigest({ ...digested, confirmedVersion: undefined })).toBeUndefined();
    // A record a failed first run wrote (no confirmed version), or none: nothing is newer.
    expect(confirmedTemplate(pool("1.36.5", "in-place"))).toBeUndefined();
    expect(confirmedTemplate(undefined)).toBeUndefined();
  });
});

describe("the rollout's place in the cluster, under mocks", () => {
  let recorder: Recorder;
  let rs: RecordedResource[];
  beforeAll(async () => {
    recorder = await installMocks("prod");
    rs = await declareCluster(
      recorder,
      specFor(
        {
          clusterName: "ro",
          nodePools: [
            { name: "general", instanceTypes: ["ecs.g7.xlarge"], minSize: 1, maxSize: 6 },
            {
              name: "batch",
              instanceTypes: ["ecs.g7.xlarge"],
              minSize: 1,
              maxSize: 4,
              upgradeStrategy: "in-place",
            },
          ],
        },
        "prod",
      ),
    );
  });
  const byName = (name: string) => {
    const r = rs.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}: ${rs.map((x) => x.name).join(", ")}`);
    return r;
  };

  it("runs the control planes' rollout after every control plane's installers, with the commands rendered", () => {
    const rollout = byName("ro-rollout-control-planes");
    expect(rollout.type).toBe("pulumi-nodejs:dynamic/kubeadm-alicloud:ControlPlaneRollout");
    expect(rollout.inputs).toMatchObject({
      configKey: "kubernetesVersion",
      etcdSnapshots: true,
      budgetMinutes: 150,
    });
    expect(String((rollout.inputs.upgradeCommands as { apply: string }).apply)).toMatch(
      /upgrade-node\.sh" apply /,
    );
    // Mainland China by default: Alibaba's mirror of pkgs.k8s.io, at the target minor.
    expect(rollout.inputs.packageRepository).toBe(
      "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36",
    );
    const instances = rs.filter((r) => r.type === "alicloud:ecs/instance:Instance").map((r) => r.urn);
    expect(rollout.inputDependencies.controlPlaneInstanceIds?.slice().sort()).toEqual(
      instances.slice().sort(),
    );
    // Each control plane's readiness gate, and its last installer (the chain ends there).
    for (const n of [0, 1, 2]) expect(rollout.dependsOn).toContain(byName(`ro-cp-${n}-ready`).urn);
    expect(rollout.dependsOn).toHaveLength(4);
  });

  it("holds each group's new launch-template version until the control planes' rollout confirmed, then rolls pools one at a time", () => {
    const cpRollout = byName("ro-rollout-control-planes");
    const groups = rs.filter((r) => r.type === "alicloud:ess/scalingGroup:ScalingGroup");
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) expect(g.inputDependencies.launchTemplateVersion).toContain(cpRollout.urn);
    const pools = rs.filter((r) => r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:PoolRollout");
    expect(pools.map((p) => p.name)).toEqual(
      groups.map((g) => g.name.replace(/^ro-pool-(.*)-group$/, "ro-rollout-pool-$1")),
    );
    pools.forEach((p, i) => {
      const group = groups[i] as RecordedResource;
      expect(p.inputDependencies.pool).toContain(group.urn);
      expect((p.inputs.pool as { templateVersion?: unknown }).templateVersion).toBeDefined();
      expect(p.inputDependencies.controlPlaneVersion).toContain(cpRollout.urn);
      // The previous pool's rollout (the control planes' for the first) comes first.
      const before = i === 0 ? cpRollout : (pools[i - 1] as RecordedResource);
      expect([...p.dependsOn, ...(p.inputDependencies.controlPlaneVersion ?? [])]).toContain(before.urn);
      expect(p.inputs.configKey).toBe(`nodePools[${i}].kubernetesVersion`);
    });
  });
});
