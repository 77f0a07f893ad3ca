// The upgrade plan's preflight stage as code (issue 14): what the rollout reads before it
// changes anything, judged against the checks the plan names (PREFLIGHT_CHECKS). Pure:
// the observation is gathered elsewhere (the executor is not built yet); any failure
// stops the rollout before its first change, each naming what to fix.
import { compareVersions, kubeletSkewProblem, parseKubernetesVersion } from "../../config/versions";
import type { PREFLIGHT_CHECKS } from "./plan";

export type PreflightCheck = (typeof PREFLIGHT_CHECKS)[number]["name"];

export interface PreflightObservation {
  /** The version the control planes move to. */
  readonly target: string;
  readonly nodes: readonly {
    readonly name: string;
    readonly ready: boolean;
    readonly cordoned: boolean;
    readonly kubeletVersion: string;
    /** The API server version a control plane runs; absent on workers. */
    readonly apiServerVersion?: string;
  }[];
  /** `etcdctl member list` and `endpoint health --cluster`, per member. */
  readonly etcdMembers: readonly {
    readonly name: string;
    readonly healthy: boolean;
    readonly learner: boolean;
  }[];
  readonly controlPlaneCount: number;
  /** The API server's /metrics, as text. */
  readonly apiServerMetrics: string;
  /** Pools the rollout replaces: the addresses free in their vSwitches, and the largest wave's surge. */
  readonly replacedPools: readonly {
    readonly name: string;
    readonly freeAddresses: number;
    readonly surge: number;
  }[];
  /** The target minor's package repository, tried from a control plane. */
  readonly packageRepository: { readonly url: string; readonly reachable: boolean };
}

export interface PreflightFailure {
  readonly check: PreflightCheck;
  readonly message: string;
}

export interface DeprecatedApiRequest {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly removedRelease: string;
}

/**
 * The APIs requested since the API server started that are deprecated:
 * `apiserver_requested_deprecated_apis{group, version, resource, subresource,
 * removed_release}`, a STABLE gauge set to 1 on each request to a deprecated API
 * (kubernetes/apiserver v0.36.0 pkg/endpoints/metrics/metrics.go:64-72 and :601).
 */
export function requestedDeprecatedApis(metrics: string): DeprecatedApiRequest[] {
  const out: DeprecatedApiRequest[] = [];
  for (const line of metrics.split("\n")) {
    const m = /^apiserver_requested_deprecated_apis\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line.trim());
    if (!m || Number(m[2]) <= 0) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k ?? ""] = v ?? "";
    out.push({
      group: labels.group ?? "",
      version: labels.version ?? "",
      resource: labels.resource ?? "",
      removedRelease: labels.removed_release ?? "",
    });
  }
  return out;
}

const api = (r: DeprecatedApiRequest) => `${r.group ? `${r.group}/` : ""}${r.version} ${r.resource}`;

export function preflight(o: PreflightObservation): PreflightFailure[] {
  const failures: PreflightFailure[] = [];
  const fail = (check: PreflightCheck, message: string) => failures.push({ check, message });

  const down = o.nodes.filter((n) => !n.ready).map((n) => n.name);
  const cordoned = o.nodes.filter((n) => n.cordoned).map((n) => n.name);
  if (down.length) fail("nodes-ready", `not Ready: ${down.join(", ")}`);
  if (cordoned.length) fail("nodes-ready", `cordoned (an earlier rollout or drain?): ${cordoned.join(", ")}`);

  const sick = o.etcdMembers.filter((m) => !m.healthy).map((m) => m.name);
  const learners = o.etcdMembers.filter((m) => m.learner).map((m) => m.name);
  if (sick.length) fail("etcd-healthy", `unhealthy members: ${sick.join(", ")}`);
  if (learners.length) fail("etcd-healthy", `learners not promoted: ${learners.join(", ")}`);
  if (o.etcdMembers.length !== o.controlPlaneCount)
    fail("etcd-healthy", `${o.etcdMembers.length} members for ${o.controlPlaneCount} control planes`);

  // After the step every API server runs the target; before it, the oldest runs what it runs.
  const apiServers = o.nodes.flatMap((n) => (n.apiServerVersion ? [n.apiServerVersion] : []));
  const oldest = [...apiServers].sort(compareVersions)[0];
  for (const n of o.nodes) {
    const problem =
      kubeletSkewProblem(n.kubeletVersion, o.target) ??
      (oldest === undefined ? undefined : kubeletSkewProblem(n.kubeletVersion, oldest));
    if (problem) fail("version-skew", `${n.name}: ${problem}`);
  }

  const target = parseKubernetesVersion(o.target);
  for (const r of requestedDeprecatedApis(o.apiServerMetrics)) {
    const removed = /^(\d+)\.(\d+)$/.exec(r.removedRelease);
    if (target && removed && Number(removed[1]) === target.major && Number(removed[2]) <= target.minor) {
      fail(
        "removed-apis",
        `${api(r)} was requested and is removed in ${r.removedRelease}: move its clients to the replacement API first`,
      );
    }
  }

  for (const p of o.replacedPools) {
    if (p.freeAddresses < p.surge)
      fail(
        "surge-addresses",
        `pool ${p.name}: ${p.freeAddresses} free addresses in its vSwitches, its largest wave adds ${p.surge} nodes`,
      );
  }
  if (!o.packageRepository.reachable)
    fail("package-repository", `${o.packageRepository.url} did not answer from a control plane`);
  return failures;
}
