// What an `in-place` pool's rollout tells outdated nodes by (plan/pool-template.ts): each
// pool's launch template tags its instances with a digest of what they are apart from the
// Kubernetes version, and hands the same digest to the pool's rollout. A version change
// alone must keep it (the rollout moves the version in place); an image, instance type or
// user-data change (labels, say) must move it (the rollout replaces those nodes without
// surge). Under Pulumi's mocks; the instance tags' reaching ECS instances is the provider's
// `tags` ("assign to instance": aliyun/terraform-provider-alicloud v1.289.0
// website/docs/r/ecs_launch_template.html.markdown), not run here.
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { kubeletConfiguration } from "../plan/kubeadm";
import { kubeletConfigurationDigest, renderNodeEnv } from "../plan/node-bootstrap";
import { poolTemplateDigest, SHAPE_DISCOVERY_HASH, TEMPLATE_DIGEST_TAG } from "../plan/pool-template";
import { provider, templateRefusal, type RolloutInputs } from "../components/rollout/resources";
import type { NodePoolSpec } from "../config/spec";
import { poolShapeUserData, poolUserData } from "../components/user-data";
import { declareCluster, installMocks, resolved, specFor, type Recorder } from "./kit";

const POOL = {
  name: "batch",
  instanceTypes: ["ecs.g7.xlarge"],
  minSize: 1,
  maxSize: 4,
  upgradeStrategy: "in-place",
};

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks("prod");
});

/** The pool's template tag and its rollout's digest, in one declaration. */
async function declared(poolOverrides: Record<string, unknown> = {}) {
  const rs = await declareCluster(
    recorder,
    specFor({ clusterName: "pt", nodePools: [{ ...POOL, ...poolOverrides }] }, "prod"),
  );
  const template = rs.find((r) => r.type === "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate");
  const rollout = rs.find((r) => r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:PoolRollout");
  const adopted = rs.find((r) => r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:AdoptedInstances");
  return {
    tag: (template?.inputs.tags as Record<string, string>)[TEMPLATE_DIGEST_TAG],
    rolled: (rollout?.inputs.pool as { templateDigest?: string }).templateDigest,
    /** What the pool's adopted instances are bootstrapped from (components/adopt/refresh.ts). */
    adopted: adopted?.inputs.bootstrapDigest as string | undefined,
  };
}

/**
 * A pool's user data as it enters the digest, for a stack config, with the addresses and
 * CA hash fixed (the tls double draws a new CA on every declaration; pulumi up keeps one).
 */
function shape(poolOverrides: Record<string, unknown>, version: string) {
  const spec = specFor(
    {
      clusterName: "pt",
      kubernetesVersion: version,
      nodePools: [{ ...POOL, kubernetesVersion: version, ...poolOverrides }],
    },
    "prod",
  );
  const facts = {
    loadBalancerAddress: "10.0.0.10",
    discoveryHash: `sha256:${"0".repeat(64)}`,
    encryptionAlgorithm: "RSA-2048" as const,
  };
  return {
    shape: resolved(poolShapeUserData(spec, spec.nodePools[0] as NodePoolSpec, facts)),
    real: resolved(poolUserData(spec, spec.nodePools[0] as NodePoolSpec, facts)),
  };
}

describe("the pool template digest", () => {
  it("is tagged on every instance the pool launches and handed to the pool's rollout; a new version keeps it, a new instance type moves it", async () => {
    const { tag, rolled } = await declared({ kubernetesVersion: "1.35.2" });
    expect(tag).toMatch(/^[0-9a-f]{40}$/);
    expect(rolled).toBe(tag);
    // Every declaration draws a new CA here: the digest leaves the CA's hash out, so it
    // is the same in each (and in every offline render the review compares).
    expect((await declared({ kubernetesVersion: "1.35.2" })).tag).toBe(tag);
    expect((await declared({ kubernetesVersion: "1.36.5" })).tag).toBe(tag);
    const other = await declared({ kubernetesVersion: "1.35.2", instanceTypes: ["ecs.g7.2xlarge"] });
    expect(other.tag).not.toBe(tag);
    expect(other.rolled).toBe(other.tag);
  });

  it("renders the user data it digests apart from the version: a version change keeps it, a label moves it", async () => {
    const [a, b, labelled] = [
      shape({}, "1.35.2"),
      shape({}, "1.36.5"),
      shape({ labels: { team: "data" } }, "1.35.2"),
    ];
    // The nodes' own user data moves with the version (a new template version)...
    expect(await b.real).not.toBe(await a.real);
    // ...what enters the digest does not, and a label (kubelet --node-labels) does.
    expect(await b.shape).toBe(await a.shape);
    expect(await labelled.shape).not.toBe(await a.shape);
  });

  it("moves with the kubelets' configuration, which joining nodes take from the cluster, not from user data", async () => {
    const env = renderNodeEnv({
      spec: specFor({ nodePools: [POOL] }, "prod"),
      facts: {
        loadBalancerAddress: "10.0.0.10",
        discoveryHash: SHAPE_DISCOVERY_HASH,
        encryptionAlgorithm: "RSA-2048",
      },
      role: "worker",
      pool: specFor({ nodePools: [POOL] }, "prod").nodePools[0] as NodePoolSpec,
    });
    const digest = createHash("sha256").update(stringify(kubeletConfiguration())).digest("hex").slice(0, 16);
    expect(env).toContain(`\nKUBELET_CONFIGURATION=${digest}\n`);
    expect(kubeletConfigurationDigest()).toBe(digest);
  });

  it("gives adopted instances a digest of the user data alone: kept by a version, moved by a label, not by an instance type", async () => {
    const adopt = { adoptInstanceIds: ["i-bp1aaaaaaaa"] };
    const base = await declared({ ...adopt, kubernetesVersion: "1.35.2" });
    expect(base.adopted).toMatch(/^[0-9a-f]{40}$/);
    expect(base.adopted).not.toBe(base.tag);
    expect((await declared({ ...adopt, kubernetesVersion: "1.36.5" })).adopted).toBe(base.adopted);
    // The operator owns an adopted instance's type and image: no reason to bootstrap it again.
    const typed = await declared({
      ...adopt,
      kubernetesVersion: "1.35.2",
      instanceTypes: ["ecs.g7.2xlarge"],
    });
    expect(typed.adopted).toBe(base.adopted);
    expect(typed.tag).not.toBe(base.tag);
    const labelled = await declared({ ...adopt, kubernetesVersion: "1.35.2", labels: { team: "data" } });
    expect(labelled.adopted).not.toBe(base.adopted);
  });

  it("depends on each part of what a node is", () => {
    const shape = {
      imageId: "m-1",
      instanceTypes: ["ecs.g7.xlarge"],
      systemDisk: { category: "cloud_essd" as const, sizeGb: 100 },
      securityGroupId: "sg-1",
      roleName: "r",
      shapeUserData: "#cloud-config",
    };
    const d = poolTemplateDigest(shape);
    expect(poolTemplateDigest({ ...shape })).toBe(d);
    for (const edit of [
      { imageId: "m-2" },
      { instanceTypes: ["ecs.g7.xlarge", "ecs.g6.xlarge"] },
      { systemDisk: { category: "cloud_essd" as const, sizeGb: 100, performanceLevel: "PL1" as const } },
      { keyPairName: "ops" },
      { securityGroupId: "sg-2" },
      { roleName: "s" },
      { shapeUserData: "#cloud-config\n" },
    ])
      expect(poolTemplateDigest({ ...shape, ...edit }), JSON.stringify(edit)).not.toBe(d);
  });
});

describe("the preview refusal of a template change an in-place pool cannot carry", () => {
  const [A, B] = ["a".repeat(40), "b".repeat(40)];
  const inputs = (digest: string, extra: Record<string, unknown> = {}): RolloutInputs => ({
    regionId: "cn-hangzhou",
    configKey: "nodePools[1].kubernetesVersion",
    version: "1.36.5",
    controlPlaneVersion: "1.36.5",
    controlPlaneInstanceIds: ["i-cp0"],
    drainBudgetSeconds: 600,
    gateSeconds: 600,
    budgetMinutes: 150,
    etcdSnapshots: true,
    upgradeCommands: { node: "node" },
    pool: {
      name: "batch",
      scalingGroupId: "asg-1",
      strategy: "in-place",
      waveSettings: { waves: [1], maxWaveShare: 0.2 },
      templateVersion: "3",
      templateDigest: digest,
      fixedSize: true,
      ...extra,
    },
  });

  it("refuses a new digest for an in-place pool whose minSize is its maxSize, naming the keys", async () => {
    expect(templateRefusal(inputs(A), inputs(B))).toMatch(
      /^nodePools\[1\]: .* nodePools\[1\]\.minSize equals its maxSize.* Lower nodePools\[1\]\.minSize, or set nodePools\[1\]\.upgradeStrategy: replace$/,
    );
    const diff = provider.diff as NonNullable<typeof provider.diff>;
    await expect(diff("id", { ...inputs(A), confirmedVersion: "1.36.5" }, inputs(B))).rejects.toThrow(
      /minSize/,
    );
  });

  it("allows the same digest, room above minSize, a replace pool, a first run and a digest not known yet", () => {
    expect(templateRefusal(inputs(A), inputs(A))).toBeUndefined();
    expect(templateRefusal(inputs(A), inputs(B, { fixedSize: undefined }))).toBeUndefined();
    expect(templateRefusal(inputs(A), inputs(B, { strategy: "replace" }))).toBeUndefined();
    expect(templateRefusal({}, inputs(B))).toBeUndefined();
    // Pulumi's unknown-value sentinel, as a preview passes an output not known yet.
    expect(templateRefusal(inputs(A), inputs("04da6b54-80e4-46f7-96ec-b56ff0331ba9"))).toBeUndefined();
  });
});
