// Resource names and tags. Names are a public API once users have state: changing
// one here replaces the resource unless the component adds an alias.

/** Tags this project sets on every resource that takes tags. */
export const CLUSTER_TAG = "kubeadm-alicloud.io/cluster";
export const STACK_TAG = "kubeadm-alicloud.io/stack";
/** dev, staging or prod: what the guardrail policies key on. */
export const ENVIRONMENT_TAG = "kubeadm-alicloud.io/environment";
export const ROLE_TAG = "kubeadm-alicloud.io/role";

/** Pulumi logical name of a cluster-scoped resource: `<cluster>-<suffix>`. */
/**
 * Every edit of a RAM policy is a new policy version and RAM keeps at most five; without
 * a rotate strategy the sixth edit fails (aliyun/terraform-provider-alicloud
 * resource_alicloud_ram_policy.go `rotate_strategy`, sent with CreatePolicyVersion;
 * website/docs/r/ram_policy.html.markdown: "the oldest version is not automatically
 * deleted by default"). Set on every ram.Policy this program declares.
 */
export const RAM_POLICY_ROTATION = "DeleteOldestNonDefaultVersionWhenLimitExceeded";

export function resourceName(clusterName: string, ...parts: readonly string[]): string {
  return [clusterName, ...parts].join("-");
}
