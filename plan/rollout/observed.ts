// What the rollout engine sees of a cluster on one pass: plain data read from the cloud
// (ECS instances, their tags, the scaling groups) and from the cluster (Nodes, the
// kubeadm-config version). The engine keeps no plan in memory: each pass observes again
// and decides one step (plan/rollout/next.ts), as Cluster API's control-plane reconciler
// does (../shared/audits/architecture.md §3.1). Progress lives in the cloud and the
// cluster, so a crashed or halted run resumes by running again.

export interface ObservedControlPlane {
  /** Node name; the engine's order is the placements' (cp-0 first). */
  readonly name: string;
  /** The version its static pods run (kube-apiserver image tag). */
  readonly apiServerVersion: string;
  readonly kubeletVersion: string;
  readonly ready: boolean;
  readonly cordoned: boolean;
}

export interface ObservedPoolNode {
  readonly name: string;
  readonly instanceId: string;
  readonly kubeletVersion: string;
  readonly ready: boolean;
  readonly cordoned: boolean;
  /** Its last drain finished (drain.sh records it); a cordon alone may be a drain killed halfway. */
  readonly drained?: boolean;
  /** Tagged for replacement by this rollout (before any new node was asked for). */
  readonly marked: boolean;
  /** Passed the rollout's gate (Ready at the target, its DaemonSet pods ready), recorded on the node. */
  readonly gated: boolean;
  /**
   * Not what the pool declares. In a `replace` pool: launched from an older version of
   * the pool's launch template than the group's now (ESS reports both), replaced even at
   * the target kubelet. In an `in-place` pool: launched from a template whose image,
   * instance types, disk or user data differ in more than the Kubernetes version (its
   * template digest tag, plan/pool-template.ts), replaced without surge; a version alone
   * moves in place.
   */
  readonly outdated?: boolean;
  /** Launched from the group's launch-template version now: a replacement, or the autoscaler's since. */
  readonly current?: boolean;
  /** An instance the operator brought (ESS CreationType Attached): upgraded in place, never replaced. */
  readonly attached?: boolean;
}

export interface ObservedPool {
  readonly name: string;
  /** The scaling group's desired capacity now. */
  readonly desired: number;
  readonly maxSize: number;
  /** ESS refuses a removal that leaves fewer instances (RemoveInstances); absent: 0. */
  readonly minSize?: number;
  /**
   * The pool's template digest moved since it was last confirmed (plan/pool-template.ts): an
   * `in-place` pool is replacing nodes without surge, and waits for each wave's replacements.
   */
  readonly replacing?: boolean;
  readonly nodes: readonly ObservedPoolNode[];
  /** Instances the group is launching that have not registered as Nodes yet. */
  readonly pending: number;
  /**
   * The pool's size before the wave in progress, recorded with the wave's marks (absent
   * when no node is marked): the wave ends with this many nodes again.
   */
  readonly steady?: number;
  readonly strategy: "replace" | "in-place";
}

export interface Observed {
  /** kubeadm-config's kubernetesVersion: what `kubeadm upgrade apply` last set. */
  readonly clusterVersion: string;
  /** Every Node's kubelet version, whatever its pool (for the skew check before anything moves). */
  readonly kubeletVersions?: readonly string[];
  readonly controlPlanes: readonly ObservedControlPlane[];
  readonly pools: readonly ObservedPool[];
}

/** What the rollout is to reach. */
export interface RolloutTarget {
  readonly version: string;
  /** Per pool: its target version and wave sizes (plan/upgrade/waves.ts). */
  readonly pools: readonly {
    readonly name: string;
    readonly version: string;
    readonly waves: readonly number[];
  }[];
}
