// The rollout loop: observe, decide one step (plan/rollout/next.ts), act, and again,
// within a time budget. A Pulumi dynamic provider gets one long call and no requeue, so
// the loop lives in that call and every turn observes afresh, as Cluster API's
// reconciler does on each requeue (../shared/audits/architecture.md §3.1). It keeps no
// progress of its own: a halted or timed-out run is resumed by the next `pulumi up`,
// which observes the marks and versions this one left in the cloud and the cluster.
import { compareVersions, MAX_KUBELET_SKEW, parseKubernetesVersion } from "../../config/versions";
import type { Action } from "../../plan/rollout/decision";
import { nextStep } from "../../plan/rollout/next";
import type { Observed, RolloutTarget } from "../../plan/rollout/observed";

export interface RolloutPorts {
  observe(): Promise<Observed>;
  /**
   * Performs one action; throws RolloutHalted when it must stop (a gate or drain failed).
   * An action over several nodes starts no node after `deadline` (epoch ms).
   */
  act(action: Action, deadline: number): Promise<void>;
  /** After "done": lift what the rollout held (the gated nodes' autoscaler hold). */
  finish(observed: Observed): Promise<void>;
  log(line: string): void;
}

export interface EngineOptions {
  /** No step starts after this long; the run ends "out of time" for the next `pulumi up`. */
  readonly budgetMs: number;
  /** Between observations while the engine waits (instances launching). */
  readonly waitMs: number;
  /** Waiting this long with nothing changing halts: a launch or join that never comes. */
  readonly stuckMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The rollout stopped where a person must look; the message says where and why. */
export class RolloutHalted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RolloutHalted";
  }
}

export type EngineResult =
  | { readonly status: "done"; readonly steps: number }
  | { readonly status: "out-of-time"; readonly steps: number; readonly waiting: string };

const describe = (a: Action): string => {
  switch (a.kind) {
    case "upgrade-control-plane":
      return `${a.command} on ${a.node}`;
    case "mark":
      return `${a.kind} ${a.instanceIds.join(", ")} in pool ${a.pool}`;
    case "remove":
      return `remove ${a.instanceIds.join(", ")} from pool ${a.pool}${a.keepCapacity ? ", its capacity kept (ESS launches as many)" : ""}`;
    case "surge":
      return `surge pool ${a.pool} to ${a.desired}`;
    case "upgrade-in-place":
      return `upgrade ${a.nodes.join(", ")} in place in pool ${a.pool}`;
    default:
      return `${a.kind} ${a.node}`;
  }
};

const minor = (v: string) => parseKubernetesVersion(v)?.minor ?? Infinity;

/**
 * The live re-check before anything moves: the cluster itself (kubeadm-config) must be
 * at the target's minor or the one before, never newer (kubeadm upgrades one minor at a
 * time and never downgrades: cmd/kubeadm/app/phases/upgrade/policy.go
 * EnforceVersionPolicies). The preview refused this against the confirmed version; the
 * cluster may have been changed by hand since.
 */
export function liveVersionProblem(
  clusterVersion: string,
  target: string,
  kubelets: readonly string[] = [],
): string | undefined {
  const c = parseKubernetesVersion(clusterVersion);
  const t = parseKubernetesVersion(target);
  if (!c) return `the cluster's kubeadm-config shows no readable kubernetesVersion ("${clusterVersion}")`;
  if (!t) return `"${target}" is not an exact Kubernetes version`;
  if (compareVersions(target, clusterVersion) < 0)
    return `the cluster runs ${clusterVersion}, newer than the target ${target}: no downgrades`;
  if (t.minor > c.minor + 1)
    return `the cluster runs ${clusterVersion}: ${target} skips a minor (kubeadm upgrades one minor at a time)`;
  // Kubelets at most MAX_KUBELET_SKEW minors older than the API server, so one that far
  // behind must move before the control planes do (kubernetes/website
  // content/en/releases/version-skew-policy.md, kubelet).
  const behind = [...new Set(kubelets)].filter((k) => t.minor - minor(k) > MAX_KUBELET_SKEW).sort();
  if (behind.length > 0)
    return `nodes run kubelet ${behind.join(", ")}, which ${target} would leave more than ${MAX_KUBELET_SKEW} minors behind: upgrade their pools first`;
  return undefined;
}

export async function runEngine(
  ports: RolloutPorts,
  target: RolloutTarget,
  opts: EngineOptions,
): Promise<EngineResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + opts.budgetMs;
  let steps = 0;
  let waitingSince: number | undefined;
  let lastSeen = "";
  for (let first = true; ; first = false) {
    const observed = await ports.observe();
    if (first) {
      // The kubelets' skew matters only when the control planes are about to move: a pool
      // rollout must be free to bring a lagging pool forward.
      const moving = observed.controlPlanes.some((c) => c.apiServerVersion !== target.version);
      const problem = liveVersionProblem(
        observed.clusterVersion,
        target.version,
        moving ? observed.kubeletVersions : [],
      );
      if (problem) throw new RolloutHalted(`nothing changed: ${problem}`);
    }
    const step = nextStep(observed, target);
    if (step.kind === "done") {
      await ports.finish(observed);
      ports.log(`rollout to ${target.version} done after ${steps} steps`);
      return { status: "done", steps };
    }
    if (step.kind === "halt") throw new RolloutHalted(step.reason);
    if (step.kind === "wait") {
      // Waiting ends the stuck clock only when what is observed changes.
      const seen = JSON.stringify(observed);
      if (waitingSince === undefined || seen !== lastSeen) waitingSince = now();
      lastSeen = seen;
      if (now() - waitingSince >= opts.stuckMs)
        throw new RolloutHalted(
          `no progress for ${Math.round(opts.stuckMs / 60_000)} min: ${step.reason}. Look at the pool's scaling activities and the new instances' bootstrap logs`,
        );
      if (now() + opts.waitMs >= deadline) return { status: "out-of-time", steps, waiting: step.reason };
      ports.log(`waiting: ${step.reason}`);
      await sleep(opts.waitMs);
      continue;
    }
    if (now() >= deadline) return { status: "out-of-time", steps, waiting: `next: ${describe(step)}` };
    waitingSince = undefined;
    ports.log(`step ${steps + 1}: ${describe(step)}`);
    await ports.act(step, deadline);
    steps++;
  }
}
