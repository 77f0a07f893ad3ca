// One way to install a pinned chart, chosen by what its hooks do (addons/cni/types.ts
// chartConstruct): a helm.v4.Chart, whose every object a preview shows, or, for a chart
// whose install needs its Helm hooks, a helm.v3.Release, which runs them.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { chartConstruct, type ChartRef } from "../addons/cni/types";

export interface ChartInstall {
  readonly ref: ChartRef;
  readonly namespace: string;
  readonly values: pulumi.Input<Record<string, unknown>>;
}

export function installChart(
  name: string,
  c: ChartInstall,
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions,
): pulumi.Resource {
  // An OCI registry names the chart in full; a Helm repository takes repositoryOpts.
  const oci = c.ref.repo.startsWith("oci://");
  const chart = oci ? `${c.ref.repo}/${c.ref.chart}` : c.ref.chart;
  const repository = oci ? {} : { repositoryOpts: { repo: c.ref.repo } };
  if (chartConstruct(c.ref) === "helm.v3.Release") {
    return new k8s.helm.v3.Release(
      name,
      {
        chart,
        version: c.ref.version,
        ...repository,
        namespace: c.namespace,
        values: c.values,
        // The provider awaits the release's resources (skipAwait false) and hooks run; the
        // limit is "Time in seconds to wait for any individual kubernetes operation"
        // (@pulumi/kubernetes 4.34.2 helm/v3/release.d.ts `timeout`, default 300).
        timeout: 900,
        atomic: false,
        skipAwait: false,
      },
      opts,
    );
  }
  return new k8s.helm.v4.Chart(
    name,
    { chart, version: c.ref.version, ...repository, namespace: c.namespace, values: c.values },
    opts,
  );
}
