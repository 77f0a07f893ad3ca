// The precedence, written once: the control planes first, each alone; the pools only
// once every control plane is at the target (a kubelet never newer than an API server:
// kubernetes/website content/en/releases/version-skew-policy.md), one pool at a time, in
// the plan's order. Exactly one decision per pass; the engine acts, observes again and
// asks again.
import { nextControlPlaneStep } from "./control-plane";
import type { Decision } from "./decision";
import { nextPoolStep } from "./pool";
import type { Observed, RolloutTarget } from "./observed";

export function nextStep(observed: Observed, target: RolloutTarget): Decision {
  const cp = nextControlPlaneStep(observed.controlPlanes, observed.clusterVersion, target.version);
  if (cp) return cp;
  for (const t of target.pools) {
    const pool = observed.pools.find((p) => p.name === t.name);
    if (!pool) return { kind: "halt", reason: `pool ${t.name} is not in the cluster` };
    const step = nextPoolStep(pool, t.version, t.waves);
    if (step) return step;
  }
  return { kind: "done" };
}
