// Helm hooks and the construct each chart is installed with (audit addons-cni 1.2, 1.3).
// helm.v4.Chart drops every resource annotated helm.sh/hook
// (node_modules/@pulumi/kubernetes/helm/v4/chart.d.ts, pulumi/pulumi-kubernetes#3284): a
// chart whose install needs its hooks must go through helm.v3.Release. The hook use of
// each chart is recorded beside its pin, read in its templates.
import { beforeAll, describe, expect, it } from "vitest";
import { cniPlan } from "../addons/cni";
import { chartConstruct, type ChartRef } from "../addons/cni/types";
import { SWITCHABLE_ADDONS } from "../addons/index";
import { API_PORT } from "../plan/kubeadm";
import type { Recorder } from "../tools/render/mock-runtime";
import { declareCluster, installMocks, specFor } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const V4 = "kubernetes:helm.sh/v4:Chart";
const V3 = "kubernetes:helm.sh/v3:Release";
const EVERYTHING = { addons: Object.fromEntries(SWITCHABLE_ADDONS.map((m) => [m.name, { enabled: true }])) };

describe("Helm hooks", () => {
  it("a chart whose install needs its hooks is never given to a construct that drops them", () => {
    expect(chartConstruct({ repo: "r", chart: "c", version: "1", hooks: "required" })).toBe(
      "helm.v3.Release",
    );
    for (const hooks of ["none", "harmless"] as const)
      expect(chartConstruct({ repo: "r", chart: "c", version: "1", hooks })).toBe("helm.v4.Chart");
  });

  it("kube-prometheus-stack (admission-webhook Secret) and Envoy Gateway (certgen) need their hooks; the others do not", () => {
    const spec = specFor(EVERYTHING);
    const refs: ChartRef[] = [
      ...SWITCHABLE_ADDONS.flatMap((m) =>
        m
          .install(
            spec,
            {
              vpcId: "v",
              vswitchIds: Object.fromEntries(spec.zones.map((z) => [z, `vsw-${z}`])),
              scalingGroupIds: { default: "asg-1" },
            },
            {},
          )
          .charts.map((c) => c.ref),
      ),
      ...(["calico", "cilium", "flannel"] as const).flatMap((name) =>
        cniPlan(
          specFor({ cni: { name }, ...(name === "cilium" ? { kubernetesVersion: "1.35.2" } : {}) }),
          API_PORT,
        ).charts.map((c) => c.ref),
      ),
    ];
    expect(
      refs
        .filter((r) => r.hooks === "required")
        .map((r) => r.chart)
        .sort(),
    ).toEqual(["gateway-helm", "kube-prometheus-stack"]);
  });

  it("under mocks, every chart is declared with the construct its hooks need", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "hk", ...EVERYTHING }));
    const charts = rs.filter((r) => r.type === V4 || r.type === V3);
    const byChart = Object.fromEntries(charts.map((r) => [String(r.inputs.chart).split("/").pop(), r.type]));
    expect(byChart["kube-prometheus-stack"]).toBe(V3);
    expect(byChart["gateway-helm"]).toBe(V3);
    expect(
      Object.entries(byChart)
        .filter(([, t]) => t === V3)
        .map(([c]) => c)
        .sort(),
    ).toEqual(["gateway-helm", "kube-prometheus-stack"]);
    expect(charts.length).toBeGreaterThanOrEqual(9);
    // A Release waits for Helm's install, hooks included, with a time limit.
    for (const r of charts.filter((c) => c.type === V3))
      expect(r.inputs).toMatchObject({ timeout: 900, skipAwait: false });
  });
});
