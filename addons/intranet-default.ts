// LoadBalancer Services get an intranet CLB unless they ask for an internet one (audit
// addons-cni 3.7). At cloud-provider-alibaba-cloud v2.14.0 a Service without the
// address-type annotation gets an internet CLB: `DefaultValue` in
// pkg/controller/service/reconcile/annotation/annotations.go:137. So a
// MutatingAdmissionPolicy adds `address-type: intranet` to each new Service the CLB
// controller will serve and that does not say its address type itself.
//
// Which Services, as the CCM decides them (v2.14.0):
// - the CLB controller serves type LoadBalancer with no `spec.loadBalancerClass`, no
//   `service.beta.kubernetes.io/class` annotation, no loadbalancer-type or tunnel-type
//   annotation (pkg/controller/helper/service_utils.go NeedCLB);
// - annotations are read under the `service.beta.kubernetes.io/alibaba-cloud-` prefix and
//   then the legacy `service.beta.kubernetes.io/alicloud-` one (annotations.go Get), so
//   either spelling counts as asking;
// - a Service reusing a CLB it names (`loadbalancer-id`) is left alone: that CLB's address
//   type is fixed, and the CCM refuses a Service whose address type differs from its CLB's
//   ("can not change LoadBalancer AddressType once created", clbv1/loadbalancer.go:136-139).
// CREATE only, for the same reason: annotating an existing Service whose CLB is internet
// would make every later reconcile of it fail.
//
// MutatingAdmissionPolicy is GA and on by default from Kubernetes 1.36 and served as
// admissionregistration.k8s.io/v1 (kubernetes/apiserver v0.36.0 pkg/features/kube_features.go,
// `{Version: 1.36, Default: true, PreRelease: GA}`; admission/plugin/policy/mutating/plugin.go
// watches the v1 types; kubernetes/api v0.36.0 admissionregistration/v1/types.go). Before 1.36
// it is beta and off (1.34, 1.35) or alpha (1.33): those clusters get no policy, and a
// Service must carry the annotation itself (with disablePublicSLB an unannotated one is refused).
import type { ManifestObject } from "./types";

const PREFIXES = ["service.beta.kubernetes.io/alibaba-cloud-", "service.beta.kubernetes.io/alicloud-"];
export const ADDRESS_TYPE_ANNOTATION = `${PREFIXES[0]}loadbalancer-address-type`;
export const INTRANET_POLICY_NAME = "kubeadm-alicloud-intranet-load-balancers";
/** The first minor whose API server serves and enforces admissionregistration.k8s.io/v1 MAPs. */
export const INTRANET_POLICY_MIN_MINOR = 36;

const ANNOTATIONS = "object.metadata.annotations";

/** CEL: the Service carries one of these annotation keys (a Service may have no annotations). */
function hasAnyAnnotation(keys: readonly string[]): string {
  return `(has(${ANNOTATIONS}) && (${keys.map((k) => `'${k}' in ${ANNOTATIONS}`).join(" || ")}))`;
}

/** Both spellings the CCM reads for one of its load-balancer annotations. */
function bothPrefixes(suffix: string): string[] {
  return PREFIXES.map((p) => `${p}${suffix}`);
}

/** The admission conditions, by name; every one must hold for the policy to act. */
export const INTRANET_MATCH_CONDITIONS: readonly { name: string; expression: string }[] = [
  { name: "load-balancer", expression: "object.spec.type == 'LoadBalancer'" },
  {
    name: "served-by-the-clb-controller",
    expression:
      "!has(object.spec.loadBalancerClass) && !" +
      hasAnyAnnotation([
        "service.beta.kubernetes.io/class",
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-type",
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-tunnel-type",
      ]),
  },
  {
    name: "address-type-and-clb-unset",
    expression:
      "!" +
      hasAnyAnnotation([...bothPrefixes("loadbalancer-address-type"), ...bothPrefixes("loadbalancer-id")]),
  },
];

/** The mutation: server-side apply of the one annotation (annotations merge per key). */
export const INTRANET_MUTATION = `Object{metadata: Object.metadata{annotations: {'${ADDRESS_TYPE_ANNOTATION}': 'intranet'}}}`;

/** The policy and its binding, or nothing where the cluster's minor cannot run it. */
export function intranetDefaultObjects(kubernetesMinor: number): ManifestObject[] {
  if (kubernetesMinor < INTRANET_POLICY_MIN_MINOR) return [];
  const policy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingAdmissionPolicy",
    metadata: { name: INTRANET_POLICY_NAME },
    spec: {
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["services"] },
        ],
      },
      matchConditions: INTRANET_MATCH_CONDITIONS.map((c) => ({ ...c })),
      // Fail: a Service the policy cannot judge is not created as an internet CLB by accident.
      failurePolicy: "Fail",
      reinvocationPolicy: "Never",
      mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: INTRANET_MUTATION } }],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingAdmissionPolicyBinding",
    metadata: { name: INTRANET_POLICY_NAME },
    spec: { policyName: INTRANET_POLICY_NAME },
  };
  return [policy, binding] as ManifestObject[];
}
