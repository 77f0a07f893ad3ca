// Which version steps a cluster may take, judged against what was last confirmed
// deployed (an output written only after a rollout passed its gates), never against the
// last requested version, which a failed run leaves behind.
//
// Upstream rules:
// - kubeadm upgrades one minor at a time: kubernetes/website
//   content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade.md ("Skipping MINOR
//   versions when upgrading is unsupported"), enforced as a mandatory error in
//   kubernetes/kubernetes cmd/kubeadm/app/phases/upgrade/policy.go EnforceVersionPolicies.
// - No downgrade: kubeadm tolerates a one-minor downgrade of the control plane only, and
//   refuses to downgrade etcd (policy.go; kubeadm-upgrade.md "won't downgrade etcd"), so a
//   rolled-back API server would run against newer etcd data. We refuse every downgrade.
// - Kubelets never newer than any API server, at most 3 minors older, and one at N-3 must
//   move before the control plane does: kubernetes/website
//   content/en/releases/version-skew-policy.md (kubelet section).
import type { ConfigPath } from "../../config/paths";
import {
  MAX_KUBELET_SKEW,
  NEWEST_KNOWN_MINOR,
  compareVersions,
  kubeletSkewProblem,
  parseKubernetesVersion,
  type KubernetesVersion,
} from "../../config/versions";

export interface VersionRefusal {
  /** The config key to change. */
  readonly path: ConfigPath;
  readonly message: string;
}

export interface DeployedVersions {
  /** The control planes' version last confirmed deployed. */
  readonly controlPlane: string;
  /** Each pool's version last confirmed deployed, by pool name (absent: a new pool). */
  readonly pools: Readonly<Record<string, string>>;
}

export interface TargetVersions {
  readonly controlPlane: string;
  readonly pools: readonly { readonly name: string; readonly kubernetesVersion: string }[];
}

const parse = (v: string): KubernetesVersion => {
  const p = parseKubernetesVersion(v);
  if (!p) throw new Error(`"${v}" is not an exact Kubernetes version`);
  return p;
};

export { compareVersions };

const minorOf = (v: string) => parse(v).minor;
const minorName = (minor: number) => `1.${minor}`;

/** What kubernetesVersion may be next, from a confirmed version: a newer patch, or the next minor. */
export function allowedNext(deployed: string): string {
  const d = parse(deployed);
  const same = `${d.major}.${d.minor}.${d.patch} or a newer ${minorName(d.minor)} patch`;
  // A minor newer than this release knows is refused by the config anyway (config/versions.ts).
  return d.minor + 1 > NEWEST_KNOWN_MINOR ? same : `${same}, or a ${minorName(d.minor + 1)} release`;
}

/** The minors to pass through from `from` to `to`, one `pulumi up` each, `to`'s own last. */
export function minorChain(from: string, to: string): string[] {
  const chain: string[] = [];
  for (let m = minorOf(from) + 1; m < minorOf(to); m++) chain.push(`a ${minorName(m)} release`);
  return [...chain, to];
}

/** Every refusal of this step, each naming the key to change and what it may be. */
export function versionStepRefusals(deployed: DeployedVersions, target: TargetVersions): VersionRefusal[] {
  const refusals: VersionRefusal[] = [];
  const cp = target.controlPlane;
  const was = deployed.controlPlane;
  if (compareVersions(cp, was) < 0) {
    refusals.push({
      path: ["kubernetesVersion"],
      message: `is ${cp}, but the control plane was last confirmed at ${was}: downgrades are refused (kubeadm cannot take etcd back). Allowed: ${allowedNext(was)}`,
    });
  } else if (minorOf(cp) > minorOf(was) + 1) {
    refusals.push({
      path: ["kubernetesVersion"],
      message: `is ${cp}, ${minorOf(cp) - minorOf(was)} minors past ${was}, the version last confirmed: kubeadm upgrades one minor at a time. Apply in turn, one pulumi up each: ${minorChain(was, cp).join(", then ")}. Allowed now: ${allowedNext(was)}`,
    });
  }
  target.pools.forEach((pool, i) => {
    const path = ["nodePools", i, "kubernetesVersion"];
    const running = deployed.pools[pool.name];
    const skew = kubeletSkewProblem(pool.kubernetesVersion, cp);
    if (skew) refusals.push({ path, message: `${pool.name}: ${skew}` });
    // The control plane moves before the pools: kubelets still at the version they run
    // then must be within the skew of the new control plane too.
    if (running !== undefined && minorOf(cp) - minorOf(running) > MAX_KUBELET_SKEW) {
      refusals.push({
        path,
        message: `${pool.name} runs ${running}, and the control plane moving to ${cp} would leave it ${minorOf(cp) - minorOf(running)} minors behind while its nodes are replaced (at most ${MAX_KUBELET_SKEW}); upgrade ${pool.name} to ${minorName(minorOf(cp) - MAX_KUBELET_SKEW)} or newer first, keeping kubernetesVersion at ${was}`,
      });
    }
  });
  return refusals;
}
