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
// The instance is found at run time by its fixed private address in the cluster's VPC
// (ECS DescribeInstances VpcId + PrivateIpAddresses): an input on the instance itself
// would make a cycle, since the instance waits for this.
import * as pulumi from "@pulumi/pulumi";
import { drainCommand, drainFailure, parseDrainResult } from "../plan/drain";
import { ecsClient, type CommandApi } from "./cloud-assistant";
import { instanceClient, type InstanceApi } from "./ecs-instances";
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
  readonly drainBudgetSeconds: number;
}

export interface DrainPorts {
  readonly commands: CommandApi;
  readonly instances: InstanceApi;
}

export async function drainBeforeRestart(
  ports: DrainPorts,
  a: ControlPlaneDrainInputs,
  log: (line: string) => void,
  wait: WaitOptions = {},
): Promise<void> {
  const found = await ports.instances.findByPrivateIps(a.vpcId, [a.privateIp, ...a.peerIps]);
  const at = (ip: string) => found.find((i) => i.privateIps.includes(ip));
  const me = at(a.privateIp);
  if (!me || me.status !== "Running") {
    log(`no running control plane at ${a.privateIp}: nothing to drain`);
    return;
  }
  const node = `${a.regionId}.${me.instanceId}`;
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
    return { changes: olds.instanceType !== news.instanceType };
  },
  // A new control plane has nothing to drain; nor does one this resource first appears beside.
  async create(inputs: ControlPlaneDrainInputs) {
    return { id: `drain-${inputs.privateIp}`, outs: inputs };
  },
  async update(_id, _olds: ControlPlaneDrainInputs, news: ControlPlaneDrainInputs) {
    const ecs = ecsClient(news.regionId);
    await drainBeforeRestart({ commands: ecs, instances: instanceClient(news.regionId) }, news, (line) =>
      console.error(`kubeadm-alicloud control-plane drain: ${line}`),
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
