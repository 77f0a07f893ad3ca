import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { resourceName } from "../plan/naming";

export interface NetworkArgs {
  readonly clusterName: string;
  readonly network: ClusterSpec["network"];
  readonly tags: Readonly<Record<string, string>>;
  /** Protect the NAT gateway and its EIP from deletion (prod). */
  readonly deletionProtection: boolean;
  /**
   * The zone whose vSwitch holds the NAT gateway: named, not the list's first entry, so
   * that editing zones does not move it. The provider sends a changed vswitch_id as
   * UpdateNatGatewayNatType (aliyun/terraform-provider-alicloud v1.289.0
   * alicloud/resource_alicloud_nat_gateway.go:576-579), the API for converting a NAT's
   * type, not a move of a serving gateway. The first control plane's zone stays put
   * (plan/zones.ts).
   */
  readonly natZone: string;
}

/**
 * The cluster's network: a VPC (created, or an existing one adopted), one vSwitch per
 * zone, and an Enhanced NAT gateway with one EIP and a SNAT entry per vSwitch, so that
 * nodes without public addresses reach package mirrors and registries.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  /** vSwitch id per zone, in the order of the stack's zones. */
  readonly vswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
  /** The control planes' own vSwitch id per zone; empty when they share the nodes'. */
  readonly controlPlaneVswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
  /** Public address nodes egress from; undefined when the NAT gateway is disabled. */
  readonly egressIp: pulumi.Output<string> | undefined;
  /** The SNAT entries: nodes booted before them cannot reach package mirrors. */
  readonly egress: pulumi.Resource[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:network:Network", name, {}, opts);
    const { clusterName, network, tags } = args;
    const child = { parent: this };

    this.vpcId = network.vpc.existingId
      ? adoptVpc(network.vpc.existingId, network.vpc.cidr, this)
      : new alicloud.vpc.Network(
          resourceName(clusterName, "vpc"),
          {
            vpcName: resourceName(clusterName, "vpc"),
            cidrBlock: network.vpc.cidr,
            description: `Kubernetes cluster ${clusterName} (kubeadm-alicloud)`,
            tags: { ...tags },
          },
          child,
        ).id;

    // One vSwitch per zone for the nodes, and, in their own range, one per control-plane
    // zone for the control planes (plan/zones.ts): nothing else is placed in those.
    const vswitch = (
      v: { zone: string; cidr: string },
      logical: string,
      vswitchName: string,
      description: string,
    ) =>
      new alicloud.vpc.Switch(
        logical,
        { vpcId: this.vpcId, zoneId: v.zone, cidrBlock: v.cidr, vswitchName, description, tags: { ...tags } },
        child,
      );
    const vswitches = network.vswitches.map((v) =>
      vswitch(
        v,
        resourceName(clusterName, "vsw", v.zone),
        resourceName(clusterName, v.zone),
        `Nodes of ${clusterName} in ${v.zone}`,
      ),
    );
    this.vswitchIds = Object.fromEntries(
      network.vswitches.map((v, i) => [v.zone, (vswitches[i] as alicloud.vpc.Switch).id]),
    );
    const controlPlaneVswitches = network.controlPlaneVswitches.map((v) =>
      vswitch(
        v,
        resourceName(clusterName, "vsw-cp", v.zone),
        resourceName(clusterName, "control-planes", v.zone),
        `Control planes of ${clusterName} in ${v.zone}, and nothing else`,
      ),
    );
    this.controlPlaneVswitchIds = Object.fromEntries(
      network.controlPlaneVswitches.map((v, i) => [
        v.zone,
        (controlPlaneVswitches[i] as alicloud.vpc.Switch).id,
      ]),
    );

    this.egressIp = undefined;
    this.egress = [];
    const first = vswitches[network.vswitches.findIndex((v) => v.zone === args.natZone)];
    if (network.natGateway.enabled && first) {
      const nat = new alicloud.vpc.NatGateway(
        resourceName(clusterName, "nat"),
        {
          vpcId: this.vpcId,
          vswitchId: first.id,
          natType: "Enhanced",
          networkType: "internet",
          paymentType: "PayAsYouGo",
          internetChargeType: "PayByLcu",
          natGatewayName: resourceName(clusterName, "nat"),
          description: `Egress for the nodes of ${clusterName}`,
          deletionProtection: args.deletionProtection,
          tags: { ...tags },
        },
        child,
      );
      const eip = new alicloud.ecs.EipAddress(
        resourceName(clusterName, "nat-eip"),
        {
          addressName: resourceName(clusterName, "nat-eip"),
          bandwidth: String(network.natGateway.eipBandwidthMbps),
          internetChargeType: "PayByTraffic",
          paymentType: "PayAsYouGo",
          description: `Egress address of ${clusterName}`,
          deletionProtection: args.deletionProtection,
          tags: { ...tags },
        },
        child,
      );
      const association = new alicloud.ecs.EipAssociation(
        resourceName(clusterName, "nat-eip-association"),
        {
          allocationId: eip.id,
          instanceId: nat.id,
          instanceType: "Nat",
        },
        child,
      );
      // A SNAT entry may only use an EIP already bound to the gateway: the association
      // is a real ordering dependency that no input expresses.
      const snat = (name: string, vswitch: alicloud.vpc.Switch) => {
        this.egress.push(
          new alicloud.vpc.SnatEntry(
            name,
            {
              snatTableId: nat.snatTableIds,
              snatIp: eip.ipAddress,
              sourceVswitchId: vswitch.id,
              snatEntryName: name,
            },
            { parent: this, dependsOn: [association] },
          ),
        );
      };
      network.vswitches.forEach((v, i) =>
        snat(resourceName(clusterName, "snat", v.zone), vswitches[i] as alicloud.vpc.Switch),
      );
      network.controlPlaneVswitches.forEach((v, i) =>
        snat(resourceName(clusterName, "snat-cp", v.zone), controlPlaneVswitches[i] as alicloud.vpc.Switch),
      );
      this.egressIp = eip.ipAddress;
    }

    this.registerOutputs({
      vpcId: this.vpcId,
      vswitchIds: this.vswitchIds,
      controlPlaneVswitchIds: this.controlPlaneVswitchIds,
      egressIp: this.egressIp,
    });
  }
}

/**
 * Why an adopted VPC cannot be used, or undefined when it can: it must exist and
 * have the CIDR the stack config declares (the vSwitch plan and every overlap check
 * depend on it).
 */
export function adoptedVpcProblem(
  found: readonly { id: string; cidrBlock: string }[],
  id: string,
  cidr: string,
): string | undefined {
  const vpc = found.find((v) => v.id === id);
  if (!vpc) return `network.existingVpcId: VPC ${id} was not found in this region`;
  if (vpc.cidrBlock !== cidr)
    return `network.vpcCidr is ${cidr} but VPC ${id} has CIDR ${vpc.cidrBlock}; set network.vpcCidr to ${vpc.cidrBlock}`;
  return undefined;
}

/** The adopted VPC's id once it is found with the declared CIDR; a ResourceError on `parent` otherwise. */
export function adoptVpc(id: string, cidr: string, parent: pulumi.Resource): pulumi.Output<string> {
  return alicloud.vpc.getNetworksOutput({ ids: [id] }, { parent }).apply((found) => {
    const problem = adoptedVpcProblem(found.vpcs, id, cidr);
    // Attached to the network component: the CLI prints it under that resource.
    if (problem) throw new pulumi.ResourceError(problem, parent);
    return id;
  });
}
