// Kubernetes versions this project plans for. One place; every default reads it.
//
// Newest upstream minor on 2026-11-23: 1.37 (kubernetes/kubernetes
// CHANGELOG/CHANGELOG-1.38.md is at v1.38.0-alpha.2, "Changelog since v1.37.0").
// Policy: default to one minor behind the newest (operators lag on purpose).
//
// Patch of that minor: v1.36.5. The copy of CHANGELOG-1.36.md we could consult
// here stops before the later patch releases, so the patch is taken from pkgs.k8s.io
// package listings seen in public install logs (`kubeadm=1.36.5-1.1` from
// /core:/stable:/v1.36/). Re-check CHANGELOG-1.36.md before bumping it; never guess.

export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export const DEFAULT_KUBERNETES_VERSION = "1.36.5";

/** kubeadm config API v1beta4 is accepted since 1.31; older minors are out of scope. */
export const OLDEST_SUPPORTED_MINOR = 31;
/** The newest released minor we know of; a newer one needs this catalogue updated. */
export const NEWEST_KNOWN_MINOR = 37;

/** Kubelets may be at most this many minors older than the API server (version-skew policy). */
export const MAX_KUBELET_SKEW = 3;

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)$/;

export function parseKubernetesVersion(value: string): KubernetesVersion | undefined {
  const m = VERSION_RE.exec(value);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** "v1.36.5" and "1.36.5" both normalise to "1.36.5". */
export function normaliseVersion(value: string): string {
  return value.startsWith("v") ? value.slice(1) : value;
}

export function versionProblem(value: string): string | undefined {
  const v = parseKubernetesVersion(value);
  if (!v)
    return `"${value}" is not an exact Kubernetes release; write MAJOR.MINOR.PATCH, e.g. ${DEFAULT_KUBERNETES_VERSION}`;
  if (v.major !== 1) return `"${value}": only Kubernetes 1.x exists`;
  if (v.minor < OLDEST_SUPPORTED_MINOR) {
    return `1.${v.minor} is older than 1.${OLDEST_SUPPORTED_MINOR}, the first release whose kubeadm accepts the v1beta4 config API this project generates`;
  }
  if (v.minor > NEWEST_KNOWN_MINOR) {
    return `1.${v.minor} is newer than 1.${NEWEST_KNOWN_MINOR}, the newest minor this version of kubeadm-alicloud knows; upgrade kubeadm-alicloud first`;
  }
  return undefined;
}

/** Order of two exact versions: negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
  const x = parseKubernetesVersion(a);
  const y = parseKubernetesVersion(b);
  if (!x || !y) throw new Error(`cannot compare "${a}" and "${b}": not exact Kubernetes versions`);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/**
 * The one kubelet skew rule (kubernetes/website content/en/releases/version-skew-policy.md,
 * kubelet: never newer than kube-apiserver, at most three minors older), used by the config
 * checks and by the upgrade planner (plan/upgrade/version-policy.ts).
 */
export function kubeletSkewProblem(kubelet: string, apiServer: string): string | undefined {
  const k = parseKubernetesVersion(kubelet);
  const a = parseKubernetesVersion(apiServer);
  if (!k || !a) return undefined;
  if (compareVersions(kubelet, apiServer) > 0) {
    return `${kubelet} is newer than the control plane (${apiServer}); kubelets may never be newer than the API server. Upgrade the control plane first`;
  }
  if (a.minor - k.minor > MAX_KUBELET_SKEW) {
    return `${kubelet} is ${a.minor - k.minor} minors behind the control plane (${apiServer}); kubelets may lag at most ${MAX_KUBELET_SKEW}`;
  }
  return undefined;
}
