import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { API_PORT } from "../plan/kubeadm";
import { resourceName } from "../plan/naming";

export interface ApiLoadBalancerArgs {
  readonly spec: ClusterSpec;
  readonly vswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
}

/**
 * The Kubernetes API behind a Classic Load Balancer (layer 4, TCP 6443). CLB rather
 * than NLB: it is offered in every region with a private (intranet) address in one
 * vSwitch, keeps client addresses for the security groups, and its one limit that
 * matters here, hairpin, is designed around (control planes never call the API
 * through it). A second, internet-facing CLB with an allow-list exists only when the
 * API is public. Control planes are attached with `attach` once they exist.
 */
export class ApiLoadBalancer extends pulumi.ComponentResource {
  /** Private address: in the API certificate, and where workers send API traffic. */
  readonly privateAddress: pulumi.Output<string>;
  readonly publicAddress: pulumi.Output<string> | undefined;
  private readonly balancers: alicloud.slb.ApplicationLoadBalancer[];
  private readonly name: string;

  constructor(name: string, args: ApiLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:network:ApiLoadBalancer", name, {}, opts);
    this.name = name;
    const { spec } = args;
    const child = { parent: this };
    const zones = spec.zones;
    const firstZone = zones[0] as string;
    const protect = spec.controlPlane.deletionProtection ? "on" : "off";

    const clb = (suffix: string, addressType: "intranet" | "internet") =>
      new alicloud.slb.ApplicationLoadBalancer(resourceName(spec.clusterName, "api", suffix), {
        loadBalancerName: resourceName(spec.clusterName, "api", suffix),
        addressType,
        ...(addressType === "intranet" ? { vswitchId: args.vswitchIds[firstZone] } : {}),
        paymentType: "PayAsYouGo",
        instanceChargeType: "PayByCLCU",
        masterZoneId: firstZone,
        ...(zones[1] ? { slaveZoneId: zones[1] } : {}),
        deleteProtection: protect,
        tags: { ...spec.tags },
      }, child);

    const listener = (lb: alicloud.slb.ApplicationLoadBalancer, suffix: string, aclId?: pulumi.Output<string>) =>
      new alicloud.slb.Listener(resourceName(spec.clusterName, "api", suffix, "listener"), {
        loadBalancerId: lb.id,
        protocol: "tcp",
        frontendPort: API_PORT,
        backendPort: API_PORT,
        bandwidth: -1,
        scheduler: "wrr",
        healthCheckType: "tcp",
        healthCheckConnectPort: API_PORT,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        healthCheckTimeout: 5,
        healthCheckInterval: 5,
        establishedTimeout: 900,
        description: `Kubernetes API of ${spec.clusterName}`,
        ...(aclId ? { aclStatus: "on", aclType: "white", aclId } : {}),
      }, child);

    const internal = clb("private", "intranet");
    listener(internal, "private");
    this.balancers = [internal];
    this.privateAddress = internal.address;
    this.publicAddress = undefined;

    if (spec.apiEndpoint.public) {
      const acl = new alicloud.slb.Acl(resourceName(spec.clusterName, "api", "acl"), {
        name: resourceName(spec.clusterName, "api", "acl"),
        ipVersion: "ipv4",
        entryLists: spec.apiEndpoint.allowedCidrs.map((entry) => ({ entry, comment: "allowed API client" })),
        tags: { ...spec.tags },
      }, child);
      const external = clb("public", "internet");
      listener(external, "public", acl.id);
      this.balancers.push(external);
      this.publicAddress = external.address;
    }

    this.registerOutputs({ privateAddress: this.privateAddress, publicAddress: this.publicAddress });
  }

  /** Put the control-plane instances behind every API load balancer. */
  attach(instanceIds: readonly pulumi.Input<string>[]): alicloud.slb.BackendServer[] {
    return this.balancers.map((lb, i) =>
      new alicloud.slb.BackendServer(`${this.name}-backends-${i === 0 ? "private" : "public"}`, {
        loadBalancerId: lb.id,
        backendServers: instanceIds.map((serverId) => ({ serverId, weight: 100, type: "ecs" })),
      }, { parent: this }));
  }
}
