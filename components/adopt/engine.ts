// Adopting the ECS instances an operator lists in nodePools[].adoptInstanceIds, and letting
// go of those taken off the list. Runs where `pulumi up` runs (components/adopt/resource.ts),
// through the one Cloud Assistant client, the one drain and the ESS client the rollout uses.
//
// Adopt, per instance, each step skipped when already done (a rerun resumes):
//   1. every listed instance checked before anything changes: it exists, runs, sits in the
//      cluster's VPC, carries no other RAM role and is no node of another pool;
//   2. the pool's security group joined, the pool's RAM role attached (the bootstrap reads
//      the pool's join token with it), metadata tokens required (as the launch template);
//   3. unless ESS already holds it: the pool's user data installed (plan/adopt.ts), the
//      bootstrap waited for, the node gated from a control plane (Ready at the pool's
//      version, its DaemonSet pods Ready: rollout-node.py adopt, which also marks it
//      adopted and holds it from the autoscaler's scale-down);
//   4. attached to the scaling group (not entrusted: ESS never releases it) and protected
//      from scale-in, so that only this list takes it out.
// Attaching comes last: the node-health reporter only judges instances ESS holds InService
// (bootstrap/node-health.py), and a protected instance is not InService.
//
// Let go, per instance: drained from a control plane (the one drain, PodDisruptionBudgets
// honoured, a failure names the pods and budgets and changes nothing else), reset on the
// instance so that its kubelet cannot register again (plan/adopt.ts adoptResetCommand),
// its Node deleted (bootstrap/scale-in-drain.sh, as ESS's scale-in hook does), protection
// lifted (ESS removes no protected instance: SetInstancesProtection.md), detached with the
// expected capacity lowered, the RAM role and security group taken back.
import { DRAIN_MARGIN_SECONDS, drainFailure } from "../../plan/drain";
import { ADOPT_COMMAND_SECONDS, ADOPT_WAIT_COMMAND_SECONDS } from "../../plan/adopt-limits";
import { parseRolloutResult, rolloutNodeCommand } from "../../plan/rollout/node-script";
import type { CommandApi, RoleApi } from "../cloud-assistant";
import type { InstanceApi } from "../ecs-instances";
import { whileEssBusy, type EssApi } from "../ess";
import { waitForCommand, type WaitOptions } from "../readiness";
import { clientToken } from "../rollout/cloud-ports";
import { BOOTSTRAP_TAG, ROLE_TAG } from "../../plan/naming";

export interface AdoptPorts {
  readonly commands: CommandApi;
  readonly roles: RoleApi;
  readonly instances: InstanceApi;
  readonly ess: EssApi;
}

export interface AdoptArgs {
  readonly regionId: string;
  /** nodePools[i]: the config key problems name. */
  readonly configKey: string;
  readonly pool: string;
  readonly scalingGroupId: string;
  readonly vpcId: string;
  readonly securityGroupId: string;
  readonly roleName: string;
  /** The pool's Kubernetes version: the node's gate. */
  readonly version: string;
  readonly controlPlaneInstanceIds: readonly string[];
  /** plan/adopt.ts, rendered by the program from the pool's user data. */
  readonly commands: {
    readonly install: readonly string[];
    readonly wait: string;
    readonly reset: string;
    /**
     * plan/scale-in.ts scaleInCommandParts: the text before and after an instance id of the
     * command that drains a node (the one drain, left cordoned on failure) and deletes its Node.
     */
    readonly scaleIn: readonly [string, string];
  };
  readonly drainBudgetSeconds: number;
  readonly gateSeconds: number;
  /**
   * What the pool's user data is apart from the version (a digest of components/user-data.ts
   * poolShapeUserData), tagged on each instance it bootstraps: one tagged otherwise is
   * bootstrapped again (components/adopt/refresh.ts).
   */
  readonly bootstrapDigest?: string;
  readonly log: (line: string) => void;
  /** How long ESS may stay busy with another scaling activity before an attach or detach gives up. */
  readonly essBusySeconds?: number;
  readonly wait?: WaitOptions;
}

/** The pool tag components/node-pool.ts puts on its launched instances. */
const POOL_TAG = "kubeadm-alicloud.io/pool";
const nodeName = (a: AdoptArgs, id: string) => `${a.regionId}.${id}`;

async function run(
  ports: AdoptPorts,
  a: AdoptArgs,
  id: string,
  script: string,
  seconds: number,
  what: string,
) {
  return waitForCommand(ports.commands, id, script, seconds, {
    ...a.wait,
    what: `could not ${what}`,
    returnFailures: true,
    log: a.log,
  });
}

const whileBusy = (a: AdoptArgs, what: string, f: () => Promise<void>) =>
  whileEssBusy(f, { ...a.wait, log: (l) => a.log(`${what}: ${l}`), seconds: a.essBusySeconds ?? 900 });

/** On the first control plane that answers: a rollout-node.py step or the drain. */
async function onControlPlane(
  ports: AdoptPorts,
  a: AdoptArgs,
  script: string,
  seconds: number,
  what: string,
) {
  let last = "";
  for (const cp of a.controlPlaneInstanceIds) {
    try {
      return await run(ports, a, cp, script, seconds, what);
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`no control plane could ${what}: ${last}`);
}

const tail = (output: string) => output.trimEnd().split("\n").slice(-30).join("\n");

/** Every listed instance's problems, all at once, before anything changes. */
async function problems(ports: AdoptPorts, a: AdoptArgs, ids: readonly string[]): Promise<string[]> {
  const seen = new Map((await ports.instances.describe(ids)).map((i) => [i.instanceId, i]));
  const out: string[] = [];
  for (const id of ids) {
    const i = seen.get(id);
    if (!i) {
      out.push(`${id}: ECS has no such instance in ${a.regionId}`);
      continue;
    }
    if (i.status !== "Running")
      out.push(`${id} is ${i.status}: ESS attaches only Running instances; start it`);
    if (i.vpcId !== a.vpcId)
      out.push(
        `${id} is in ${i.vpcId || "no VPC"}, not the cluster's ${a.vpcId}: ESS attaches instances of the group's VPC only`,
      );
    const role = i.tags[ROLE_TAG];
    if (role && (role !== "worker" || i.tags[POOL_TAG] !== a.pool))
      out.push(`${id} is already a ${role} node${i.tags[POOL_TAG] ? ` of pool ${i.tags[POOL_TAG]}` : ""}`);
    const ram = await ports.roles.instanceRole(id);
    if (ram && ram !== a.roleName)
      out.push(
        `${id} has the RAM role ${ram}; an instance holds one role, and a node needs the pool's (${a.roleName}): detach ${ram} first`,
      );
  }
  return out;
}

/**
 * The pool's user data installed on the instance, its bootstrap waited for, its node gated from
 * a control plane (rollout-node.py adopt: Ready at the pool's version, its DaemonSet pods Ready,
 * marked adopted and held from scale-down), then tagged with what it was bootstrapped from.
 */
export async function bootstrap(ports: AdoptPorts, a: AdoptArgs, id: string): Promise<void> {
  a.log(`${id}: installing the pool's bootstrap (${a.commands.install.length} commands)`);
  for (const [n, c] of a.commands.install.entries()) {
    const r = await run(ports, a, id, c, ADOPT_COMMAND_SECONDS, `install the bootstrap (${n + 1})`);
    if (r.exitCode !== 0)
      throw new Error(`${id}: installing the bootstrap failed (exit ${r.exitCode}):\n${tail(r.output)}`);
  }
  const w = await run(ports, a, id, a.commands.wait, ADOPT_WAIT_COMMAND_SECONDS, "wait for the bootstrap");
  if (w.exitCode !== 0)
    throw new Error(
      `${id}: the bootstrap did not succeed; it stays out of the scaling group:\n${tail(w.output)}`,
    );
  const step = rolloutNodeCommand({
    kind: "adopt",
    node: nodeName(a, id),
    version: a.version,
    seconds: a.gateSeconds,
  });
  const g = await onControlPlane(ports, a, step.script, step.timeoutSeconds, `gate ${nodeName(a, id)}`);
  const result = parseRolloutResult(g.output);
  if (g.exitCode !== 0 || !result?.ok)
    throw new Error(
      `${id}: node ${nodeName(a, id)} did not pass its gate at ${a.version}: ${result?.problems?.join("; ") ?? result?.reason ?? "no result"}; it stays out of the scaling group:\n${tail(g.output)}`,
    );
  a.log(`${id}: node ${nodeName(a, id)} passed its gate`);
  if (a.bootstrapDigest) await ports.instances.tag(id, { [BOOTSTRAP_TAG]: a.bootstrapDigest });
}

export async function adoptInstances(ports: AdoptPorts, a: AdoptArgs, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await problems(ports, a, ids);
  if (found.length > 0)
    throw new Error(
      `${a.configKey}.adoptInstanceIds: nothing was changed:\n${found.map((p) => `- ${p}`).join("\n")}`,
    );
  const [group, members] = await Promise.all([
    ports.ess.group(a.scalingGroupId),
    ports.ess.instances(a.scalingGroupId),
  ]);
  const inGroup = new Set(members.map((m) => m.instanceId));
  // One ESS launched itself is the pool's already: adopting it would protect it from
  // scale-in, and letting it go would leave it running outside the group.
  const launched = members.filter((m) => ids.includes(m.instanceId) && m.creationType === "AutoCreated");
  if (launched.length > 0)
    throw new Error(
      `${a.configKey}.adoptInstanceIds: ${launched.map((m) => m.instanceId).join(", ")} ${launched.length > 1 ? "were" : "was"} launched by the pool's scaling group itself; list only instances you brought`,
    );
  const toAttach = ids.filter((id) => !inGroup.has(id));
  if (members.length + toAttach.length > group.maxSize)
    throw new Error(
      `${a.configKey}.adoptInstanceIds: the group holds ${members.length} instances and maxSize is ${group.maxSize}; ${toAttach.length} more do not fit (ESS refuses to attach past maxSize): raise ${a.configKey}.maxSize`,
    );
  const views = new Map((await ports.instances.describe(ids)).map((i) => [i.instanceId, i]));
  for (const id of ids) {
    const i = views.get(id);
    if (!i) continue;
    if (!i.securityGroupIds.includes(a.securityGroupId))
      await ports.instances.joinSecurityGroup(id, a.securityGroupId);
    if ((await ports.roles.instanceRole(id)) !== a.roleName) await ports.roles.attachRole(id, a.roleName);
    if (i.httpTokens !== "required") await ports.instances.requireMetadataTokens(id);
    if (inGroup.has(id)) continue;
    await bootstrap(ports, a, id);
  }
  if (toAttach.length > 0)
    await whileBusy(a, "attach", () =>
      ports.ess.attach(a.scalingGroupId, toAttach, clientToken(a.scalingGroupId, "attach", ...toAttach)),
    );
  await ports.ess.protect(a.scalingGroupId, ids, true);
}

/**
 * The instance's node out of the cluster: drained from a control plane and its Node deleted
 * (exit 0 too when it never registered), reset so that its kubelet cannot register again, and
 * once more, in case it did before the reset.
 */
export async function leaveCluster(
  ports: AdoptPorts,
  a: AdoptArgs,
  id: string,
  status: string,
): Promise<void> {
  const node = nodeName(a, id);
  if (status !== "Running")
    throw new Error(
      `${id} is ${status}: its node ${node} cannot be drained; start the instance, or delete the Node yourself (kubectl delete node ${node}), and run again`,
    );
  const [before, after] = a.commands.scaleIn;
  const scaleIn = async () => {
    const r = await onControlPlane(
      ports,
      a,
      `${before}${id}${after}`,
      a.drainBudgetSeconds + DRAIN_MARGIN_SECONDS,
      `drain ${node}`,
    );
    if (r.exitCode !== 0) throw new Error(drainFailure(node, r.output));
  };
  await scaleIn();
  const reset = await run(
    ports,
    a,
    id,
    a.commands.reset,
    ADOPT_COMMAND_SECONDS,
    `take ${id} out of the cluster`,
  );
  if (reset.exitCode !== 0)
    throw new Error(`${id}: the reset failed (exit ${reset.exitCode}):\n${tail(reset.output)}`);
  await scaleIn();
}

export async function releaseInstances(
  ports: AdoptPorts,
  a: AdoptArgs,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const [group, members] = await Promise.all([
    ports.ess.group(a.scalingGroupId),
    ports.ess.instances(a.scalingGroupId),
  ]);
  const inGroup = ids.filter((id) => members.some((m) => m.instanceId === id));
  if (members.length - inGroup.length < group.minSize)
    throw new Error(
      `${a.configKey}.adoptInstanceIds: taking ${inGroup.length} instances out leaves ${members.length - inGroup.length}, under minSize ${group.minSize} (ESS refuses): lower ${a.configKey}.minSize in the same change`,
    );
  const views = new Map((await ports.instances.describe(ids)).map((i) => [i.instanceId, i]));
  for (const id of ids) {
    const status = views.get(id)?.status;
    if (status === undefined) {
      // Released: the cloud-controller-manager deletes a Node whose instance is gone
      // (bootstrap/scale-in-drain.sh's header cites where).
      a.log(`${id} no longer exists: nothing to drain or reset`);
      continue;
    }
    await leaveCluster(ports, a, id, status);
  }
  if (inGroup.length > 0) {
    await ports.ess.protect(a.scalingGroupId, inGroup, false);
    await whileBusy(a, "detach", () =>
      ports.ess.detach(a.scalingGroupId, inGroup, clientToken(a.scalingGroupId, "detach", ...inGroup)),
    );
  }
  for (const id of ids) {
    const i = views.get(id);
    if (!i) continue;
    if ((await ports.roles.instanceRole(id)) === a.roleName) await ports.roles.detachRole(id, a.roleName);
    if (i.securityGroupIds.includes(a.securityGroupId))
      await ports.instances.leaveSecurityGroup(id, a.securityGroupId);
  }
}
