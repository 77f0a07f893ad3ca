// A maintained ingress: Envoy Gateway (Gateway API; ingress-nginx is retired). Chart
// oci://docker.io/envoyproxy/gateway-helm v1.9.0; its Gateways become LoadBalancer
// Services, which the cloud-controller-manager turns into CLBs.
import { chartAddon } from "./chart-addon";

// Hooks: required. templates/certgen.yaml is a pre-install/pre-upgrade Job (with hook RBAC,
// certgen-rbac.yaml) that creates the Secrets envoy-gateway and envoy, which the controller and proxies mount
// (envoy-gateway-deployment.yaml; gateway v1.9.0, the pinned release: the newest tag readable).
export const GATEWAY_CHART = {
  repo: "oci://docker.io/envoyproxy",
  chart: "gateway-helm",
  version: "v1.9.0",
  hooks: "required",
} as const;

export const gateway = chartAddon({
  name: "gateway",
  description: "Envoy Gateway: Gateway API controller, the Gateway API CRDs included",
  ref: GATEWAY_CHART,
  release: "envoy-gateway",
  // Images: docker.io/envoyproxy/gateway and envoyproxy/envoy (global.images).
  imageRegistries: () => ["docker.io"],
  namespace: "envoy-gateway-system",
  values: () => ({}),
});
