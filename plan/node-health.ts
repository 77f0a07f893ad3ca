// Which pool instances to report unhealthy to ESS (issue 16 item 2), with a brake. Pure:
// it decides from what one pass observed (the scaling groups' in-service instances and
// the cluster's Nodes) and a ledger of the reports already made; it calls nothing. ESS
// removes an instance reported Unhealthy (ESS SetInstanceHealth API reference, usage notes:
// "Auto Scaling detects and removes unhealthy ECS instances ... from corresponding scaling
// groups"; RAM resource: the scaling group), and refills the group, so a report is a
// replacement, and the brake caps replacements per pool in a rolling window: a zone outage
// that takes down half a pool's nodes replaces at most the cap, and the rest wait, named.
//
// An instance is unhealthy when
// - it has been in service longer than the join deadline and no Node of its name
//   (`<region>.<instance-id>`, bootstrap/node-bootstrap.sh) has registered (its bootstrap
//   failed), or
// - its Node's Ready condition has not been True for longer than the unready limit, or
// - node-problem-detector has set one of its permanent conditions on the Node (True) for
//   longer than that limit: KernelDeadlock, ReadonlyFilesystem, XfsShutdown, the
//   conditions of the monitors the node-problem-detector chart enables by default
//   (deliveryhero/helm-charts stable/node-problem-detector values.yaml log_monitors:
//   kernel-monitor.json, readonly-monitor.json; their "permanent" rules in
//   kubernetes/node-problem-detector config/kernel-monitor.json and readonly-monitor.json,
//   read in the search index's copies, not at the image's tag).
// A Ready Node with no such condition is never reported, whatever its age.
//
// Not built yet: what acts on the decision (the control planes' timer, ESS's
// DescribeScalingInstances and SetInstanceHealth calls, the ledger kept in the cluster).

export interface HealthSettings {
  /** Minutes an instance may be in service without a registered Node (bootstrap and join). */
  readonly joinDeadlineMinutes: number;
  /** Minutes a Node's Ready condition may be other than True before its instance is replaced. */
  readonly unreadyMinutes: number;
  /** The brake's rolling window. */
  readonly windowMinutes: number;
  /** At most this share of a pool's in-service instances replaced per window, and at least 1. */
  readonly maxShare: number;
}

export const DEFAULT_HEALTH: HealthSettings = {
  // The readiness gate allows a node's bootstrap 20 minutes (plan/timeouts.ts) and joining
  // a few more; past 30 minutes without a Node it will not come.
  joinDeadlineMinutes: 30,
  unreadyMinutes: 15,
  windowMinutes: 60,
  maxShare: 0.1,
};

export interface HealthInstance {
  readonly id: string;
  readonly pool: string;
  /** Epoch ms at which ESS put it in service. */
  readonly inServiceSince: number;
}

export interface HealthNode {
  readonly name: string;
  readonly ready: "True" | "False" | "Unknown";
  /** Epoch ms of the Ready condition's lastTransitionTime. */
  readonly readySince: number;
  /** Other conditions with status True: type and epoch ms of lastTransitionTime. */
  readonly problems?: readonly { readonly type: string; readonly since: number }[];
}

/** node-problem-detector's conditions that mark a node broken for good. */
export const PERMANENT_PROBLEMS: readonly string[] = ["KernelDeadlock", "ReadonlyFilesystem", "XfsShutdown"];

/** Reports already made, per pool: epoch ms of each. */
export type HealthLedger = Readonly<Record<string, readonly number[]>>;

export interface HealthVerdict {
  readonly id: string;
  readonly pool: string;
  readonly reason: string;
}

export interface HealthDecision {
  /** Report these Unhealthy now. */
  readonly report: readonly HealthVerdict[];
  /** Unhealthy too, held back by the brake: reported on a later pass, if still unhealthy. */
  readonly braked: readonly HealthVerdict[];
  /** The ledger to keep: this pass's reports added, those older than the window dropped. */
  readonly ledger: HealthLedger;
}

const MINUTE = 60_000;

/** The most a pool of `inService` instances may have replaced per window. */
export function brakeCap(inService: number, s: HealthSettings): number {
  return Math.max(1, Math.floor(inService * s.maxShare));
}

export function healthDecision(
  region: string,
  instances: readonly HealthInstance[],
  nodes: readonly HealthNode[],
  ledger: HealthLedger,
  now: number,
  s: HealthSettings = DEFAULT_HEALTH,
): HealthDecision {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const unhealthy: HealthVerdict[] = [];
  for (const i of [...instances].sort((a, b) => a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id))) {
    const node = byName.get(`${region}.${i.id}`);
    if (!node) {
      const minutes = (now - i.inServiceSince) / MINUTE;
      if (minutes > s.joinDeadlineMinutes)
        unhealthy.push({ ...pick(i), reason: `no Node after ${Math.floor(minutes)} min in service` });
    } else if (node.ready !== "True" && (now - node.readySince) / MINUTE > s.unreadyMinutes) {
      const minutes = Math.floor((now - node.readySince) / MINUTE);
      unhealthy.push({ ...pick(i), reason: `Node Ready=${node.ready} for ${minutes} min` });
    } else {
      const problem = (node.problems ?? []).find(
        (p) => PERMANENT_PROBLEMS.includes(p.type) && (now - p.since) / MINUTE > s.unreadyMinutes,
      );
      if (problem)
        unhealthy.push({
          ...pick(i),
          reason: `${problem.type} for ${Math.floor((now - problem.since) / MINUTE)} min (node-problem-detector)`,
        });
    }
  }
  const kept: Record<string, number[]> = {};
  for (const [pool, times] of Object.entries(ledger)) {
    const recent = times.filter((t) => now - t < s.windowMinutes * MINUTE);
    if (recent.length > 0) kept[pool] = recent;
  }
  const report: HealthVerdict[] = [];
  const braked: HealthVerdict[] = [];
  for (const v of unhealthy) {
    const inService = instances.filter((i) => i.pool === v.pool).length;
    const used = kept[v.pool] ?? [];
    if (used.length < brakeCap(inService, s)) {
      report.push(v);
      kept[v.pool] = [...used, now];
    } else {
      braked.push({
        ...v,
        reason: `${v.reason}; held back: ${used.length} of ${brakeCap(inService, s)} replacements in the last ${s.windowMinutes} min`,
      });
    }
  }
  return { report, braked, ledger: kept };
}

const pick = (i: HealthInstance) => ({ id: i.id, pool: i.pool });
