// cert-manager v1.21.1 from Jetstack's chart repository, CRDs installed (and kept on
// uninstall) by the chart. Its values are checked against the chart's own
// values.schema.json (test/schemas/cert-manager-v1.21.1, from tag v1.21.1) in the tests.
import { chartAddon } from "./chart-addon";

// Hooks: only the startupapicheck Job and its RBAC, annotated from values.yaml (helm.sh/hook: post-install);
// controller, webhook and cainjector do not need them (cert-manager v1.21.1).
export const CERT_MANAGER_CHART = {
  repo: "https://charts.jetstack.io",
  chart: "cert-manager",
  version: "v1.21.1",
  hooks: "harmless",
} as const;

export const certManager = chartAddon({
  name: "certManager",
  description: "cert-manager: certificates for workloads (issuers are the user's)",
  ref: CERT_MANAGER_CHART,
  // Images: quay.io/jetstack/* (values.yaml image.repository of each component).
  imageRegistries: () => ["quay.io"],
  namespace: "cert-manager",
  values: () => ({
    crds: { enabled: true, keep: true },
    replicaCount: 2,
    podDisruptionBudget: { enabled: true },
  }),
});
