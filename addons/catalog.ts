// The compatibility catalog: every chart and manifest the cluster may install, pinned,
// with the Kubernetes minors its project says it supports, where a source says so.
// A cluster outside a recorded range is refused with the rest of the config (so a
// preview, and an upgrade to a newer minor, fails before anything is declared); an
// artefact with no recorded range is a preview warning. No range without a source.
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

/** Supported Kubernetes minors by "<name>@<version>". */
const SUPPORTED: Readonly<Record<string, SupportedRange>> = {
  // Documentation/network/kubernetes/compatibility.rst at 1.19.x: "1.32, 1.33, 1.34, 1.35"
  // are e2e tested and "guaranteed to be compatible"; newer ones are not listed. Cilium
  // 1.20 moves to a v6.1 kernel minimum (cilium/cilium#44201), which Alibaba Cloud Linux 3
  // (5.10) and Ubuntu 22.04 (5.15) do not meet: 1.19 stays.
  "cilium@1.19.6": { fromMinor: 32, toMinor: 35, source: "Cilium 1.19 compatibility.rst (e2e tested)" },
  // cert-manager's supported-releases table: 1.21 supports Kubernetes 1.33 to 1.36.
  "cert-manager@v1.21.1": { fromMinor: 33, toMinor: 36, source: "cert-manager supported releases (1.21)" },
  // Envoy Gateway's compatibility matrix: 1.9 supports Kubernetes 1.33 to 1.36.
  "gateway-helm@v1.9.2": { fromMinor: 33, toMinor: 36, source: "Envoy Gateway compatibility matrix (v1.9)" },
  // One image per minor, and only minors with a promoted release (addons/cluster-autoscaler.ts).
  [`cluster-autoscaler@${CLUSTER_AUTOSCALER_CHART.version}`]: {
    fromMinor: Math.min(...Object.keys(CLUSTER_AUTOSCALER_TAGS).map(Number)),
    toMinor: Math.max(...Object.keys(CLUSTER_AUTOSCALER_TAGS).map(Number)),
    source: "cluster-autoscaler releases promoted to registry.k8s.io, one per minor",
  },
};

export interface CatalogEntry {
  readonly artifact: Artifact;
  /** The config key that brings it in: `cni.name`, `addons.<name>.enabled`, or `kubernetesVersion` for core add-ons. */
  readonly key: string;
  readonly supported?: SupportedRange;
}

/** Everything this cluster installs, with what is known of its Kubernetes support. */
export function catalogFor(spec: ClusterSpec): CatalogEntry[] {
  const cni = cniPlan(spec, API_PORT).charts.map(({ ref }): Artifact => ({ kind: "chart", name: ref.chart, source: ref.repo, version: ref.version }));
  const addons = selectedAddons(spec).flatMap((m) => m.artifacts.map((artifact) => ({ artifact, key: m.name in spec.addons ? `addons.${m.name}.enabled` : "kubernetesVersion" })));
  return [...cni.map((artifact) => ({ artifact, key: "cni.name" })), ...addons].map((e) => {
    const supported = SUPPORTED[`${e.artifact.name}@${e.artifact.version}`];
    return supported ? { ...e, supported } : e;
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
  for (const { artifact: a, key, supported: s } of catalogFor(spec)) {
    if (!s) unknown.push(`${a.name} ${a.version}: no supported Kubernetes range recorded`);
    else if (minor < s.fromMinor || minor > s.toMinor) {
      problems.push({
        key,
        message: `${a.name} ${a.version} supports Kubernetes 1.${s.fromMinor}-1.${s.toMinor} (${s.source}), not 1.${minor}: set kubernetesVersion to a release in that range, or change ${key}`,
      });
    }
  }
  return { problems, unknown };
}
