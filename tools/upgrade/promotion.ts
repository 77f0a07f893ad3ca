// Whether an upgrade of a stack may start, and whether a plain deploy may run: pure,
// from what the stack file asks, what the stack's state last confirmed (its
// `confirmedKubernetesVersion` output) and, for staging and prod, how the environment
// before it stands. Upgrades move dev -> staging -> prod, each only after the one before
// it reports the target version from a successful update (the test -> pre-release ->
// production order of ../shared/reference/upgrades.md §6).
import { compareVersions, parseKubernetesVersion } from "../../config/versions";

/** The environments in promotion order (the order deploy.yml deploys them in). */
export const PROMOTION_ORDER = ["dev", "staging", "prod"] as const;

export interface StackFacts {
  /** The stack's confirmedKubernetesVersion output; undefined when it has none yet. */
  readonly confirmed?: string;
  /** `result` of the stack's last update (pulumi stack history --json: "succeeded", "failed", …). */
  readonly lastUpdate?: string;
}

export interface UpgradeRequest {
  readonly stack: string;
  readonly target: string;
  /** kubernetesVersion in the stack file as committed. */
  readonly configured: string;
  readonly current: StackFacts;
  /** The environment before this one, when there is one. */
  readonly previous?: StackFacts & { readonly stack: string };
}

/** The environment an upgrade of `stack` waits for, if any. */
export function previousEnvironment(stack: string): string | undefined {
  const i = PROMOTION_ORDER.indexOf(stack as (typeof PROMOTION_ORDER)[number]);
  return i > 0 ? PROMOTION_ORDER[i - 1] : undefined;
}

export function upgradeProblems(r: UpgradeRequest): string[] {
  const problems: string[] = [];
  if (!parseKubernetesVersion(r.target)) return [`"${r.target}" is not an exact Kubernetes version (1.x.y)`];
  if (r.configured !== r.target)
    problems.push(
      `stacks/Pulumi.${r.stack}.yaml sets kubernetesVersion ${r.configured}, not ${r.target}: merge the change of kubernetesVersion (and the pools' versions) first, reviewed like any other`,
    );
  if (r.current.confirmed !== undefined && compareVersions(r.target, r.current.confirmed) < 0)
    problems.push(`${r.stack} was confirmed at ${r.current.confirmed}: ${r.target} would be a downgrade`);
  const prev = r.previous;
  if (prev) {
    if (prev.confirmed !== r.target)
      problems.push(
        `${prev.stack} is confirmed at ${prev.confirmed ?? "no version"}, not ${r.target}: upgrade ${prev.stack} first (an environment is upgraded only after the one before it)`,
      );
    if (prev.lastUpdate !== "succeeded")
      problems.push(
        `the last update of ${prev.stack} ended ${prev.lastUpdate ?? "nowhere (none found)"}, not succeeded: ${prev.stack} must be healthy before ${r.stack} follows`,
      );
  }
  return problems;
}

/**
 * A plain deploy (deploy.yml) must not carry a version change: that is the upgrade
 * workflow's, with its promotion checks and the approval between control planes and pools.
 */
export function deployProblems(stack: string, configured: string, current: StackFacts): string[] {
  if (current.confirmed === undefined || current.confirmed === configured) return [];
  return [
    `${stack} is confirmed at ${current.confirmed} and stacks/Pulumi.${stack}.yaml asks for ${configured}: a version change goes through the upgrade workflow (Actions > upgrade, stack ${stack}, version ${configured})`,
  ];
}

/** The control planes' rollout's URN: the upgrade workflow's first phase updates it alone. */
export function controlPlaneRolloutUrn(stack: string, project: string, clusterName: string): string {
  return `urn:pulumi:${stack}::${project}::kubeadm-alicloud:index:Cluster$pulumi-nodejs:dynamic/kubeadm-alicloud:ControlPlaneRollout::${clusterName}-rollout-control-planes`;
}
