// A control plane reads the CA keys only while it bootstraps. It boots with a bootstrap
// RAM role (BootstrapRole attaches it right after the instance exists; fetch-secrets.py
// waits up to ROLE_WAIT_SECONDS for it), and once its readiness check has passed,
// RoleHandover takes that role away again; the steady role is then attached by an
// alicloud.ecs.RamRoleAttachment that depends on the handover.
//
//   instance ─► BootstrapRole ─► (node bootstraps) ─► ReadinessCheck ─► RoleHandover ─►
// RamRoleAttachment(steady)
//
// Both are Pulumi dynamic resources; like ReadinessCheck their provider functions are
// serialized with what they call, and ecsClient loads Alibaba's SDK only when called.
import * as pulumi from "@pulumi/pulumi";
import { ecsClient, type RoleApi } from "./cloud-assistant";

export interface BootstrapRoleInputs {
  regionId: string;
  instanceId: string;
  bootstrapRoleName: string;
  steadyRoleName: string;
}

export interface BootstrapRoleOutcome {
  /** We attached the bootstrap role now. */
  readonly attached: boolean;
  /** The instance already had the steady role (it predates the handover): left alone. */
  readonly skipped: boolean;
}

/**
 * What BootstrapRole does on create: no role → attach the bootstrap role (and wait until
 * DescribeInstanceRamRole shows it); the bootstrap role already → nothing; the steady
 * role → nothing, skipped. An ECS instance holds at most one RAM role
 * (DescribeInstanceRamRoleResponseBody lists one RamRoleName per InstanceId), so any
 * other role is an error rather than something to replace.
 */
export async function ensureBootstrapRole(
  api: RoleApi,
  i: BootstrapRoleInputs,
): Promise<BootstrapRoleOutcome> {
  const role = await api.instanceRole(i.instanceId);
  if (role === undefined) {
    await api.attachRole(i.instanceId, i.bootstrapRoleName);
    return { attached: true, skipped: false };
  }
  if (role === i.bootstrapRoleName) return { attached: false, skipped: false };
  if (role === i.steadyRoleName) return { attached: false, skipped: true };
  throw new Error(
    `${i.instanceId} has RAM role ${role}, neither the bootstrap role ${i.bootstrapRoleName} nor the steady role ${i.steadyRoleName}; detach it or fix the stack`,
  );
}

export interface RoleHandoverInputs {
  regionId: string;
  instanceId: string;
  bootstrapRoleName: string;
}

/**
 * What RoleHandover does on create: the bootstrap role attached → detach it and wait until it is gone;
 * otherwise nothing.
 */
export async function handOver(api: RoleApi, i: RoleHandoverInputs): Promise<{ readonly detached: boolean }> {
  const role = await api.instanceRole(i.instanceId);
  if (role !== i.bootstrapRoleName) return { detached: false };
  await api.detachRole(i.instanceId, i.bootstrapRoleName);
  return { detached: true };
}

/** A diff that replaces only on another instance and records any other change in place. */
function diffOn<T extends object>(replaceKeys: readonly (keyof T)[], keys: readonly (keyof T)[]) {
  return async (_id: string, olds: T, news: T): Promise<pulumi.dynamic.DiffResult> => {
    const changed = keys.filter((k) => olds[k] !== news[k]);
    return {
      changes: changed.length > 0,
      replaces: changed.filter((k) => replaceKeys.includes(k)).map(String),
      deleteBeforeReplace: false,
    };
  };
}

export const bootstrapRoleProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: BootstrapRoleInputs) {
    const outcome = await ensureBootstrapRole(ecsClient(inputs.regionId), inputs);
    return { id: `${inputs.instanceId}/${inputs.bootstrapRoleName}`, outs: { ...inputs, ...outcome } };
  },
  diff: diffOn<BootstrapRoleInputs>(
    ["instanceId"],
    ["regionId", "instanceId", "bootstrapRoleName", "steadyRoleName"],
  ),
  // Another role name for the same instance: nothing to do now (the node has bootstrapped).
  async update(_id, olds: BootstrapRoleInputs & BootstrapRoleOutcome, news: BootstrapRoleInputs) {
    return { outs: { ...news, attached: olds.attached, skipped: olds.skipped } };
  },
  // Nothing: the instance goes with it, or the handover already detached the role.
  async delete() {
    return;
  },
};

export const handoverProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RoleHandoverInputs) {
    const outcome = await handOver(ecsClient(inputs.regionId), inputs);
    return { id: `${inputs.instanceId}/handover`, outs: { ...inputs, ...outcome } };
  },
  diff: diffOn<RoleHandoverInputs>(["instanceId"], ["regionId", "instanceId", "bootstrapRoleName"]),
  async update(_id, olds: RoleHandoverInputs & { detached: boolean }, news: RoleHandoverInputs) {
    return { outs: { ...news, detached: olds.detached } };
  },
  async delete() {
    return;
  },
};

export interface BootstrapRoleArgs {
  readonly regionId: pulumi.Input<string>;
  readonly instanceId: pulumi.Input<string>;
  readonly bootstrapRoleName: pulumi.Input<string>;
  readonly steadyRoleName: pulumi.Input<string>;
}

/**
 * Gives a new control plane the bootstrap role; leaves an instance that already has the steady role alone
 * (skipped).
 */
export class BootstrapRole extends pulumi.dynamic.Resource {
  declare readonly attached: pulumi.Output<boolean>;
  declare readonly skipped: pulumi.Output<boolean>;
  constructor(name: string, args: BootstrapRoleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bootstrapRoleProvider,
      name,
      { ...args, attached: undefined, skipped: undefined },
      opts,
      "kubeadm-alicloud",
      "BootstrapRole",
    );
  }
}

export interface RoleHandoverArgs {
  readonly regionId: pulumi.Input<string>;
  readonly instanceId: pulumi.Input<string>;
  readonly bootstrapRoleName: pulumi.Input<string>;
}

/** Takes the bootstrap role away once the control plane is ready (depend on its ReadinessCheck). */
export class RoleHandover extends pulumi.dynamic.Resource {
  declare readonly detached: pulumi.Output<boolean>;
  constructor(name: string, args: RoleHandoverArgs, opts?: pulumi.CustomResourceOptions) {
    super(handoverProvider, name, { ...args, detached: undefined }, opts, "kubeadm-alicloud", "RoleHandover");
  }
}
