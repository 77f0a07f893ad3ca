// Most add-ons are one pinned chart in one namespace: this builds their module from what
// differs (the chart, its default values for this cluster, its RAM needs).
import type { ClusterSpec } from "../config/spec";
import type {
  AddonFacts,
  AddonModule,
  AddonRam,
  ChartRef,
  CredentialsSecret,
  ManifestObject,
  RamStatement,
} from "./types";
import { mergeValues } from "./values";

export interface ChartAddon {
  readonly name: string;
  readonly description: string;
  readonly ref: ChartRef;
  /** The release name; defaults to the chart's. */
  readonly release?: string;
  readonly namespace: string;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Default values for this cluster; the stack's overrides are merged over them. */
  readonly values: (spec: ClusterSpec, facts: AddonFacts) => Record<string, unknown>;
  readonly ram?: (spec: ClusterSpec, facts: AddonFacts) => AddonRam;
  readonly problems?: AddonModule["problems"];
  readonly nodeTraffic?: AddonModule["nodeTraffic"];
  readonly imageRegistries: AddonModule["imageRegistries"];
  /** Objects of our own installed with the chart (a StorageClass, say), and where they come from. */
  readonly objects?: { readonly source: string; readonly build: (spec: ClusterSpec) => ManifestObject[] };
}

export function chartAddon(a: ChartAddon): AddonModule {
  return {
    name: a.name,
    description: a.description,
    artifacts: [{ kind: "chart", name: a.ref.chart, source: a.ref.repo, version: a.ref.version }],
    install: (spec, facts, overrides) => ({
      namespace: a.namespace,
      ...(a.namespaceLabels ? { namespaceLabels: a.namespaceLabels } : {}),
      charts: [
        { name: a.release ?? a.ref.chart, ref: a.ref, values: mergeValues(a.values(spec, facts), overrides) },
      ],
      ...(a.ram ? { ram: a.ram(spec, facts) } : {}),
      ...(a.objects
        ? { manifest: { source: a.objects.source, version: a.ref.version, objects: a.objects.build(spec) } }
        : {}),
    }),
    ...(a.problems ? { problems: a.problems } : {}),
    ...(a.nodeTraffic ? { nodeTraffic: a.nodeTraffic } : {}),
    imageRegistries: a.imageRegistries,
  };
}

/** An add-on's own RAM user, allowed `statements`, its access key handed over as `secret`. */
export function ownRamUser(statements: readonly RamStatement[], secret: CredentialsSecret): AddonRam {
  return { scope: "dedicated-user", statements, credentialsSecret: secret };
}
