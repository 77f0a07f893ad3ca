// A model world for the rollout engine's decisions (plan/rollout): control planes and
// pools whose state each action changes in small effects, any of which may be the last
// before a crash. It checks the safety rules after every effect. What it models of the
// real world: ESS launches new instances at the target's launch-template version and they
// register as Ready Nodes by the next observation; drains and gates succeed unless the
// test crashes them; a removal that keeps the capacity (an `in-place` pool's template
// change) makes ESS launch as many, and one below minSize is what ESS refuses. It does
// not model timing, flapping readiness or failed gates.
import type { Action } from "../plan/rollout/decision";
import type { Observed, ObservedPoolNode } from "../plan/rollout/observed";

export interface ModelControlPlane {
  name: string;
  api: string;
  kubelet: string;
  cordoned: boolean;
}

export interface ModelPool {
  name: string;
  version: string;
  desired: number;
  maxSize: number;
  minSize: number;
  strategy: "replace" | "in-place";
  steady?: number;
  /** Launching instances: observations left before each registers as a Node. */
  launching: number[];
  /** Instances a removal that kept the capacity owes: ESS starts them after the removal. */
  owed: number;
  /** Its template digest moved since it was last confirmed (nodes to replace). */
  replacing?: boolean;
  nodes: { -readonly [K in keyof ObservedPoolNode]: ObservedPoolNode[K] }[];
}

export interface World {
  clusterVersion: string;
  target: string;
  cps: ModelControlPlane[];
  pools: ModelPool[];
  nextId: number;
  /** Observations a launched instance takes to register (ESS launch plus kubeadm join). */
  registerAfter: number;
  /** Safety rules broken, in words; empty in a correct run. */
  violations: string[];
}

export class Crash extends Error {}

export function observe(w: World): Observed {
  for (const p of w.pools) {
    // A Node registers NotReady and turns Ready by the next observation.
    for (const n of p.nodes) n.ready = true;
    p.launching = p.launching.map((n) => n - 1);
    for (; p.launching.length > 0 && (p.launching[0] ?? 0) < 0; p.launching.shift()) {
      const id = `i-${w.nextId++}`;
      p.nodes.push({
        name: `${p.name}-${id}`,
        instanceId: id,
        kubeletVersion: p.version,
        ready: false,
        cordoned: false,
        marked: false,
        gated: false,
        current: true,
      });
    }
  }
  const observed: Observed = {
    clusterVersion: w.clusterVersion,
    controlPlanes: w.cps.map((c) => ({
      name: c.name,
      apiServerVersion: c.api,
      kubeletVersion: c.kubelet,
      ready: true,
      cordoned: c.cordoned,
    })),
    pools: w.pools.map((p) => ({
      name: p.name,
      desired: p.desired,
      maxSize: p.maxSize,
      minSize: p.minSize,
      ...(p.replacing ? { replacing: true } : {}),
      pending: p.launching.length,
      strategy: p.strategy,
      nodes: p.nodes.map((n) => ({ ...n })),
      ...(p.steady !== undefined ? { steady: p.steady } : {}),
    })),
  };
  // ESS starts the instances a removal that kept the capacity owes after this observation:
  // for one pass the group holds fewer than its desired capacity, nothing launching.
  for (const p of w.pools) for (; p.owed > 0; p.owed--) p.launching.push(w.registerAfter);
  return observed;
}

const minor = (v: string) => Number(v.split(".")[1]);

function check(w: World): void {
  const inFlight = w.cps.filter((c) => c.cordoned || c.api !== c.kubelet);
  if (inFlight.length > 1)
    w.violations.push(`two control planes in flight: ${inFlight.map((c) => c.name).join(", ")}`);
  const oldestApi = Math.min(...w.cps.map((c) => minor(c.api)));
  for (const p of w.pools)
    for (const n of p.nodes)
      if (minor(n.kubeletVersion) > oldestApi)
        w.violations.push(`${n.name} kubelet ${n.kubeletVersion} newer than an API server`);
}

/** Applies `action`, effect by effect; throws Crash after `crashAfter` effects. */
export function apply(w: World, action: Action, crashAfter = Infinity): void {
  let done = 0;
  const effect = (f: () => void) => {
    if (done++ >= crashAfter) throw new Crash(`crash before effect ${done} of ${action.kind}`);
    f();
    check(w);
  };
  const pool = "pool" in action ? w.pools.find((p) => p.name === action.pool) : undefined;
  switch (action.kind) {
    case "upgrade-control-plane": {
      const cp = w.cps.find((c) => c.name === action.node) as ModelControlPlane;
      if (cp.api === w.target && cp.kubelet === w.target && !cp.cordoned)
        w.violations.push(`repeated upgrade of ${cp.name}`);
      if (action.command === "kubeadm upgrade node" && w.clusterVersion !== w.target)
        w.violations.push(`${cp.name}: upgrade node before any upgrade apply`);
      effect(() => (cp.cordoned = true));
      if (action.command === "kubeadm upgrade apply") effect(() => (w.clusterVersion = w.target));
      effect(() => (cp.api = w.target));
      effect(() => (cp.kubelet = w.target));
      effect(() => (cp.cordoned = false));
      return;
    }
    case "uncordon": {
      const n = [...w.cps, ...w.pools.flatMap((p) => p.nodes)].find((x) => x.name === action.node);
      effect(() => n && (n.cordoned = false));
      return;
    }
    case "mark":
      // Without surge, a wave takes nodes out before their replacements exist: the last
      // wave's replacements must have passed the gate first.
      if (
        pool?.strategy === "in-place" &&
        (pool.owed > 0 || pool.launching.length > 0 || pool.nodes.some((n) => n.current && !n.gated))
      )
        w.violations.push(`${pool.name}: a wave marked before the last one's replacements passed the gate`);
      for (const id of action.instanceIds) {
        const n = pool?.nodes.find((x) => x.instanceId === id);
        if (!n || (n.kubeletVersion === pool?.version && !n.outdated))
          w.violations.push(`marked ${id}, which needs no replacement`);
        effect(() => {
          if (pool) pool.steady = action.steady;
          if (n) n.marked = true;
        });
      }
      return;
    case "surge":
      effect(() => {
        if (!pool) return;
        if (action.desired > pool.maxSize) w.violations.push(`${pool.name} surged past maxSize`);
        const launching = action.desired - pool.nodes.length - pool.launching.length;
        pool.desired = action.desired;
        for (let i = 0; i < launching; i++) pool.launching.push(w.registerAfter);
      });
      return;
    case "gate": {
      const n = pool?.nodes.find((x) => x.name === action.node);
      if (!n || n.gated) w.violations.push(`gate of ${action.node} again`);
      effect(() => n && (n.gated = true));
      return;
    }
    case "drain": {
      const n = pool?.nodes.find((x) => x.name === action.node);
      if (!n?.marked || n.drained)
        w.violations.push(`drain of ${action.node}, not a marked node left to drain`);
      // Two effects, as drain.sh: a crash between them leaves the node cordoned, not drained.
      effect(() => n && (n.cordoned = true));
      effect(() => n && (n.drained = true));
      return;
    }
    case "remove":
      effect(() => {
        if (!pool) return;
        const going = pool.nodes.filter((n) => action.instanceIds.includes(n.instanceId));
        if (going.some((n) => !n.marked || !n.cordoned || !n.drained))
          w.violations.push(`${pool.name}: removed a node not marked and drained`);
        const staying = pool.nodes.filter((n) => !action.instanceIds.includes(n.instanceId));
        if (action.keepCapacity) {
          // ESS: the group keeps its desired capacity and launches as many; it refuses a
          // removal that would leave fewer than minSize.
          if (staying.length + pool.launching.length < pool.minSize)
            w.violations.push(`${pool.name}: removed below minSize, which ESS refuses`);
          pool.nodes = staying;
          pool.owed += going.length;
          delete pool.steady;
          return;
        }
        const serving = staying.filter((n) => n.kubeletVersion !== pool.version || n.gated).length;
        if (serving < (pool.steady ?? 0))
          w.violations.push(`${pool.name}: removed old nodes before their replacements passed the gate`);
        pool.nodes = staying;
        pool.desired -= going.length;
        if (!pool.nodes.some((n) => n.marked)) delete pool.steady;
      });
      return;
    case "upgrade-in-place":
      for (const name of action.nodes) {
        const n = pool?.nodes.find((x) => x.name === name);
        if (!n) continue;
        if (n.outdated)
          w.violations.push(`${name} upgraded in place, though its template needs a replacement`);
        effect(() => (n.cordoned = true));
        effect(() => (n.kubeletVersion = pool?.version ?? n.kubeletVersion));
        effect(() => (n.cordoned = false));
      }
      return;
  }
}
