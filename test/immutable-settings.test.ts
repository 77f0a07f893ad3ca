// The guard that refuses, at preview, a change Alibaba Cloud can only make by replacing
// every control plane (ForceNew in the provider). Pulumi's dynamic provider host passes
// the recorded inputs as `olds` to check() and reports its failures before any step
// (@pulumi/pulumi cmd/dynamic-provider/index.js, check: provider.check(olds, news)).
import { describe, expect, it } from "vitest";
import { GUARD_RECORD_VERSION, changedSettings, provider } from "../components/immutable-settings";
import { guardedSettings } from "../plan/guarded-settings";
import { specFor } from "./kit";

const setting = (value: string) => ({
  settings: {
    "controlPlane.systemDisk.category": { value, why: "it would replace every control plane at once" },
  },
});

describe("ImmutableSettings", () => {
  it("refuses a changed value, naming the key, the old and new value and why", () => {
    expect(changedSettings(setting("cloud_essd"), setting("cloud_ssd"))).toEqual([
      {
        property: "settings",
        reason:
          "controlPlane.systemDisk.category changed from cloud_essd to cloud_ssd: it would replace every control plane at once",
      },
    ]);
  });

  it("accepts the first deployment, an unchanged value, and a setting it did not guard before", () => {
    expect(changedSettings(undefined, setting("cloud_essd"))).toEqual([]);
    expect(changedSettings(setting("cloud_essd"), setting("cloud_essd"))).toEqual([]);
    expect(changedSettings({ settings: {} }, setting("cloud_essd"))).toEqual([]);
  });

  it("a setting that may only grow refuses a smaller value and lets a larger one through", () => {
    const count = (value: string) => ({
      settings: {
        "controlPlane.count": {
          value,
          why: "removing control planes would remove several etcd members at once",
          mayGrow: true,
        },
      },
    });
    expect(changedSettings(count("3"), count("5"))).toEqual([]);
    expect(changedSettings(count("3"), count("1"))).toEqual([
      {
        property: "settings",
        reason:
          "controlPlane.count changed from 3 to 1: removing control planes would remove several etcd members at once",
      },
    ]);
  });

  it("the provider's check turns a change into failures and lets a first creation through", async () => {
    const check = provider.check?.bind(provider);
    if (!check) throw new Error("the guard's provider has no check");
    expect((await check(setting("cloud_essd"), setting("cloud_auto"))).failures).toHaveLength(1);
    expect((await check({}, setting("cloud_auto"))).failures).toBeUndefined();
  });
});

// Stacks deployed before zones were keyed by name (vSwitch CIDRs carved in list order,
// control planes round robin in list order) and before RAM names carried the region.
describe("the guard and the zone-keyed layout", () => {
  const ZONES = ["cn-hangzhou-j", "cn-hangzhou-h", "cn-hangzhou-i"];
  const config = (extra: Record<string, unknown> = {}) =>
    specFor({ clusterName: "old", zones: ZONES, controlPlane: { count: 3 }, ...extra }, "staging");
  const inputs = (spec: ReturnType<typeof specFor>) => ({
    version: GUARD_RECORD_VERSION,
    settings: Object.fromEntries(
      guardedSettings(spec).map((s) => [
        s.key,
        {
          value: s.value,
          why: s.why,
          ...(s.legacyValue !== undefined ? { legacyValue: s.legacyValue } : {}),
        },
      ]),
    ),
  });
  // What a stop-9 guard recorded: the two settings it knew.
  const recordedByEarlierRelease = {
    settings: {
      "controlPlane.systemDisk.category": { value: "cloud_essd", why: "" },
      "controlPlane.count": { value: "3", why: "", mayGrow: true },
    },
  };

  it("a stack deployed by an earlier release is refused, and told the exact config that keeps its vSwitches, control planes and roles", () => {
    const reasons = changedSettings(recordedByEarlierRelease, inputs(config())).map((f) => f.reason);
    // list order gave j 10.0.0.0/20, h 10.0.16.0/20, i 10.0.32.0/20; cp-0 in j at .10.
    expect(reasons).toContain(
      "network.vswitches.cn-hangzhou-j was 10.0.0.0/20 when this stack was deployed by an earlier release of kubeadm-alicloud, and would now be 10.0.144.0/20: " +
        guardedSettings(config()).find((s) => s.key === "network.vswitches.cn-hangzhou-j")?.why,
    );
    expect(reasons.join("\n")).toContain(
      "network.vswitches: { cn-hangzhou-j: 10.0.0.0/20, cn-hangzhou-h: 10.0.16.0/20, cn-hangzhou-i: 10.0.32.0/20 }",
    );
    expect(reasons.join("\n")).toContain("controlPlane.zones[0] was cn-hangzhou-j 10.0.0.10");
    expect(reasons.join("\n")).toContain(
      "controlPlane.zones: [cn-hangzhou-j, cn-hangzhou-h, cn-hangzhou-i], network.controlPlaneVswitches: shared",
    );
    expect(reasons.join("\n")).toContain("ram.namePrefix was old when this stack was deployed");
    // Following the advice is accepted: nothing moves.
    const pinned = config({
      network: {
        controlPlaneVswitches: "shared",
        vswitches: {
          "cn-hangzhou-j": "10.0.0.0/20",
          "cn-hangzhou-h": "10.0.16.0/20",
          "cn-hangzhou-i": "10.0.32.0/20",
        },
      },
      controlPlane: { count: 3, zones: ["cn-hangzhou-j", "cn-hangzhou-h", "cn-hangzhou-i"] },
      ram: { namePrefix: "old" },
    });
    expect(changedSettings(recordedByEarlierRelease, inputs(pinned))).toEqual([]);
  });

  it("a new stack records the layout, and a later edit that would move a control plane is refused", () => {
    const deployed = inputs(config());
    expect(changedSettings(undefined, deployed)).toEqual([]);
    expect(changedSettings(deployed, inputs(config()))).toEqual([]);
    // A zone that sorts before the others takes cp-0's place in name order.
    const moved = changedSettings(deployed, inputs(config({ zones: [...ZONES, "cn-hangzhou-g"] }))).map(
      (f) => f.reason,
    );
    expect(
      moved.some((r) =>
        r.startsWith(
          "controlPlane.zones[0] changed from cn-hangzhou-h 10.0.255.116 to cn-hangzhou-g 10.0.255.100",
        ),
      ),
    ).toBe(true);
    // Pinned to where they are, the same edit is accepted.
    const pinned = config({
      zones: [...ZONES, "cn-hangzhou-g"],
      controlPlane: { count: 3, zones: ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"] },
    });
    expect(changedSettings(deployed, inputs(pinned))).toEqual([]);
  });

  it("a changed RAM name prefix is refused once deployed", () => {
    const reasons = changedSettings(inputs(config()), inputs(config({ ram: { namePrefix: "other" } }))).map(
      (f) => f.reason,
    );
    expect(reasons).toEqual([
      expect.stringMatching(
        /^ram\.namePrefix changed from old-cn-hangzhou to other: RAM role names cannot change/,
      ),
    ]);
  });
});

describe("the guard and Kubernetes versions", () => {
  const at = (kubernetesVersion: string) => {
    const spec = specFor({ clusterName: "kv", kubernetesVersion });
    return {
      version: GUARD_RECORD_VERSION,
      settings: Object.fromEntries(guardedSettings(spec).map((s) => [s.key, { value: s.value, why: s.why }])),
    };
  };

  it("leaves versions to the staged rollout: a new minor passes the guard, even where an earlier release recorded the minor", () => {
    // The rollout (components/rollout/resources.ts) upgrades running control planes and
    // judges the step against the version it last confirmed (test/rollout-resources.test.ts).
    expect(changedSettings(at("1.35.2"), at("1.36.5"))).toEqual([]);
    const recorded = {
      version: GUARD_RECORD_VERSION,
      settings: {
        ...at("1.35.2").settings,
        "kubernetesVersion (minor)": { value: "1.35", why: "earlier release" },
      },
    };
    expect(changedSettings(recorded, at("1.36.5"))).toEqual([]);
  });
});

describe("the guard and what a running cluster is built around", () => {
  const record = (overrides: Parameters<typeof specFor>[0]) => ({
    version: GUARD_RECORD_VERSION,
    settings: Object.fromEntries(
      guardedSettings(specFor({ clusterName: "cs", ...overrides })).map((s) => [
        s.key,
        { value: s.value, why: s.why },
      ]),
    ),
  });

  it("refuses a new pod or service CIDR, DNS domain, API endpoint name or encryption at rest, each by its key", () => {
    const deployed = record({});
    const changed = record({
      network: { podCidr: "10.96.0.0/13", serviceCidr: "172.20.0.0/16", dnsDomain: "other.local" },
      apiEndpoint: { public: false, allowedCidrs: [], dnsName: "api.other.example.internal" },
      apiServer: { encryptionAtRest: { enabled: false, reason: "a test of the guard" } },
    });
    const keys = changedSettings(deployed, changed).map((f) => f.reason.split(" ")[0]);
    expect(keys).toEqual([
      "network.podCidr",
      "network.serviceCidr",
      "network.dnsDomain",
      "apiEndpoint.dnsName",
      "apiServer.encryptionAtRest.enabled",
    ]);
    // What may change on running control planes is not refused: the audit log's settings and
    // a public endpoint (its address goes into the API certificate by the settings change).
    const tuned = record({
      apiEndpoint: { public: true, allowedCidrs: ["203.0.113.0/24"] },
      apiServer: { audit: { enabled: true, maxAgeDays: 7, maxBackups: 3, maxSizeMb: 50 } },
    });
    expect(changedSettings(deployed, tuned)).toEqual([]);
  });

  it("a record made before these keys were guarded takes today's value as deployed", () => {
    const deployed = record({});
    const legacy = {
      version: GUARD_RECORD_VERSION,
      settings: Object.fromEntries(
        Object.entries(deployed.settings).filter(
          ([k]) => !k.startsWith("network.") || k.startsWith("network.vswitches"),
        ),
      ),
    };
    expect(changedSettings(legacy, record({ network: { dnsDomain: "other.local" } }))).toEqual([]);
  });
});

describe("the guard and settings that replace control planes one at a time", () => {
  const record = (controlPlane: Record<string, unknown>, stack = "prod") => ({
    version: GUARD_RECORD_VERSION,
    settings: Object.fromEntries(
      guardedSettings(specFor({ clusterName: "rp", controlPlane }, stack)).map((s) => [
        s.key,
        { value: s.value, why: s.why, ...(s.changeableWhen ? { changeableWhen: s.changeableWhen } : {}) },
      ]),
    ),
  });
  const disk = (category: string) => ({ category, sizeGb: 100 });

  it("a new system disk category passes with 3 control planes deployed, and is refused with 1", () => {
    const three = record({ count: 3, systemDisk: disk("cloud_essd") });
    expect(changedSettings(three, record({ count: 3, systemDisk: disk("cloud_ssd") }))).toEqual([]);
    const one = record({ count: 1, systemDisk: disk("cloud_essd") }, "dev");
    const refused = changedSettings(one, record({ count: 1, systemDisk: disk("cloud_ssd") }, "dev"));
    expect(refused.map((f) => f.reason)).toEqual([
      expect.stringMatching(
        /^controlPlane\.systemDisk\.category changed from cloud_essd to cloud_ssd: .* only with at least 3 of them deployed/,
      ),
    ]);
    // Growing to 3 in the same run does not count: the DEPLOYED count decides.
    expect(
      changedSettings(one, record({ count: 3, systemDisk: disk("cloud_ssd") }, "dev")).map(
        (f) => f.reason.split(" ")[0],
      ),
    ).toContain("controlPlane.systemDisk.category");
  });

  it("a new control-plane image: a pinned one passes with 3 deployed; an unpinned OS change, unpinning, or 1 control plane is refused instead of ignored", () => {
    const pinned = (id: string) => ({ os: "ubuntu-24.04", id });
    const three = record({ count: 3, image: pinned("m-1") });
    expect(changedSettings(three, record({ count: 3, image: pinned("m-2") }))).toEqual([]);
    const reasons = (before: Record<string, unknown>, after: Record<string, unknown>, stack = "prod") =>
      changedSettings(record(before, stack), record(after, stack)).map((f) => f.reason);
    // Unpinned: the newest public image moves by itself and is never rolled onto running
    // control planes (components/control-plane.ts ignores it), so an OS change would do nothing.
    expect(
      reasons({ count: 3, image: { os: "ubuntu-22.04" } }, { count: 3, image: { os: "ubuntu-24.04" } }),
    ).toEqual([
      expect.stringMatching(
        /^controlPlane\.image changed from the newest public ubuntu-22\.04 image to the newest public ubuntu-24\.04 image: .*pin controlPlane\.image\.id/,
      ),
    ]);
    expect(
      reasons({ count: 3, image: pinned("m-1") }, { count: 3, image: { os: "ubuntu-24.04" } }),
    ).toHaveLength(1);
    expect(reasons({ count: 1, image: pinned("m-1") }, { count: 1, image: pinned("m-2") }, "dev")).toEqual([
      expect.stringMatching(
        /^controlPlane\.image changed from m-1 to m-2: .* only with at least 3 of them deployed/,
      ),
    ]);
    // The newest public image itself moving is no change of the setting.
    expect(reasons({ count: 3 }, { count: 3 })).toEqual([]);
  });
});
