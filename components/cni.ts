import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { installChart } from "./charts";
import type { CniInstall } from "../addons/cni/types";

export interface CniArgs {
  /** addons/cni cniPlan: the charts, in order, and the CNI's own objects. */
  readonly plan: CniInstall;
  /** The Kubernetes provider of this cluster; every in-cluster resource uses it. */
  readonly provider: k8s.Provider;
}

/** The cluster's CNI, installed from its pinned charts (addons/cni/<name>.ts). */
export class Cni extends pulumi.ComponentResource {
  /** The last resource of the installation: depend on it to wait for the CNI. */
  readonly installed: pulumi.Resource[];

  constructor(name: string, args: CniArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:addons:Cni", name, {}, opts);
    const { plan, provider } = args;
    const child = { parent: this, provider };

    let previous: pulumi.Resource | undefined;
    if (plan.namespace !== "kube-system") {
      previous = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        {
          metadata: { name: plan.namespace, labels: { ...plan.namespaceLabels } },
        },
        child,
      );
    }
    // In order: a chart that ships CRDs goes before the one that uses them.
    for (const c of plan.charts) {
      previous = installChart(
        `${name}-${c.name}`,
        { ref: c.ref, namespace: plan.namespace, values: c.values },
        { ...child, ...(previous ? { dependsOn: [previous] } : {}) },
      );
    }
    // The CNI's own kinds: its CRDs exist once its charts are up.
    const charts = previous;
    for (const o of plan.objects ?? []) {
      previous = new k8s.apiextensions.CustomResource(
        `${name}-${o.metadata.name}`,
        {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: { ...o.metadata },
          spec: o.spec,
        },
        { ...child, ...(charts ? { dependsOn: [charts] } : {}) },
      );
    }
    this.installed = previous ? [previous] : [];
    this.registerOutputs({});
  }
}
