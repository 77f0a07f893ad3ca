// What the rollout sees of each pool in the cloud: its scaling group (size, limits,
// launch-template version, vSwitches) and instances from ESS and, for an `in-place` pool,
// what each instance was launched as from its template-digest tag in ECS
// (plan/pool-template.ts). The cluster's side is rollout-node.py's snapshot; both meet in
// plan/rollout/node-script.ts toObserved.
import type { EssPool } from "../../plan/rollout/node-script";
import { TEMPLATE_DIGEST_TAG } from "../../plan/pool-template";
import type { InstanceApi } from "../ecs-instances";
import type { EssApi, ScalingInstanceView } from "../ess";

export interface RolloutPool {
  readonly name: string;
  readonly scalingGroupId: string;
  readonly strategy: "replace" | "in-place";
  readonly version: string;
  /** What the pool's nodes are apart from the version (its template digest, tagged on each). */
  readonly templateDigest?: string;
  /** The launch-template version the pool was last confirmed at; absent: none recorded. */
  readonly confirmedTemplateVersion?: string;
  /** The template digest the pool was last confirmed at; absent: none recorded. */
  readonly confirmedTemplateDigest?: string;
}

/**
 * ESS lifecycle states of instances leaving the group; every other state (InService,
 * Pending, Pending:Wait, Protected, Standby, Stopped) keeps the instance in it
 * (DescribeScalingInstances LifecycleState, AlibabaCloudDocs/ess 3150f66 intl.en-US/
 * API Reference/Scaling group/DescribeScalingInstances.md).
 */
const LEAVING = new Set(["Removing", "Removing:Wait"]);

export interface PoolObserver {
  /** Each pool as ESS (and ECS's tags) show it now. */
  observe(): Promise<EssPool[]>;
  /** Each pool's vSwitches, as ESS reported its group's on the last observation. */
  vswitchesOf(pool: string): readonly string[];
}

export function poolObserver(
  pools: readonly RolloutPool[],
  ess: EssApi,
  instances: InstanceApi | undefined,
  log: (line: string) => void,
): PoolObserver {
  const vswitches = new Map<string, readonly string[]>();
  /** Template-digest tags by instance id ("" when untagged): an instance's tags do not change. */
  const digests = new Map<string, string>();
  const untaggedLogged = new Set<string>();

  /** An `in-place` pool's outdated instances: tagged with a digest other than the pool's. */
  const outdatedByDigest = async (p: RolloutPool, launched: readonly ScalingInstanceView[]) => {
    if (!p.templateDigest) return [];
    if (!instances)
      throw new Error(`pool ${p.name}: the rollout has no ECS client to read its instances' template tags`);
    const unknown = launched.map((i) => i.instanceId).filter((id) => !digests.has(id));
    if (unknown.length > 0)
      for (const v of await instances.describe(unknown))
        digests.set(v.instanceId, v.tags[TEMPLATE_DIGEST_TAG] ?? "");
    const untagged = launched.filter((i) => !digests.get(i.instanceId)).map((i) => i.instanceId);
    if (untagged.length > 0 && !untaggedLogged.has(p.name)) {
      untaggedLogged.add(p.name);
      log(
        `pool ${p.name}: ${untagged.length} instances carry no template tag (launched before this release recorded one): kept, upgraded in place for versions only`,
      );
    }
    return launched
      .filter((i) => digests.get(i.instanceId) && digests.get(i.instanceId) !== p.templateDigest)
      .map((i) => i.instanceId);
  };

  return {
    vswitchesOf: (pool) => vswitches.get(pool) ?? [],
    async observe() {
      const out: EssPool[] = [];
      for (const p of pools) {
        const [group, all] = await Promise.all([
          ess.group(p.scalingGroupId),
          ess.instances(p.scalingGroupId),
        ]);
        const staying = all.filter((i) => !LEAVING.has(i.lifecycleState));
        // CreationType (ESS struct_scaling_instance.go): AutoCreated or Attached. An attached
        // instance has no launch-template version and no tag: judged by its kubelet alone.
        const launched = staying.filter((i) => i.creationType !== "Attached" && i.launchTemplateVersion);
        const now = group.launchTemplateVersion;
        // Replace: any older template version (the group holds an explicit one:
        // components/node-pool.ts). In place: only a template that differs in more than the
        // version, which a node cannot take where it runs.
        const outdatedIds =
          p.strategy === "in-place"
            ? await outdatedByDigest(p, launched)
            : launched.filter((i) => now && i.launchTemplateVersion !== now).map((i) => i.instanceId);
        const since = Number(p.confirmedTemplateVersion);
        const currentIds =
          p.confirmedTemplateVersion !== undefined && Number.isFinite(since)
            ? launched.filter((i) => Number(i.launchTemplateVersion) > since).map((i) => i.instanceId)
            : [];
        vswitches.set(p.name, group.vswitchIds);
        out.push({
          name: p.name,
          desired: group.desired,
          maxSize: group.maxSize,
          minSize: group.minSize,
          instanceIds: staying.map((i) => i.instanceId),
          outdatedIds,
          currentIds,
          attachedIds: staying.filter((i) => i.creationType === "Attached").map((i) => i.instanceId),
          strategy: p.strategy,
          version: p.version,
          ...(p.templateDigest && p.confirmedTemplateDigest && p.templateDigest !== p.confirmedTemplateDigest
            ? { replacing: true }
            : {}),
        });
      }
      return out;
    },
  };
}
