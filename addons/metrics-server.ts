// metrics-server, verifying kubelets against the cluster CA: their serving certificates
// are CA-signed (approved on the control planes: plan/csr-approver.ts), so no
// `--kubelet-insecure-tls`. Chart 3.13.1 (metrics-server 0.8.1;
// charts/metrics-server/CHANGELOG.md, 2026-02-27) from the kubernetes-sigs chart
// repository; its values keys are unchanged since 3.13.0.
import { chartAddon } from "./chart-addon";

// Hooks: templates/tests/test-connection.yaml, a helm.sh/hook: test Job only
// (metrics-server-helm-chart-3.13.0 and 3.13.1).
export const METRICS_SERVER_CHART = {
  repo: "https://kubernetes-sigs.github.io/metrics-server/",
  chart: "metrics-server",
  version: "3.13.1",
  hooks: "harmless",
} as const;

export const metricsServer = chartAddon({
  name: "metricsServer",
  description: "metrics-server: resource metrics for kubectl top and autoscaling",
  ref: METRICS_SERVER_CHART,
  // Images: registry.k8s.io/metrics-server/metrics-server (values.yaml image.repository).
  imageRegistries: () => ["registry.k8s.io"],
  namespace: "kube-system",
  values: () => ({ replicas: 2, podDisruptionBudget: { enabled: true, minAvailable: 1 } }),
  problems(overrides) {
    const args = [overrides.args, overrides.defaultArgs].flatMap((a) =>
      Array.isArray(a) ? a.map(String) : [],
    );
    return args.some((a) => a.startsWith("--kubelet-insecure-tls"))
      ? [
          "--kubelet-insecure-tls is refused: kubelet serving certificates here are signed by the cluster CA, so metrics-server verifies them",
        ]
      : [];
  },
});
