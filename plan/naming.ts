// Resource names and tags. Names are a public API once users have state: changing
// one here replaces the resource unless the component adds an alias.

/** Tags this project sets on every resource that takes tags. */
export const CLUSTER_TAG = "kubeadm-alicloud.io/cluster";
export const STACK_TAG = "kubeadm-alicloud.io/stack";
/** dev, staging or prod: what the guardrail policies key on. */
export const ENVIRONMENT_TAG = "kubeadm-alicloud.io/environment";
export const ROLE_TAG = "kubeadm-alicloud.io/role";

/** Pulumi logical name of a cluster-scoped resource: `<cluster>-<suffix>`. */
export function resourceName(clusterName: string, ...parts: readonly string[]): string {
  return [clusterName, ...parts].join("-");
}
