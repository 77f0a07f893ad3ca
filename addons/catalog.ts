// The compatibility catalog: every chart and manifest the cluster may install, pinned,
// with the Kubernetes minors its project says it supports. A cluster outside a recorded
// range is refused with the rest of the config (so a preview, and an upgrade to a newer
// minor, fails before anything is declared). Every artefact is accounted for: a range
// with its source, or the reason none is recorded (then a preview warning says so). No
// range without a source.
import type { ClusterSpec } from "../config/spec";
import { API_PORT } from "../plan/kubeadm";
import { CLUSTER_AUTOSCALER_CHART, CLUSTER_AUTOSCALER_TAGS } from "./cluster-autoscaler";
import { cniPlan } from "./cni";
import { selectedAddons } from "./index";
import type { Artifact } from "./types";

export interface SupportedRange {
  readonly fromMinor: number;
  readonly toMinor: number;
  /** Where the range comes from. */
  readonly source: string;
}

/** Why an artefact has no recorded range. */
export interface NoRange {
  readonly none: string;
}

/** Supported Kubernetes minors, or why none is recorded, by "<name>@<version>". */
export const SUPPORTED: Readonly<Record<string, SupportedRange | NoRange>> = {
  // Tigera's versioned system requirements: Calico 3.32 is tested on Kubernetes 1.34 to
  // 1.36 (3.33 on 1.35 to 1.37). Both charts are one release.
  "crd.projectcalico.org.v1@v3.32.1": {
    fromMinor: 34,
    toMinor: 36,
    source: "Calico 3.32 system requirements (tested Kubernetes versions)",
  },
  "tigera-operator@v3.32.1": {
    fromMinor: 34,
    toMinor: 36,
    source: "Calico 3.32 system requirements (tested Kubernetes versions)",
  },
  "flannel@v0.28.9": { none: "Flannel publishes no Kubernetes support matrix" },
  // Documentation/network/kubernetes/compatibility.rst at 1.19.x: "1.32, 1.33, 1.34, 1.35"
  // are e2e tested and "guaranteed to be compatible"; newer ones are not listed. Cilium
  // 1.20 moves to a v6.1 kernel minimum (cilium/cilium#44201), which Alibaba Cloud Linux 3
  // (5.10) and Ubuntu 22.04 (5.15) do not meet: 1.19 stays.
  "cilium@1.19.6": { fromMinor: 32, toMinor: 35, source: "Cilium 1.19 compatibility.rst (e2e tested)" },
  // cert-manager's supported-releases table: 1.21 supports Kubernetes 1.33 to 1.36.
  "cert-manager@v1.21.1": { fromMinor: 33, toMinor: 36, source: "cert-manager supported releases (1.21)" },
  // Envoy Gateway's compatibility matrix: 1.9 supports Kubernetes 1.33 to 1.36.
  "gateway-helm@v1.9.0": { fromMinor: 33, toMinor: 36, source: "Envoy Gateway compatibility matrix (v1.9)" },
  // One image per minor, and only minors with a promoted release (addons/cluster-autoscaler.ts).
  [`cluster-autoscaler@${CLUSTER_AUTOSCALER_CHART.version}`]: {
    fromMinor: Math.min(...Object.keys(CLUSTER_AUTOSCALER_TAGS).map(Number)),
    toMinor: Math.max(...Object.keys(CLUSTER_AUTOSCALER_TAGS).map(Number)),
    source: "cluster-autoscaler releases promoted to registry.k8s.io, one per minor",
  },
  "cloud-controller-manager@v2.14.0": {
    none: "Alibaba's cloud-controller-manager release notes state no Kubernetes range",
  },
  "alibaba-cloud-csi-driver@1.36.2": {
    none: "the driver's README states only a minimum (Kubernetes 1.26 or newer), no range per release",
  },
  // README.md "Compatibility Matrix" at metrics-server-helm-chart-3.13.1: 0.8.x supports 1.31+.
  "metrics-server@3.13.1": {
    none: "its README gives 0.8.x only a minimum (Kubernetes 1.31+), no upper bound",
  },
  "node-problem-detector@2.4.1": { none: "the chart publishes no Kubernetes range" },
  "kube-prometheus-stack@88.5.3": { none: "the chart states only a minimum kubeVersion, no range" },
};

export interface CatalogEntry {
  readonly artifact: Artifact;
  /**
   * The config key that brings it in: `cni.name`, `addons.<name>.enabled`, or `kubernetesVersion` for core
   * add-ons.
   */
  readonly key: string;
  readonly supported?: SupportedRange;
  /** Why no range is recorded, when none is. */
  readonly noRange?: string;
}

/** Everything this cluster installs, with what is known of its Kubernetes support. */
export function catalogFor(spec: ClusterSpec): CatalogEntry[] {
  const cni = cniPlan(spec, API_PORT).charts.map(({ ref }): Artifact => ({
    kind: "chart",
    name: ref.chart,
    source: ref.repo,
    version: ref.version,
  }));
  const addons = selectedAddons(spec).flatMap((m) =>
    m.artifacts.map((artifact) => ({
      artifact,
      key: m.name in spec.addons ? `addons.${m.name}.enabled` : "kubernetesVersion",
    })),
  );
  return [...cni.map((artifact) => ({ artifact, key: "cni.name" })), ...addons].map((e) => {
    const known = SUPPORTED[`${e.artifact.name}@${e.artifact.version}`];
    if (!known)
      throw new Error(
        `${e.artifact.name} ${e.artifact.version} is missing from the compatibility catalog: record its supported range or why there is none`,
      );
    return "none" in known ? { ...e, noRange: known.none } : { ...e, supported: known };
  });
}

export interface Compatibility {
  /** Known not to support this cluster's minor: refused. */
  readonly problems: { readonly key: string; readonly message: string }[];
  /** No recorded range: said in previews and in the render. */
  readonly unknown: string[];
}

export function compatibility(spec: ClusterSpec): Compatibility {
  const minor = Number(spec.kubernetesVersion.split(".")[1]);
  const problems: Compatibility["problems"] = [];
  const unknown: string[] = [];
  for (const { artifact: a, key, supported: s, noRange } of catalogFor(spec)) {
    if (!s)
      unknown.push(
        `${a.name} ${a.version}: no supported Kubernetes range recorded (${noRange ?? "unknown"})`,
      );
    else if (minor < s.fromMinor || minor > s.toMinor) {
      problems.push({
        key,
        message: `${a.name} ${a.version} supports Kubernetes 1.${s.fromMinor}-1.${s.toMinor} (${s.source}), not 1.${minor}: set kubernetesVersion to a release in that range, or change ${key}`,
      });
    }
  }
  return { problems, unknown };
}
