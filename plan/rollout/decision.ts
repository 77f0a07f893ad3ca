// The one step the engine takes next, or why it takes none.

export type Action =
  /**
   * Drain (keeping it cordoned), run the upgrade script through Cloud Assistant
   * (`kubeadm upgrade apply` on the first, `kubeadm upgrade node` on the others), upgrade
   * the kubelet, uncordon, then gate: the node at the target, its static pods at the
   * target images, `/readyz`, its etcd member healthy. Idempotent: a rerun on a node
   * half done finishes it.
   */
  | {
      readonly kind: "upgrade-control-plane";
      readonly node: string;
      readonly command: "kubeadm upgrade apply" | "kubeadm upgrade node";
    }
  | { readonly kind: "uncordon"; readonly node: string }
  /** Tag old nodes for replacement, with the pool's size now, before asking for new ones. */
  | {
      readonly kind: "mark";
      readonly pool: string;
      readonly instanceIds: readonly string[];
      readonly steady: number;
    }
  /** Raise the scaling group's desired capacity: new nodes at the target's launch-template version. */
  | { readonly kind: "surge"; readonly pool: string; readonly desired: number }
  /** Check a new node (Ready at the target, its DaemonSet pods ready) and record that it passed. */
  | { readonly kind: "gate"; readonly pool: string; readonly node: string }
  /** bootstrap/drain.sh on a control plane, the node kept cordoned (it is about to go). */
  | { readonly kind: "drain"; readonly pool: string; readonly node: string }
  /**
   * Remove drained marked nodes from the group (ESS RemoveInstances), its size back to
   * `steady`; with `keepCapacity` (a wave without surge) the desired capacity stays and
   * ESS launches as many from the group's template.
   */
  | {
      readonly kind: "remove";
      readonly pool: string;
      readonly instanceIds: readonly string[];
      readonly keepCapacity?: boolean;
    }
  /** In-place: drain, `kubeadm upgrade node`, kubelet, uncordon, gate; these nodes together. */
  | { readonly kind: "upgrade-in-place"; readonly pool: string; readonly nodes: readonly string[] };

export type Decision =
  | Action
  /** Nothing to do until the cloud or the cluster moves (new nodes registering). */
  | { readonly kind: "wait"; readonly reason: string }
  /** Stop the rollout: a person must look. */
  | { readonly kind: "halt"; readonly reason: string }
  | { readonly kind: "done" };
