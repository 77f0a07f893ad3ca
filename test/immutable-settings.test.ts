// The guard that refuses, at preview, a change Alibaba Cloud can only make by replacing
// every control plane (ForceNew in the provider). Pulumi's dynamic provider host passes
// the recorded inputs as `olds` to check() and reports its failures before any step
// (@pulumi/pulumi cmd/dynamic-provider/index.js, check: provider.check(olds, news)).
import { describe, expect, it } from "vitest";
import { changedSettings, provider } from "../components/immutable-settings";

const setting = (value: string) => ({ settings: { "controlPlane.systemDisk.category": { value, why: "it would replace every control plane at once" } } });

describe("ImmutableSettings", () => {
  it("refuses a changed value, naming the key, the old and new value and why", () => {
    expect(changedSettings(setting("cloud_essd"), setting("cloud_ssd"))).toEqual([
      { property: "settings", reason: "controlPlane.systemDisk.category changed from cloud_essd to cloud_ssd: it would replace every control plane at once" },
    ]);
  });

  it("accepts the first deployment, an unchanged value, and a setting it did not guard before", () => {
    expect(changedSettings(undefined, setting("cloud_essd"))).toEqual([]);
    expect(changedSettings(setting("cloud_essd"), setting("cloud_essd"))).toEqual([]);
    expect(changedSettings({ settings: {} }, setting("cloud_essd"))).toEqual([]);
  });

  it("a setting that may only grow refuses a smaller value and lets a larger one through", () => {
    const count = (value: string) => ({ settings: { "controlPlane.count": { value, why: "removing control planes would remove several etcd members at once", mayGrow: true } } });
    expect(changedSettings(count("3"), count("5"))).toEqual([]);
    expect(changedSettings(count("3"), count("1"))).toEqual([
      { property: "settings", reason: "controlPlane.count changed from 3 to 1: removing control planes would remove several etcd members at once" },
    ]);
  });

  it("the provider's check turns a change into failures and lets a first creation through", async () => {
    const check = provider.check?.bind(provider);
    if (!check) throw new Error("the guard's provider has no check");
    expect((await check(setting("cloud_essd"), setting("cloud_auto"))).failures).toHaveLength(1);
    expect((await check({}, setting("cloud_auto"))).failures).toBeUndefined();
  });
});
