import type { z } from "zod";

/** Protocols an Alibaba Cloud security group rule understands. There are no protocol numbers. */
export type SgProtocol = "tcp" | "udp" | "icmp" | "gre" | "all";

/** A port range (inclusive) that every node must accept from every other node. */
export interface NodeTraffic {
  readonly protocol: SgProtocol;
  /** First and last port; both -1 for icmp, gre and all. */
  readonly ports: readonly [number, number];
  /** Why the traffic exists: lands in the security-group rule description. */
  readonly purpose: string;
}

/**
 * What a chart's Helm hooks (templates annotated `helm.sh/hook`) mean for an install
 * that drops them, read in the chart's templates at its pin: none; harmless (tests,
 * post-install checks, uninstall jobs); required (an ordinary resource needs what only a
 * hook creates, e.g. a Secret it mounts).
 */
export type HookUse = "none" | "harmless" | "required";

/** A Helm chart, pinned, with what its hooks do. */
export interface ChartRef {
  readonly repo: string;
  readonly chart: string;
  readonly version: string;
  readonly hooks: HookUse;
}

/**
 * How a chart is installed. @pulumi/kubernetes helm.v4.Chart renders the chart and drops
 * every hook resource (node_modules/@pulumi/kubernetes/helm/v4/chart.d.ts: "Helm hook
 * resources … are omitted", pulumi/pulumi-kubernetes#3284), so a chart whose install
 * needs its hooks goes through helm.v3.Release, which runs a real Helm install, hooks
 * included. Everything else stays a v4 Chart: each object is a Pulumi resource a
 * preview shows.
 */
export type ChartConstruct = "helm.v4.Chart" | "helm.v3.Release";

export function chartConstruct(ref: ChartRef): ChartConstruct {
  return ref.hooks === "required" ? "helm.v3.Release" : "helm.v4.Chart";
}

/** What the cluster tells a CNI module when it renders its installation. */
export interface CniContext {
  readonly podCidr: string;
  /** How host-network pods reach the API: the endpoint name every node resolves. */
  readonly apiHost: string;
  readonly apiPort: number;
}

/** One CNI's installation: charts in order (CRDs first), their namespace and values. */
export interface CniInstall {
  readonly namespace: string;
  /** Labels of the namespace, e.g. Pod Security admission for privileged agents. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly charts: readonly {
    readonly name: string;
    readonly ref: ChartRef;
    readonly values: Record<string, unknown>;
  }[];
  /** Objects of the CNI's own kinds applied once its charts are up (e.g. cluster-wide policies). */
  readonly objects?: readonly CniObject[];
}

/** A custom resource of the CNI's API, cluster-scoped. */
export interface CniObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: Record<string, unknown>;
}

/**
 * Everything the rest of the program needs to know about one CNI, declared in one
 * module: its options schema, how it constrains the pod CIDR, the node-to-node traffic
 * it needs (consumed by the security-group matrix), whether kube-proxy runs, and the
 * pinned charts and values that install it.
 */
export interface CniModule<Options extends { name: string }> {
  readonly name: Options["name"];
  /** Strict schema of `cni` in stack config when this CNI is chosen. */
  readonly schema: z.ZodType<Options>;
  /** Pod CIDR when the stack sets none. */
  readonly defaultPodCidr: string;
  /** Problems this CNI has with a pod CIDR, beyond the checks every CNI shares. */
  podCidrProblems(podCidr: string, options: Options): string[];
  nodeTraffic(options: Options): NodeTraffic[];
  runsKubeProxy(options: Options): boolean;
  /** Registry hosts its images come from (the chart's values.yaml at its pin). */
  readonly imageRegistries: readonly string[];
  install(options: Options, ctx: CniContext): CniInstall;
}
