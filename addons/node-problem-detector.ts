// node-problem-detector from Delivery Hero's charts, which moved to an OCI registry
// (deliveryhero/helm-charts 8dc27a5, "Move chart hosting to GHCR", #612; README: helm
// install oci://ghcr.io/deliveryhero/helm-charts/<chart>). Chart 2.4.1 (Chart.yaml at
// a0b6279: appVersion v1.35.1, image registry.k8s.io/node-problem-detector/
// node-problem-detector:v1.35.1), the newest 2.x in the repository's index (2026-07-06);
// the `tolerations` value is unchanged since 2.3.14 (values.yaml:117-119).
import { chartAddon } from "./chart-addon";

// Hooks: none (deliveryhero/helm-charts stable/node-problem-detector at 17aac33).
export const NPD_CHART = {
  repo: "oci://ghcr.io/deliveryhero/helm-charts",
  chart: "node-problem-detector",
  version: "2.4.1",
  hooks: "none",
} as const;

export const nodeProblemDetector = chartAddon({
  name: "nodeProblemDetector",
  description: "node-problem-detector: kernel, runtime and disk problems as node conditions and events",
  ref: NPD_CHART,
  // Images: registry.k8s.io/node-problem-detector (values.yaml image.repository).
  imageRegistries: () => ["registry.k8s.io"],
  namespace: "kube-system",
  values: () => ({ tolerations: [{ operator: "Exists", effect: "NoSchedule" }] }),
});
