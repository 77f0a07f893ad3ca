// Every chart the cluster installs, with the Kubernetes minors its project says it
// tested, where a source says so. A cluster outside a chart's tested range is reported
// (preview warning, render summary); no range is recorded without a source.
import type { ClusterSpec } from "../config/spec";
import { API_PORT } from "../plan/kubeadm";
import { cniPlan, type ChartRef } from "./cni";

export interface TestedRange {
  readonly fromMinor: number;
  readonly toMinor: number;
  /** Where the range comes from. */
  readonly source: string;
}

/** Tested Kubernetes minors by chart name and version. */
const TESTED: Readonly<Record<string, TestedRange>> = {
  // Documentation/network/kubernetes/compatibility.rst at 1.19.x: "1.32, 1.33, 1.34, 1.35"
  // are e2e tested; newer ones "depend on the forward / backward compatibility offered by
  // Kubernetes". Cilium 1.20 moves to a v6.1 kernel minimum (cilium/cilium#44201), which
  // Alibaba Cloud Linux 3 (5.10) and Ubuntu 22.04 (5.15) do not meet: 1.19 stays.
  "cilium@1.19.6": { fromMinor: 32, toMinor: 35, source: "Cilium 1.19 compatibility.rst" },
};

export interface ChartCompatibility {
  readonly ref: ChartRef;
  readonly tested?: TestedRange;
  /** Why this cluster's version is not known to work with the chart, if it is not. */
  readonly note?: string;
}

export function chartCompatibility(spec: ClusterSpec): ChartCompatibility[] {
  const minor = Number(spec.kubernetesVersion.split(".")[1]);
  const plan = cniPlan(spec, API_PORT);
  return plan.charts.map(({ ref }) => {
    const tested = TESTED[`${ref.chart}@${ref.version}`];
    if (!tested) return { ref, note: `${ref.chart} ${ref.version}: no tested Kubernetes range recorded yet` };
    if (minor < tested.fromMinor || minor > tested.toMinor) {
      return { ref, tested, note: `${ref.chart} ${ref.version} is e2e tested on Kubernetes 1.${tested.fromMinor}-1.${tested.toMinor} (${tested.source}); 1.${minor} relies on Kubernetes' compatibility` };
    }
    return { ref, tested };
  });
}
