// The instances a pool adopts (nodePools[].adoptInstanceIds), as one dynamic resource per
// pool that lists any: whatever the list's length, one resource. Its create and update run
// components/adopt/engine.ts (instances taken off the list are let go first, which frees
// their room in the group, then the list is adopted: what is done already is skipped; then
// those bootstrapped from older pool user data are bootstrapped again: ./refresh.ts); its
// delete lets go of all of them. Pulumi's dynamic provider host ignores customTimeouts
// (@pulumi/pulumi cmd/dynamic-provider/index.js), so every step keeps its own limit.
import * as pulumi from "@pulumi/pulumi";
import { ecsClient } from "../cloud-assistant";
import { instanceClient } from "../ecs-instances";
import { essClient } from "../ess";
import { adoptInstances, releaseInstances, type AdoptArgs, type AdoptPorts } from "./engine";
import { refreshInstances } from "./refresh";

export type AdoptInputs = Omit<AdoptArgs, "log" | "wait" | "essBusySeconds"> & {
  readonly instanceIds: readonly string[];
};

export interface AdoptOutputs extends AdoptInputs {
  /** The last run's steps (the last 40). */
  readonly lastRun?: readonly string[];
}

const LOG_LINES = 40;
const sorted = (ids: readonly string[] | undefined) => [...(ids ?? [])].sort();
const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

async function converge(inputs: AdoptInputs, letGo: readonly string[]): Promise<AdoptOutputs> {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    console.error(`kubeadm-alicloud adopt: ${line}`);
  };
  const ecs = ecsClient(inputs.regionId);
  const ports: AdoptPorts = {
    commands: ecs,
    roles: ecs,
    instances: instanceClient(inputs.regionId),
    ess: essClient(inputs.regionId),
  };
  const { instanceIds, ...rest } = inputs;
  const args: AdoptArgs = { ...rest, log };
  try {
    await releaseInstances(ports, args, letGo);
    await adoptInstances(ports, args, instanceIds);
    await refreshInstances(ports, args, instanceIds);
  } catch (err) {
    throw new Error(
      `${inputs.configKey}.adoptInstanceIds (pool ${inputs.pool}): ${(err as Error).message}\nIts last steps:\n${lines.slice(-LOG_LINES).join("\n")}\nFix the cause and run pulumi up again: what is done is not done twice.`,
      { cause: err },
    );
  }
  return { ...inputs, lastRun: lines.slice(-LOG_LINES) };
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds: AdoptOutputs, news: AdoptInputs) {
    // The list, the group and what the pool's user data is apart from the version decide a
    // run: new user data bootstraps each adopted instance again (./refresh.ts), as it
    // replaces the pool's launched nodes. (The rendered commands carry the version, which
    // the pool's rollout moves in place: they decide nothing.)
    const changes =
      !sameList(olds.instanceIds, news.instanceIds) ||
      olds.scalingGroupId !== news.scalingGroupId ||
      olds.bootstrapDigest !== news.bootstrapDigest;
    return { changes };
  },
  async create(inputs: AdoptInputs) {
    return { id: `adopted-${inputs.pool}`, outs: await converge(inputs, []) };
  },
  async update(_id, olds: AdoptOutputs, news: AdoptInputs) {
    const letGo =
      olds.scalingGroupId === news.scalingGroupId
        ? (olds.instanceIds ?? []).filter((id) => !news.instanceIds.includes(id))
        : [];
    return { outs: await converge(news, letGo) };
  },
  async delete(_id, olds: AdoptOutputs) {
    await converge({ ...olds, instanceIds: [] }, olds.instanceIds ?? []);
  },
};

type Args = { [K in keyof AdoptInputs]: pulumi.Input<AdoptInputs[K]> };

/** The ECS instances one pool adopts. */
export class AdoptedInstances extends pulumi.dynamic.Resource {
  declare readonly instanceIds: pulumi.Output<string[]>;
  constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, lastRun: undefined }, opts, "kubeadm-alicloud", "AdoptedInstances");
  }
}
