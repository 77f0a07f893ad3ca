// The staged rollout as Pulumi resources: one ControlPlaneRollout per cluster and one
// PoolRollout per pool, thin dynamic resources whose create/update run the engine
// (components/rollout/engine.ts) and whose output `confirmedVersion` is written only when
// the rollout is done: the version memory the preview judges the next change against
// (a failed run leaves its requested version in the inputs, never in this output).
//
// Pulumi's dynamic provider host ignores customTimeouts and cannot cancel
// (@pulumi/pulumi 3.270.0 cmd/dynamic-provider/index.js), so the engine keeps its own
// budget (upgrade.timeBudgetMinutes) and ends between steps; an unfinished rollout throws,
// the state keeps the last confirmed version, `diff` reports a change while the target
// differs from it, and the next `pulumi up` resumes from what the cloud and the cluster
// show (../shared/reference/upgrades.md §5.1).
import * as pulumi from "@pulumi/pulumi";
import { compareVersions, parseKubernetesVersion } from "../../config/versions";
import type { RolloutTarget } from "../../plan/rollout/observed";
import { versionStepRefusals } from "../../plan/upgrade/version-policy";
import { waveSizes, type WaveSettings } from "../../plan/upgrade/waves";
import { ecsClient } from "../cloud-assistant";
import { instanceClient } from "../ecs-instances";
import { essClient } from "../ess";
import { vpcClient } from "../vpc";
import { cloudPorts } from "./cloud-ports";
import { runEngine } from "./engine";

export interface RolloutPoolInput {
  readonly name: string;
  readonly scalingGroupId: string;
  readonly strategy: "replace" | "in-place";
  /**
   * upgrade.waves and upgrade.maxWaveShare: the wave sizes follow from the group's maxSize
   * as ESS reports it when the rollout runs, so a pool's size is no input of this resource.
   */
  readonly waveSettings: WaveSettings;
  /**
   * The group's launch-template version: a new one (an image, instance type, disk or
   * user-data change) makes this rollout run, and replaces nodes launched from older ones.
   */
  readonly templateVersion: string;
  /**
   * What the pool's nodes are apart from their version (plan/pool-template.ts), tagged on
   * each: an `in-place` pool replaces, without surge, nodes whose tag differs.
   */
  readonly templateDigest?: string;
  /**
   * nodePools[].minSize equals maxSize: a wave without surge never has room above minSize.
   * (Only this, not the sizes: a resize is no reason for the rollout to run.)
   */
  readonly fixedSize?: boolean;
  /** The pool adopts instances (nodePools[].adoptInstanceIds): they are upgraded in place. */
  readonly adopted?: boolean;
}

export interface RolloutInputs {
  readonly regionId: string;
  /** The config key whose value `version` is, named in refusals. */
  readonly configKey: string;
  /** The version this rollout brings its nodes to. */
  readonly version: string;
  /** The control planes' version: `version` itself for the control planes' rollout. */
  readonly controlPlaneVersion: string;
  readonly controlPlaneInstanceIds: readonly string[];
  /** Absent: the control planes' rollout. */
  readonly pool?: RolloutPoolInput;
  readonly drainBudgetSeconds: number;
  readonly gateSeconds: number;
  readonly budgetMinutes: number;
  /** etcdBackup.enabled: the control planes move only after a snapshot is stored off them. */
  readonly etcdSnapshots: boolean;
  /**
   * The on-node upgrade commands at `version` (plan/upgrade-node.ts), rendered by the
   * program: the provider reads no files and captures no renderer.
   */
  readonly upgradeCommands: { readonly apply?: string; readonly node: string };
  /** The target minor's package repository, which the preflight checks (the control planes' rollout). */
  readonly packageRepository?: string;
}

export interface RolloutOutputs extends RolloutInputs {
  /** The version the rollout last finished at; absent in a record written by a failed first run. */
  readonly confirmedVersion?: string;
  /** The last run's steps, in words (the last 40). */
  readonly lastRun?: readonly string[];
}

/** How many progress lines a failure's message and the lastRun output keep. */
const LOG_LINES = 40;

const minor = (v: string) => parseKubernetesVersion(v)?.minor ?? NaN;

/** Why the step from the confirmed version to the new one is refused, naming the key; undefined: allowed. */
export function stepRefusal(confirmed: string | undefined, news: RolloutInputs): string | undefined {
  if (confirmed === undefined) return undefined;
  if (!news.pool && confirmed !== news.version && !news.etcdSnapshots)
    return `${news.configKey} changes from ${confirmed} to ${news.version}, but etcdBackup.enabled is false: the control planes move only after an etcd snapshot is stored off them. Enable etcd backups (one pulumi up), then upgrade`;
  if (!news.pool) {
    const [r] = versionStepRefusals(
      { controlPlane: confirmed, pools: {} },
      { controlPlane: news.version, pools: [] },
    );
    return r ? `${news.configKey} ${r.message}` : undefined;
  }
  if (compareVersions(news.version, confirmed) < 0)
    return `${news.configKey} is ${news.version}, but pool ${news.pool.name} was last confirmed at ${confirmed}: downgrades are refused (a kubelet older than the one it replaces is an unsupported move). Keep ${confirmed} or newer`;
  // In place means kubeadm upgrade node on the running node: one minor at a time, as for
  // control planes (kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/
  // kubeadm-upgrade.md). Replaced nodes join fresh at any supported version.
  if (
    (news.pool.strategy === "in-place" || news.pool.adopted === true) &&
    minor(news.version) > minor(confirmed) + 1
  )
    return `${news.configKey} is ${news.version}, but pool ${news.pool.name} ${news.pool.adopted ? "has adopted instances, which upgrade" : "upgrades"} in place and was last confirmed at ${confirmed}: kubeadm upgrades a node one minor at a time; go through 1.${minor(confirmed) + 1} first`;
  return undefined;
}

const DIGEST = /^[0-9a-f]{40}$/;

/**
 * Why a template change is refused at preview: an `in-place` pool replaces the nodes it
 * makes outdated without surge, removing nodes before ESS launches their replacements,
 * and ESS refuses a removal below MinSize (AlibabaCloudDocs/ess 3150f66 intl.en-US/API
 * Reference/Trigger task/RemoveInstances.md). A pool whose minSize is its maxSize never
 * has that room. (A digest not known yet, as in a preview, decides nothing.)
 */
export function templateRefusal(olds: Partial<RolloutInputs>, news: RolloutInputs): string | undefined {
  const [was, now] = [olds.pool?.templateDigest, news.pool?.templateDigest];
  const p = news.pool;
  if (!p || p.strategy !== "in-place" || !was || !now || !DIGEST.test(was) || !DIGEST.test(now))
    return undefined;
  if (was === now || p.fixedSize !== true) return undefined;
  const key = news.configKey.replace(/\.kubernetesVersion$/, "");
  return `${key}: pool ${p.name}'s template changes (image, instance types, disk or user data), which an in-place pool carries by replacing its nodes without surge, a wave removed before ESS launches its replacements; but ${key}.minSize equals its maxSize, and ESS refuses a removal below minSize. Lower ${key}.minSize, or set ${key}.upgradeStrategy: replace`;
}

/** The inputs that decide a run, in a fixed order with sorted keys (state may reorder an object's keys). */
const INPUT_KEYS = [
  "regionId",
  "configKey",
  "version",
  "controlPlaneVersion",
  "controlPlaneInstanceIds",
  "pool",
  "drainBudgetSeconds",
  "gateSeconds",
  "budgetMinutes",
  "etcdSnapshots",
  "upgradeCommands",
  "packageRepository",
] as const;
const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : x,
  );
export const sameInputs = (a: Partial<RolloutInputs>, b: Partial<RolloutInputs>) =>
  INPUT_KEYS.every((k) => stable(a[k]) === stable(b[k]));

/**
 * The template version the pool was last confirmed at: instances launched from a newer
 * one came with this rollout (or the autoscaler during it) and pass the gate first.
 */
export const confirmedTemplate = (olds?: RolloutOutputs) =>
  olds?.confirmedVersion !== undefined ? olds.pool?.templateVersion : undefined;
/** ...and its template digest (plan/pool-template.ts): a new one means nodes to replace. */
export const confirmedDigest = (olds?: RolloutOutputs) =>
  olds?.confirmedVersion !== undefined ? olds.pool?.templateDigest : undefined;

async function roll(inputs: RolloutInputs, olds?: RolloutOutputs): Promise<RolloutOutputs> {
  // The dynamic provider host has no engine log of its own (cmd/dynamic-provider/index.js
  // main sets none up): progress goes to its stderr, and into the outputs or the error.
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    console.error(`kubeadm-alicloud rollout: ${line}`);
  };
  const pool = inputs.pool;
  const essApi = essClient(inputs.regionId);
  const waves = pool ? waveSizes((await essApi.group(pool.scalingGroupId)).maxSize, pool.waveSettings) : [];
  const ports = cloudPorts({
    commands: ecsClient(inputs.regionId),
    instances: instanceClient(inputs.regionId),
    ess: essApi,
    vpc: vpcClient(inputs.regionId),
    controlPlaneInstanceIds: inputs.controlPlaneInstanceIds,
    pools: pool
      ? [
          {
            name: pool.name,
            scalingGroupId: pool.scalingGroupId,
            strategy: pool.strategy,
            version: inputs.version,
            ...(pool.templateDigest ? { templateDigest: pool.templateDigest } : {}),
            ...(confirmedTemplate(olds) ? { confirmedTemplateVersion: confirmedTemplate(olds) } : {}),
            ...(confirmedDigest(olds) ? { confirmedTemplateDigest: confirmedDigest(olds) } : {}),
          },
        ]
      : [],
    version: inputs.controlPlaneVersion,
    drainBudgetSeconds: inputs.drainBudgetSeconds,
    gateSeconds: inputs.gateSeconds,
    etcdSnapshots: inputs.etcdSnapshots,
    upgradeCommands: inputs.upgradeCommands,
    ...(inputs.packageRepository ? { packageRepository: inputs.packageRepository } : {}),
    log,
  });
  const target: RolloutTarget = {
    version: inputs.controlPlaneVersion,
    pools: pool ? [{ name: pool.name, version: inputs.version, waves }] : [],
  };
  const what = pool ? `pool ${pool.name}` : "the control planes";
  const recent = () => lines.slice(-LOG_LINES);
  let r;
  try {
    r = await runEngine(ports, target, {
      budgetMs: inputs.budgetMinutes * 60_000,
      waitMs: 30_000,
      // Launch, boot and bootstrap of a new node take up to the bootstrap's own limit
      // (plan/timeouts.ts BOOTSTRAP_SECONDS, 45 min); an hour with nothing changing is stuck.
      stuckMs: 60 * 60_000,
    });
  } catch (err) {
    throw new Error(
      `the rollout of ${what} to ${inputs.version} halted: ${(err as Error).message}\nIts last steps:\n${recent().join("\n")}\nFix the cause and run pulumi up again: it goes on from where the cluster stands.`,
      { cause: err },
    );
  }
  if (r.status === "out-of-time")
    throw new Error(
      `the rollout of ${what} to ${inputs.version} used its time budget (upgrade.timeBudgetMinutes ${inputs.budgetMinutes}) after ${r.steps} steps and stopped between steps (${r.waiting}). Run pulumi up again: it goes on from where the cluster stands`,
    );
  return { ...inputs, confirmedVersion: inputs.version, lastRun: recent() };
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds: RolloutOutputs, news: RolloutInputs) {
    // Judged against the version last confirmed, from the prior outputs (diff receives
    // them: @pulumi/pulumi dynamic/index.d.ts ResourceProvider.diff), at preview.
    const refusal = stepRefusal(olds.confirmedVersion, news) ?? templateRefusal(olds, news);
    if (refusal) throw new Error(refusal);
    return { changes: olds.confirmedVersion !== news.version || !sameInputs(olds, news) };
  },
  async create(inputs: RolloutInputs) {
    const outs = await roll(inputs);
    return { id: inputs.pool ? `rollout-${inputs.pool.name}` : "rollout-control-planes", outs };
  },
  async update(_id, olds: RolloutOutputs, news: RolloutInputs) {
    return { outs: await roll(news, olds) };
  },
};

type Args = { [K in keyof RolloutInputs]: pulumi.Input<RolloutInputs[K]> };

/** The control planes' rollout, one control plane at a time; `confirmedVersion` once all passed. */
export class ControlPlaneRollout extends pulumi.dynamic.Resource {
  declare readonly confirmedVersion: pulumi.Output<string>;
  constructor(name: string, args: Omit<Args, "pool">, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, confirmedVersion: undefined },
      opts,
      "kubeadm-alicloud",
      "ControlPlaneRollout",
    );
  }
}

/** One pool's rollout, in waves, after the control planes confirmed. */
export class PoolRollout extends pulumi.dynamic.Resource {
  declare readonly confirmedVersion: pulumi.Output<string>;
  constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, confirmedVersion: undefined }, opts, "kubeadm-alicloud", "PoolRollout");
  }
}
