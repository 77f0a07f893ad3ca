// A guard for settings that Alibaba Cloud cannot change on a running instance: the
// provider replaces the instance instead (ForceNew), and for control planes that means
// every one of them at once, each with its etcd member and data on the system disk.
// Pulumi consults a resource's provider `check` with the previous inputs before it
// plans anything for that resource; this one refuses a change there, so `pulumi
// preview` and `pulumi up` stop with the key named before any instance is touched
// (the instances depend on the guard).
import * as pulumi from "@pulumi/pulumi";

export interface ImmutableSetting {
  /** The stack config key a user edits, e.g. `controlPlane.systemDisk.category`. */
  readonly key: string;
  readonly value: string;
  /** Why it cannot change in place, and what to do instead. */
  readonly why: string;
  /** A number that may grow but never shrink (e.g. a count of control planes). */
  readonly mayGrow?: boolean;
}

interface GuardInputs {
  settings: Record<string, { value: string; why: string; mayGrow?: boolean }>;
}

/** Every setting whose value differs between the recorded and the new inputs, as a failure. */
export function changedSettings(olds: Partial<GuardInputs> | undefined, news: GuardInputs): { property: string; reason: string }[] {
  const before = olds?.settings ?? {};
  return Object.entries(news.settings).flatMap(([key, now]) => {
    const was = before[key];
    if (was === undefined || was.value === now.value) return [];
    if (now.mayGrow && Number(now.value) > Number(was.value)) return [];
    return [{ property: "settings", reason: `${key} changed from ${was.value} to ${now.value}: ${now.why}` }];
  });
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<GuardInputs>, news: GuardInputs) {
    // A first creation has no recorded inputs: nothing to compare.
    const failures = olds && Object.keys(olds).length > 0 ? changedSettings(olds, news) : [];
    return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
  },
  async create(inputs: GuardInputs) {
    return { id: "immutable-settings", outs: inputs };
  },
  async diff(_id, olds: GuardInputs, news: GuardInputs) {
    return { changes: JSON.stringify(olds.settings) !== JSON.stringify(news.settings) };
  },
  async update(_id, _olds: GuardInputs, news: GuardInputs) {
    return { outs: news };
  },
};

/** Refuses, at preview, any change of the given settings once they were deployed. */
export class ImmutableSettings extends pulumi.dynamic.Resource {
  constructor(name: string, settings: readonly ImmutableSetting[], opts?: pulumi.CustomResourceOptions) {
    const map = Object.fromEntries(settings.map((s) => [s.key, { value: s.value, why: s.why, ...(s.mayGrow ? { mayGrow: true } : {}) }]));
    super(provider, name, { settings: map }, opts, "kubeadm-alicloud", "ImmutableSettings");
  }
}
