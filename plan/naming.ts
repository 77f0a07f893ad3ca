// Resource names and tags. Names are a public API once users have state: changing
// one here replaces the resource unless the component adds an alias.

/** Tags this project sets on every resource that takes tags. */
export const CLUSTER_TAG = "kubeadm-alicloud.io/cluster";
export const STACK_TAG = "kubeadm-alicloud.io/stack";
/** dev, staging or prod: what the guardrail policies key on. */
export const ENVIRONMENT_TAG = "kubeadm-alicloud.io/environment";
export const ROLE_TAG = "kubeadm-alicloud.io/role";
/**
 * On an adopted instance: the digest of the pool user data it was bootstrapped from, apart
 * from the version (components/adopt/refresh.ts bootstraps one tagged otherwise again).
 */
export const BOOTSTRAP_TAG = "kubeadm-alicloud.io/bootstrap";

/** Pulumi logical name of a cluster-scoped resource: `<cluster>-<suffix>`. */
/**
 * Every edit of a RAM policy is a new policy version and RAM keeps at most five; without
 * a rotate strategy the sixth edit fails (aliyun/terraform-provider-alicloud
 * resource_alicloud_ram_policy.go `rotate_strategy`, sent with CreatePolicyVersion;
 * website/docs/r/ram_policy.html.markdown: "the oldest version is not automatically
 * deleted by default"). Set on every ram.Policy this program declares.
 */
export const RAM_POLICY_ROTATION = "DeleteOldestNonDefaultVersionWhenLimitExceeded";

/**
 * A RAM role, policy or user name. RAM names are unique in the whole account (RAM is a
 * global service), so they carry the region as well as the cluster: two clusters named
 * prod in cn-shanghai and cn-beijing of one account must not collide (audit
 * alibaba-resources 1.8). Logical (Pulumi) names are unchanged.
 */
export function ramName(
  spec: { readonly ram: { readonly namePrefix: string } },
  ...parts: readonly string[]
): string {
  return [spec.ram.namePrefix, ...parts].join("-");
}

export function resourceName(clusterName: string, ...parts: readonly string[]): string {
  return [clusterName, ...parts].join("-");
}

type RamNamed = { readonly ram: { readonly namePrefix: string } };

/** Every RAM name this program gives, by what it names. */
export const RAM_NAMES = {
  /** The control planes' steady role (it once served every node, hence the name). */
  controlPlaneRole: (spec: RamNamed) => ramName(spec, "nodes"),
  /** The role a control plane holds only while it bootstraps. */
  bootstrapRole: (spec: RamNamed) => ramName(spec, "cp-bootstrap"),
  poolRole: (spec: RamNamed, pool: string) => ramName(spec, "pool", pool),
  /** Read the node secrets of one reader: control-plane, or pool-<name>. */
  secretsPolicy: (spec: RamNamed, slug: string) => ramName(spec, "secrets", slug),
  addonPolicy: (spec: RamNamed, addon: string) => ramName(spec, "addon", addon),
  addonUser: (spec: RamNamed, addon: string) => ramName(spec, addon),
  /** The role OOS assumes to drain scaled-in nodes (plan/scale-in.ts), and its policy. */
  scaleInRole: (spec: RamNamed) => ramName(spec, "scale-in"),
  scaleInPolicy: (spec: RamNamed) => ramName(spec, "scale-in-drain"),
  /** The control planes' right to write etcd snapshots (plan/etcd-backup.ts). */
  etcdBackupPolicy: (spec: RamNamed) => ramName(spec, "etcd-backup"),
  /** The control planes' right to report pool instances unhealthy (plan/node-health.ts). */
  nodeHealthPolicy: (spec: RamNamed) => ramName(spec, "node-health"),
} as const;

/**
 * RAM name limits (aliyun/terraform-provider-alicloud resource_alicloud_ram_role.go,
 * resource_alicloud_ram_user.go, resource_alicloud_ram_policy.go; RAM CreateRole,
 * CreateUser, CreatePolicy: RoleName and UserName at most 64 characters, PolicyName at
 * most 128).
 */
export const RAM_NAME_MAX = { role: 64, user: 64, policy: 128 } as const;

/** Every RAM name a cluster with these pools and add-ons may declare (an upper bound for add-ons). */
export function everyRamName(
  spec: RamNamed & { readonly nodePools: readonly { readonly name: string }[] },
  addons: readonly string[],
): { kind: keyof typeof RAM_NAME_MAX; name: string }[] {
  return [
    { kind: "role", name: RAM_NAMES.controlPlaneRole(spec) },
    { kind: "role", name: RAM_NAMES.bootstrapRole(spec) },
    ...spec.nodePools.map((p) => ({ kind: "role" as const, name: RAM_NAMES.poolRole(spec, p.name) })),
    { kind: "policy", name: RAM_NAMES.secretsPolicy(spec, "control-plane") },
    { kind: "role", name: RAM_NAMES.scaleInRole(spec) },
    { kind: "policy", name: RAM_NAMES.scaleInPolicy(spec) },
    { kind: "policy", name: RAM_NAMES.etcdBackupPolicy(spec) },
    { kind: "policy", name: RAM_NAMES.nodeHealthPolicy(spec) },
    ...spec.nodePools.map((p) => ({
      kind: "policy" as const,
      name: RAM_NAMES.secretsPolicy(spec, `pool-${p.name}`),
    })),
    ...addons.flatMap((a) => [
      { kind: "policy" as const, name: RAM_NAMES.addonPolicy(spec, a) },
      { kind: "user" as const, name: RAM_NAMES.addonUser(spec, a) },
    ]),
  ];
}
