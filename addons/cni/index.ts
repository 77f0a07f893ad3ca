import { z } from "zod";
import { calico, calicoOptions, type CalicoOptions } from "./calico";
import { cilium, ciliumOptions, type CiliumOptions } from "./cilium";
import { flannel, flannelOptions, type FlannelOptions } from "./flannel";
import type { CniContext, CniInstall, CniModule, NodeTraffic } from "./types";

export type { ChartRef, CniContext, CniInstall, NodeTraffic, SgProtocol } from "./types";

export type CniOptions = FlannelOptions | CalicoOptions | CiliumOptions;
export type CniName = CniOptions["name"];
export const CNI_NAMES: readonly CniName[] = ["calico", "cilium", "flannel"];
export const DEFAULT_CNI: CniName = "calico";

/** CNIs people ask for that this project refuses, with the reason. */
const REFUSED_CNIS: Record<string, string> = {
  weave: "Weave Net has been unmaintained since 2022",
  "weave-net": "Weave Net has been unmaintained since 2022",
  // Canal is Calico's policy engine on Flannel's VXLAN, shipped as one manifest; Calico
  // with VXLAN gives the same data path and policy, installed and upgraded by its operator.
  canal:
    "Canal is Calico policy on Flannel networking from a hand-edited manifest; Calico with VXLAN (the default) gives the same data path and policy through its operator",
  // kube-router routes pod traffic between nodes of one subnet without encapsulation.
  "kube-router":
    "kube-router sends pod traffic between nodes of one vSwitch unencapsulated, which the Alibaba Cloud VPC drops (it has no route to pod addresses), and its full IP-in-IP overlay needs security-group protocol 'all' between nodes",
};

/** Schema of the `cni` config key: one strict shape per CNI, chosen by `name`. */
export const cniSchema = z.discriminatedUnion("name", [flannelOptions, calicoOptions, ciliumOptions], {
  error: (issue) => {
    if (issue.code !== "invalid_union") return undefined;
    const input = issue.input as { name?: unknown } | undefined;
    const name = typeof input?.name === "string" ? input.name : undefined;
    const refused = name !== undefined ? REFUSED_CNIS[name.toLowerCase()] : undefined;
    if (refused) return `"${name}" is refused: ${refused}. Choose one of ${CNI_NAMES.join(", ")}`;
    return `must be one of ${CNI_NAMES.join(", ")} (got ${JSON.stringify(input?.name)})`;
  },
});

// Each module is typed for its own options; dispatch keeps that pairing intact.
function dispatch<R>(options: CniOptions, f: <O extends CniOptions>(m: CniModule<O>, o: O) => R): R {
  switch (options.name) {
    case "flannel":
      return f(flannel, options);
    case "calico":
      return f(calico, options);
    case "cilium":
      return f(cilium, options);
  }
}

export function defaultPodCidr(name: CniName): string {
  return { flannel, calico, cilium }[name].defaultPodCidr;
}
export const cniPodCidrProblems = (o: CniOptions, podCidr: string): string[] =>
  dispatch(o, (m, opts) => m.podCidrProblems(podCidr, opts));
export const cniNodeTraffic = (o: CniOptions): NodeTraffic[] => dispatch(o, (m, opts) => m.nodeTraffic(opts));
export const cniImageRegistries = (o: CniOptions): readonly string[] => dispatch(o, (m) => m.imageRegistries);
export const cniRunsKubeProxy = (o: CniOptions): boolean => dispatch(o, (m, opts) => m.runsKubeProxy(opts));
export const cniInstall = (o: CniOptions, ctx: CniContext): CniInstall =>
  dispatch(o, (m, opts) => m.install(opts, ctx));

/** The cluster's CNI installation: host-network agents reach the API by the endpoint name. */
export function cniPlan(
  spec: {
    readonly cni: CniOptions;
    readonly network: { readonly podCidr: string };
    readonly apiEndpoint: { readonly dnsName: string };
  },
  apiPort: number,
): CniInstall {
  return cniInstall(spec.cni, { podCidr: spec.network.podCidr, apiHost: spec.apiEndpoint.dnsName, apiPort });
}
