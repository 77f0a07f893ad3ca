// A control plane drained before the alicloud provider restarts it for a new instance type.
// The provider changes an instance type by StopInstance, ModifyInstanceSpec, StartInstance
// (aliyun/terraform-provider-alicloud v1.289.0 resource_alicloud_instance.go
// modifyInstanceType), with no word to the cluster: the pods the control plane runs (CoreDNS
// tolerates the control-plane taint, and any workload may) would die with it. One
// ControlPlaneDrain per control plane sits before its instance in the chain
// (components/control-plane.ts: drain i -> instance i -> readiness check i -> drain i+1),
// and on an instance-type change drains that control plane, from another one, with the one
// drain (PodDisruptionBudgets honoured; a blocked drain uncordons and stops `pulumi up`
// before anything is stopped). After the restart the readiness check's wait-ready.sh
// uncordons the node it finds cordoned with drain.sh's record.
//
// The same drain comes before a control plane's REPLACEMENT, one at a time in the same chain:
// a new system disk category (ForceNew in the provider) or a new pinned image
// (components/control-plane.ts replaceOnChanges). Then release protection is lifted on the
// old instance after its drain, since ECS refuses to release a protected instance
// (DeleteInstance: 403 InvalidOperation.DeletionProtection, "Disable release protection for the
// instance first": AlibabaCloudDocs/ecs intl.en-US API Reference/Instances/DeleteInstance.md);
// the new instance gets the configured protection. A new image drains only an instance that
// does not run it already (DescribeInstances ImageId): the first run of a release that rolls
// images, or a rerun after a replacement, drains nothing it will not replace.
//
// The instance is found at run time by its fixed private address in the cluster's VPC
// (ECS DescribeInstances VpcId + PrivateIpAddresses): an input on the instance itself
// would make a cycle, since the instance waits for this.
import * as pulumi from "@pulumi/pulumi";
import { drainCommand, drainFailure, parseDrainResult } from "../plan/drain";
import { ecsClient, type CommandApi } from "./cloud-assistant";
import { instanceClient, type InstanceApi, type InstanceView } from "./ecs-instances";
import { waitForCommand, type WaitOptions } from "./readiness";

export interface ControlPlaneDrainInputs {
  readonly regionId: string;
  readonly vpcId: string;
  /** This control plane's fixed address (plan/control-plane.ts placements). */
  readonly privateIp: string;
  /** The other control planes' addresses, in placement order: they drain it. */
  readonly peerIps: readonly string[];
  /** What makes the provider restart the instance: a change of it drains first. */
  readonly instanceType: string;
  /** What makes the provider replace it (ForceNew): a change drains first and lifts protection. */
  readonly systemDiskCategory?: string;
  /** The pinned image when a new one replaces control planes; absent when images are not rolled. */
  readonly imageId?: string;
  readonly drainBudgetSeconds: number;
}

/** Why this control plane goes down, judged from the recorded and new inputs; undefined: it does not. */
export function drainReason(olds: Partial<ControlPlaneDrainInputs>, news: ControlPlaneDrainInputs): Change {
  // A record made before a key existed took no decision on it: not a change.
  if (olds.systemDiskCategory !== undefined && olds.systemDiskCategory !== news.systemDiskCategory)
    return { kind: "replacement", what: `system disk category ${news.systemDiskCategory ?? ""}` };
  if (news.imageId !== undefined && news.imageId !== olds.imageId)
    return { kind: "replacement", what: `image ${news.imageId}`, unlessImage: news.imageId };
  if (olds.instanceType !== news.instanceType)
    return { kind: "restart", what: `instance type ${news.instanceType}` };
  return undefined;
}

export type Change =
  | {
      readonly kind: "restart" | "replacement";
      readonly what: string;
      /** Nothing to do for an instance that runs this image already. */
      readonly unlessImage?: string;
    }
  | undefined;

export interface DrainPorts {
  readonly commands: CommandApi;
  readonly instances: InstanceApi;
}

export async function drainBeforeRestart(
  ports: DrainPorts,
  a: ControlPlaneDrainInputs,
  log: (line: string) => void,
  wait: WaitOptions = {},
  change: Change = { kind: "restart", what: "a restart" },
): Promise<void> {
  if (!change) return;
  const found = await ports.instances.findByPrivateIps(a.vpcId, [a.privateIp, ...a.peerIps]);
  const at = (ip: string) => found.find((i) => i.privateIps.includes(ip));
  const me = at(a.privateIp);
  if (!me || me.status !== "Running") {
    log(`no running control plane at ${a.privateIp}: nothing to drain`);
    return;
  }
  if (change.unlessImage !== undefined && me.imageId === change.unlessImage) {
    log(`${me.instanceId} at ${a.privateIp} runs ${me.imageId} already: nothing to drain`);
    return;
  }
  const node = `${a.regionId}.${me.instanceId}`;
  // Replaced, this instance's etcd member and data go: never unless two others run (quorum).
  const running = a.peerIps.filter((ip) => at(ip)?.status === "Running").length;
  if (change.kind === "replacement" && running < 2)
    throw new Error(
      `${node} would be replaced (${change.what}) while ${running} other control plane(s) run: its etcd data goes with it. ` +
        "Replacing a control plane needs at least 2 others running; nothing was changed.",
    );
  await drainFromPeers(ports, a, node, at, me, log, wait);
  if (change.kind === "replacement") {
    await ports.instances.liftDeletionProtection(me.instanceId);
    log(`${me.instanceId}: release protection lifted for its replacement (${change.what})`);
  }
}

async function drainFromPeers(
  ports: DrainPorts,
  a: ControlPlaneDrainInputs,
  node: string,
  at: (ip: string) => InstanceView | undefined,
  me: InstanceView,
  log: (line: string) => void,
  wait: WaitOptions,
): Promise<void> {
  // Another control plane first; a single control plane drains itself (it stops anyway).
  const runners = [
    ...a.peerIps.map(at).filter((i) => i !== undefined && i.status === "Running"),
    me,
  ] as (typeof me)[];
  const { script, timeoutSeconds } = drainCommand(node, a.drainBudgetSeconds);
  let last = "";
  for (const r of runners) {
    let output: string;
    try {
      output = (
        await waitForCommand(ports.commands, r.instanceId, script, timeoutSeconds, {
          ...wait,
          what: `could not drain ${node}`,
          returnFailures: true,
          log,
        })
      ).output;
    } catch (err) {
      last = `${r.instanceId}: ${(err as Error).message}`;
      continue;
    }
    const result = parseDrainResult(output);
    if (result?.ok) {
      log(`${node} drained from ${r.instanceId} before its restart`);
      return;
    }
    // The API did not answer that control plane: another may reach it.
    if (result?.reason === "cannot start" || !result) {
      last = `${r.instanceId}: ${output.trimEnd().split("\n").slice(-5).join("\n")}`;
      continue;
    }
    throw new Error(
      `${drainFailure(node, output)}\nThe control plane was not stopped: free the budget (or wait) and run pulumi up again.`,
    );
  }
  throw new Error(`no control plane could drain ${node} before its restart; it was not stopped. ${last}`);
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds: ControlPlaneDrainInputs, news: ControlPlaneDrainInputs) {
    return { changes: drainReason(olds, news) !== undefined };
  },
  // A new control plane has nothing to drain; nor does one this resource first appears beside.
  async create(inputs: ControlPlaneDrainInputs) {
    return { id: `drain-${inputs.privateIp}`, outs: inputs };
  },
  async update(_id, olds: ControlPlaneDrainInputs, news: ControlPlaneDrainInputs) {
    const ecs = ecsClient(news.regionId);
    await drainBeforeRestart(
      { commands: ecs, instances: instanceClient(news.regionId) },
      news,
      (line) => console.error(`kubeadm-alicloud control-plane drain: ${line}`),
      {},
      drainReason(olds, news),
    );
    return { outs: news };
  },
};

type Args = { [K in keyof ControlPlaneDrainInputs]: pulumi.Input<ControlPlaneDrainInputs[K]> };

export class ControlPlaneDrain extends pulumi.dynamic.Resource {
  constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, args, opts, "kubeadm-alicloud", "ControlPlaneDrain");
  }
}
