import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { chartCompatibility } from "../addons/catalog";
import { cniPlan } from "../addons/cni";
import type { ClusterSpec } from "../config/spec";
import { API_PORT } from "../plan/kubeadm";

export interface CniArgs {
  readonly spec: ClusterSpec;
  /** The Kubernetes provider of this cluster; every in-cluster resource uses it. */
  readonly provider: k8s.Provider;
}

/** The cluster's CNI, installed from its pinned charts (addons/cni/<name>.ts). */
export class Cni extends pulumi.ComponentResource {
  constructor(name: string, args: CniArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:addons:Cni", name, {}, opts);
    const { spec, provider } = args;
    const plan = cniPlan(spec, API_PORT);
    const child = { parent: this, provider };
    for (const c of chartCompatibility(spec)) if (c.note) pulumi.log.warn(c.note, this);

    let previous: pulumi.Resource | undefined;
    if (plan.namespace !== "kube-system") {
      previous = new k8s.core.v1.Namespace(`${name}-namespace`, {
        metadata: { name: plan.namespace, labels: { ...plan.namespaceLabels } },
      }, child);
    }
    // In order: a chart that ships CRDs goes before the one that uses them.
    for (const c of plan.charts) {
      previous = new k8s.helm.v4.Chart(`${name}-${c.name}`, {
        chart: c.ref.chart,
        version: c.ref.version,
        repositoryOpts: { repo: c.ref.repo },
        namespace: plan.namespace,
        values: c.values,
      }, { ...child, ...(previous ? { dependsOn: [previous] } : {}) });
    }
    // The CNI's own kinds: its CRDs exist once its charts are up.
    for (const o of plan.objects ?? []) {
      new k8s.apiextensions.CustomResource(`${name}-${o.metadata.name}`, {
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: { ...o.metadata },
        spec: o.spec,
      }, { ...child, ...(previous ? { dependsOn: [previous] } : {}) });
    }
    this.registerOutputs({});
  }
}
