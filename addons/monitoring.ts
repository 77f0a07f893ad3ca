// kube-prometheus-stack 91.5.0 (prometheus-community). kubeadm binds the scheduler's,
// the controller-manager's and etcd's metrics to 127.0.0.1 and kube-proxy's too, so the
// chart's scrapes of them would only ever report targets down: they are off (turn them
// on in values after exposing those endpoints). node-exporter needs the host's
// namespaces: its namespace allows privileged pods.
import { chartAddon } from "./chart-addon";

export const MONITORING_CHART = { repo: "https://prometheus-community.github.io/helm-charts", chart: "kube-prometheus-stack", version: "91.5.0" } as const;

export const monitoring = chartAddon({
  name: "monitoring",
  description: "kube-prometheus-stack: Prometheus, Alertmanager, Grafana, node-exporter, kube-state-metrics",
  ref: MONITORING_CHART,
  namespace: "monitoring",
  namespaceLabels: { "pod-security.kubernetes.io/enforce": "privileged" },
  values: () => ({ kubeControllerManager: { enabled: false }, kubeScheduler: { enabled: false }, kubeEtcd: { enabled: false }, kubeProxy: { enabled: false } }),
});
