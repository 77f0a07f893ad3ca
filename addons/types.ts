// What one add-on declares, in one module: its pinned chart or manifest, its values for
// this cluster (which the stack's `addons.<name>.values` override), where it runs, and
// the Alibaba Cloud API calls it makes, as a least-privilege RAM policy.
import type { ClusterSpec } from "../config/spec";
import type { ChartRef, NodeTraffic } from "./cni/types";

export type { ChartRef };

/** A pinned chart or manifest, as the compatibility catalog lists it. */
export interface Artifact {
  readonly kind: "chart" | "manifest";
  readonly name: string;
  /** Chart repository, or where the manifest's image comes from. */
  readonly source: string;
  readonly version: string;
}

/** Cluster facts known only once the cloud resources exist (outputs, resolved). */
export interface AddonFacts {
  readonly vpcId: string;
  /** vSwitch id by zone. */
  readonly vswitchIds: Readonly<Record<string, string>>;
  /** ESS scaling group id by pool name. */
  readonly scalingGroupIds: Readonly<Record<string, string>>;
}

/** One RAM statement (Alibaba's policy language, Version "1"). */
export interface RamStatement {
  readonly Effect: "Allow";
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
}

/** For "dedicated-user": the Secret, in the add-on's namespace, that carries the key. */
export interface CredentialsSecret {
  readonly name: string;
  readonly idKey: string;
  readonly secretKey: string;
  /** Further plain entries (e.g. the region). */
  readonly extra: Readonly<Record<string, string>>;
}

/** A Kubernetes object of a manifest-based add-on. */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

export interface AddonInstall {
  readonly namespace: string;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Helm charts in order. */
  readonly charts: readonly {
    readonly name: string;
    readonly ref: ChartRef;
    readonly values: Record<string, unknown>;
  }[];
  /** Manifest-based add-ons: the objects, applied in order. */
  readonly manifest?: {
    readonly source: string;
    readonly version: string;
    readonly objects: readonly ManifestObject[];
  };
  readonly ram?: AddonRam;
}

/**
 * Whose identity an add-on's API calls use: the control planes' role (it must then run
 * there on the host network: pods cannot reach the metadata service), or a RAM user of
 * its own whose access key reaches it as a Kubernetes Secret (for software that cannot
 * read role credentials from a metadata service that requires tokens).
 */
export type AddonRam =
  | { readonly scope: "control-plane"; readonly statements: readonly RamStatement[] }
  | {
      readonly scope: "dedicated-user";
      readonly statements: readonly RamStatement[];
      readonly credentialsSecret: CredentialsSecret;
    };

export interface AddonModule {
  /** The `addons.<name>` key; "core" add-ons have no switch. */
  readonly name: string;
  readonly description: string;
  /** What it installs, pinned: listed in the compatibility catalog. */
  readonly artifacts: readonly Artifact[];
  /**
   * The installation for this cluster. `overrides` are the stack's
   * `addons.<name>.values`, merged over the defaults with Helm's rules.
   */
  install(spec: ClusterSpec, facts: AddonFacts, overrides: Record<string, unknown>): AddonInstall;
  /** What is wrong with the stack's overrides, checked with the rest of the config. */
  problems?(overrides: Record<string, unknown>): string[];
  /**
   * Registry hosts its images come from with the values set here (the charts'
   * values.yaml at their pins): what the node's registry mirrors must serve. A
   * function of the spec where the host depends on the region. `host/organisation`
   * where a default mirror serves only some organisations of that host.
   */
  readonly imageRegistries: (spec: ClusterSpec) => readonly string[];
  /** Ports every node must accept from every other node while it is installed (security groups follow). */
  readonly nodeTraffic?: readonly NodeTraffic[];
}
