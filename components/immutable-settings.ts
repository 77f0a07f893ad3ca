// A guard for settings a running cluster cannot take (or takes only where what is deployed
// makes it safe: `changeableWhen`, e.g. a new control-plane system disk, which the provider
// applies by replacing the instance (ForceNew), only with 3 control planes deployed, replaced
// one at a time by the readiness chain). Pulumi consults a resource's provider `check` with
// the previous inputs before it plans anything for that resource; this one refuses a change
// there, so `pulumi preview` and `pulumi up` stop with the key named before any instance is
// touched (the instances depend on the guard).
import * as pulumi from "@pulumi/pulumi";
import type { ImmutableSetting } from "../plan/guarded-settings";

export type { ImmutableSetting } from "../plan/guarded-settings";

/**
 * What a guard records. `version` 2 and later also record where vSwitches and control
 * planes are, and the RAM name prefix; a record without it was made by an earlier
 * release, whose derived values (`legacyValue`) are what is deployed.
 */
export const GUARD_RECORD_VERSION = 2;

interface GuardInputs {
  version?: number;
  settings: Record<
    string,
    {
      value: string;
      why: string;
      mayGrow?: boolean;
      legacyValue?: string;
      changeableWhen?: readonly { key: string; atLeast: number }[];
    }
  >;
}

/**
 * Every setting whose value differs between the recorded and the new inputs, as a
 * failure. A setting the record does not hold is new: a zone or control plane added, or,
 * when an earlier release made the record, a setting it did not guard, which is then
 * compared with the value that release derived.
 */
export function changedSettings(
  olds: Partial<GuardInputs> | undefined,
  news: GuardInputs,
): { property: string; reason: string }[] {
  const before = olds?.settings ?? {};
  const byEarlierRelease = Object.keys(before).length > 0 && (olds?.version ?? 1) < GUARD_RECORD_VERSION;
  return Object.entries(news.settings).flatMap(([key, now]) => {
    const was = before[key];
    if (was === undefined) {
      if (!byEarlierRelease || now.legacyValue === undefined || now.legacyValue === now.value) return [];
      return [
        {
          property: "settings",
          reason: `${key} was ${now.legacyValue} when this stack was deployed by an earlier release of kubeadm-alicloud, and would now be ${now.value}: ${now.why}`,
        },
      ];
    }
    if (was.value === now.value) return [];
    if (now.mayGrow && Number(now.value) > Number(was.value)) return [];
    // Allowed when what is deployed makes it safe (a condition on a key the record lacks fails).
    const holds = (c: { key: string; atLeast: number }) => {
      const recorded = before[c.key]?.value;
      return recorded !== undefined && Number(recorded) >= c.atLeast;
    };
    if (now.changeableWhen && now.changeableWhen.every(holds)) return [];
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
    return {
      changes:
        olds.version !== news.version || JSON.stringify(olds.settings) !== JSON.stringify(news.settings),
    };
  },
  async update(_id, _olds: GuardInputs, news: GuardInputs) {
    return { outs: news };
  },
};

/** Refuses, at preview, any change of the given settings once they were deployed. */
export class ImmutableSettings extends pulumi.dynamic.Resource {
  constructor(name: string, settings: readonly ImmutableSetting[], opts?: pulumi.CustomResourceOptions) {
    const map = Object.fromEntries(
      settings.map((s) => [
        s.key,
        {
          value: s.value,
          why: s.why,
          ...(s.mayGrow ? { mayGrow: true } : {}),
          ...(s.legacyValue !== undefined ? { legacyValue: s.legacyValue } : {}),
          ...(s.changeableWhen ? { changeableWhen: s.changeableWhen } : {}),
        },
      ]),
    );
    super(
      provider,
      name,
      { version: GUARD_RECORD_VERSION, settings: map },
      opts,
      "kubeadm-alicloud",
      "ImmutableSettings",
    );
  }
}
