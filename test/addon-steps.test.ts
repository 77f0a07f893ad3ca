// The add-ons' installation is a plain list computed in addons/steps.ts (issue:
// architecture, items 3 and 5); the Addons component declares it as it is. These tests
// hold the order and the waits the component used to decide itself.
import { describe, expect, it } from "vitest";
import { addonSteps, CNI, type AddonStep } from "../addons/steps";
import { specFor } from "./kit";

const PREFIX = "tw-addons";
const prod = specFor(
  {
    clusterName: "tw",
    addons: { monitoring: { enabled: true }, certManager: { enabled: true }, gateway: { enabled: true } },
  },
  "prod",
);
const waits = (s: AddonStep): readonly string[] => ("after" in s ? s.after : []);
const refs = (s: AddonStep): string[] => [
  ...waits(s).filter((a) => a !== CNI),
  ...("user" in s ? [s.user] : []),
  ...("policy" in s ? [s.policy] : []),
  ...("accessKey" in s ? [s.accessKey] : []),
];

describe("add-on steps", () => {
  const steps = addonSteps(prod, PREFIX);

  it("name every resource once, and refer only to steps declared before them", () => {
    const names = steps.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [i, s] of steps.entries()) {
      for (const r of refs(s)) expect(names.slice(0, i), `${s.name} refers to ${r}`).toContain(r);
    }
  });

  it("install the cloud-controller-manager first, waiting for nothing; the next add-on waits for it and the CNI", () => {
    const inCluster = steps.filter((s) => "after" in s);
    const first = inCluster[0] as AddonStep;
    expect(first.addon).toBe("cloudControllerManager");
    expect(waits(first)).toEqual([]);
    const ccmLast = inCluster.filter((s) => s.addon === "cloudControllerManager").at(-1) as AddonStep;
    const next = inCluster.find((s) => s.addon !== "cloudControllerManager") as AddonStep;
    expect(next.addon).toBe("csiDisk");
    expect([...waits(next)].sort()).toEqual([CNI, ccmLast.name].sort());
  });

  it("chain every later in-cluster step to the one before it: one add-on at a time", () => {
    const inCluster = steps.filter((s) => "after" in s);
    const ccm = inCluster.filter((s) => s.addon === "cloudControllerManager").length;
    for (let i = ccm + 1; i < inCluster.length; i++) {
      expect(waits(inCluster[i] as AddonStep)).toEqual([(inCluster[i - 1] as AddonStep).name]);
    }
  });

  it("give a dedicated-user add-on its user, key, credentials before its chart, and the user's policy", () => {
    const ca = steps.filter((s) => s.addon === "clusterAutoscaler").map((s) => s.kind);
    expect(ca).toEqual(["ram-user", "access-key", "credentials", "chart", "ram-policy", "ram-user-policy"]);
    const ccm = steps.filter((s) => s.addon === "cloudControllerManager").map((s) => s.kind);
    expect(ccm).toEqual(["manifest", "ram-policy", "ram-role-policy"]);
  });

  it("keep an add-on's content secret only when the stack encrypts its overrides and it has some", () => {
    const secretOf = (s: ReturnType<typeof specFor>, addon: string) =>
      addonSteps(s, PREFIX)
        .filter((x) => x.addon === addon && (x.kind === "chart" || x.kind === "manifest"))
        .map((x) => ("secret" in x ? x.secret : undefined));
    const overrides = {
      clusterName: "tw",
      addons: { monitoring: { enabled: true, values: { grafana: { adminPassword: "x" } } } },
    };
    expect(secretOf(specFor(overrides, "prod"), "monitoring")).toEqual([false]);
    const encrypted = { ...specFor(overrides, "prod"), secretConfigKeys: ["addons"] };
    expect(secretOf(encrypted, "monitoring")).toEqual([true]);
    expect(secretOf(encrypted, "metricsServer")).toEqual([false]);
  });
});
