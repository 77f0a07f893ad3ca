// node-problem-detector from Delivery Hero's chart repository: chart 2.3.14 (the newest
// release this project could confirm), with the image the chart was released with.
import { chartAddon } from "./chart-addon";

// Hooks: none (deliveryhero/helm-charts stable/node-problem-detector).
export const NPD_CHART = { repo: "https://charts.deliveryhero.io/", chart: "node-problem-detector", version: "2.3.14", hooks: "none" } as const;

export const nodeProblemDetector = chartAddon({
  name: "nodeProblemDetector",
  description: "node-problem-detector: kernel, runtime and disk problems as node conditions and events",
  ref: NPD_CHART,
  namespace: "kube-system",
  values: () => ({ tolerations: [{ operator: "Exists", effect: "NoSchedule" }] }),
});
