// kube-prometheus-stack 88.5.3 (prometheus-community). kubeadm binds the scheduler's,
// the controller-manager's and etcd's metrics to 127.0.0.1 and kube-proxy's too, so the
// chart's scrapes of them would only ever report targets down: they are off (turn them
// on in values after exposing those endpoints). node-exporter needs the host's
// namespaces: its namespace allows privileged pods.
import { chartAddon } from "./chart-addon";

// Hooks: required. Only the pre-install Job
// templates/prometheus-operator/admission-webhooks/job-patch/job-createSecret.yaml creates the Secret
// <fullname>-admission that the operator mounts while prometheusOperator.tls.enabled (the default)
// (kube-prometheus-stack-88.5.3, the pinned release: the newest tag readable).
export const MONITORING_CHART = {
  repo: "https://prometheus-community.github.io/helm-charts",
  chart: "kube-prometheus-stack",
  version: "88.5.3",
  hooks: "required",
} as const;

export const monitoring = chartAddon({
  name: "monitoring",
  description: "kube-prometheus-stack: Prometheus, Alertmanager, Grafana, node-exporter, kube-state-metrics",
  ref: MONITORING_CHART,
  // Images: quay.io (operator, Prometheus, Alertmanager, sidecars), docker.io (Grafana), registry.k8s.io
  // (kube-state-metrics), ghcr.io (kube-webhook-certgen).
  imageRegistries: () => ["quay.io", "docker.io", "registry.k8s.io", "ghcr.io"],
  namespace: "monitoring",
  namespaceLabels: { "pod-security.kubernetes.io/enforce": "privileged" },
  // node-exporter runs on the host network on 9100 (the chart's
  // charts/prometheus-node-exporter values.yaml: hostNetwork: true, service.port: 9100),
  // and Prometheus scrapes every node's host address: the security groups, which drop
  // traffic between nodes by default, must let it through (audit addons-cni 2.4).
  nodeTraffic: [
    {
      protocol: "tcp",
      ports: [9100, 9100],
      purpose: "node-exporter metrics, scraped by Prometheus (monitoring add-on)",
    },
  ],
  values: () => ({
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: false },
  }),
});
