import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { API_PORT } from "../plan/kubeadm";
import { resourceName } from "../plan/naming";
import { clbZones } from "../plan/zones";

/** The zones a CLB may use: the first control plane's zone is preferred as its master. */
export interface ClbZoneChoice {
  readonly preferred: string;
  readonly ours: readonly string[];
}

export interface ApiLoadBalancerArgs {
  readonly clusterName: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly apiEndpoint: Pick<ClusterSpec["apiEndpoint"], "public" | "allowedCidrs">;
  /** Whether the load balancers refuse deletion (the cluster's deletion protection). */
  readonly deletionProtection: boolean;
  readonly zones: ClbZoneChoice;
  readonly vswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
}

/**
 * The zones of one CLB, from the pairs the region offers for its kind (plan/zones.ts
 * clbZones, the first control plane's zone first); a ResourceError on `parent` when the
 * region offers none of ours.
 */
export function clbZonesOutput(
  zones: ClbZoneChoice,
  addressType: "intranet" | "internet",
  name: string,
  parent: pulumi.Resource,
): pulumi.Output<{ master: string; slave?: string }> {
  const offered = alicloud.slb.getZonesOutput(
    {
      availableSlbAddressType: addressType === "intranet" ? "vpc" : "classic_internet",
      availableSlbAddressIpVersion: "ipv4",
    },
    { parent },
  );
  return offered.zones.apply((pairs) => {
    const chosen = clbZones(zones.preferred, zones.ours, pairs);
    if ("problem" in chosen) throw new pulumi.ResourceError(`${name}: ${chosen.problem}`, parent);
    return chosen;
  });
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
  /** Each load balancer, its name suffix and, when public, the allow-list its listener turns to. */
  private readonly balancers: {
    readonly lb: alicloud.slb.ApplicationLoadBalancer;
    readonly suffix: "private" | "public";
    readonly acl?: { id: pulumi.Output<string>; entries: pulumi.Resource[] };
  }[];
  private readonly clusterName: string;

  constructor(name: string, args: ApiLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:network:ApiLoadBalancer", name, {}, opts);
    const { clusterName, apiEndpoint } = args;
    this.clusterName = clusterName;
    const child = { parent: this };
    const protect = args.deletionProtection ? "on" : "off";

    const clb = (suffix: string, addressType: "intranet" | "internet") => {
      const zones = clbZonesOutput(args.zones, addressType, resourceName(clusterName, "api", suffix), this);
      return new alicloud.slb.ApplicationLoadBalancer(
        resourceName(clusterName, "api", suffix),
        {
          loadBalancerName: resourceName(clusterName, "api", suffix),
          addressType,
          // The private CLB's vSwitch is in its master zone, looked up by zone name.
          ...(addressType === "intranet"
            ? { vswitchId: zones.apply((z) => args.vswitchIds[z.master] as pulumi.Output<string>) }
            : {}),
          paymentType: "PayAsYouGo",
          instanceChargeType: "PayByCLCU",
          masterZoneId: zones.master,
          // Resolving to undefined leaves the argument unset (no slave zone offered).
          slaveZoneId: zones.apply((z) => z.slave) as pulumi.Output<string>,
          deleteProtection: protect,
          tags: { ...args.tags },
        },
        {
          ...child,
          // master_zone_id, slave_zone_id and vswitch_id are ForceNew
          // (resource_alicloud_slb_load_balancer.go): a new CLB means a new address that
          // workers and certificates do not know. The master follows the first control
          // plane, which the guard keeps in place; a different slave offered later is not
          // worth a new load balancer.
          ignoreChanges: ["slaveZoneId"],
        },
      );
    };

    const internal = clb("private", "intranet");
    this.balancers = [{ lb: internal, suffix: "private" }];
    this.privateAddress = internal.address;
    this.publicAddress = undefined;

    if (apiEndpoint.public) {
      // The allow-list: an ACL with one AclEntryAttachment per CIDR, replacing the
      // deprecated entry_list (deprecated since provider 1.162.0). It is a new ACL, not
      // the old one emptied: attachments on an ACL that still holds the entry fail
      // (AddAccessControlListEntry: InvalidParam.AclEntryExists), and dropping entry_list
      // from config removes nothing (Optional and Computed; resource_alicloud_slb_acl.go,
      // resource_alicloud_slb_acl_entry_attachment.go, v1.289.0). The listener turns to it
      // only once every entry is in (dependsOn), so the public API is never behind an
      // ACL that is empty or partial; the old ACL is deleted after that.
      const acl = new alicloud.slb.Acl(
        resourceName(clusterName, "api", "allowed"),
        {
          name: resourceName(clusterName, "api", "allowed"),
          ipVersion: "ipv4",
          tags: { ...args.tags },
        },
        child,
      );
      const entries = apiEndpoint.allowedCidrs.map(
        (entry) =>
          new alicloud.slb.AclEntryAttachment(
            resourceName(clusterName, "api", "allowed", entry.replace(/[./]/g, "-")),
            {
              aclId: acl.id,
              entry,
              comment: "allowed API client",
            },
            child,
          ),
      );
      const external = clb("public", "internet");
      this.balancers.push({ lb: external, suffix: "public", acl: { id: acl.id, entries } });
      this.publicAddress = external.address;
    }

    this.registerOutputs({ privateAddress: this.privateAddress, publicAddress: this.publicAddress });
  }

  /**
   * Put the control-plane instances behind every API load balancer: a VServerGroup per load
   * balancer and ONE attachment per control plane (alicloud_slb_server_group_server_attachment,
   * the resource the provider names for this since 1.163.0: resource_alicloud_slb_server_group.go
   * v1.289.0, `servers` deprecated), so that replacing a control plane replaces its attachment
   * alone, right after its new instance exists, and the others keep serving; a single backend
   * list (alicloud_slb_backend_server, which owns every backend of the load balancer) changes
   * only once every instance is known. The listener forwards to the group (server_group_id is
   * sent at creation and changes in place: resource_alicloud_slb_listener.go
   * buildListenerCommonArgs and the update's VServerGroup/VServerGroupId) and turns to it only
   * once every attachment is in (dependsOn).
   */
  attach(
    instances: readonly { readonly name: string; readonly id: pulumi.Input<string> }[],
  ): pulumi.Resource[] {
    const { clusterName } = this;
    const child = { parent: this };
    return this.balancers.flatMap(({ lb, suffix, acl }) => {
      const group = new alicloud.slb.ServerGroup(
        resourceName(clusterName, "api", suffix, "control-planes"),
        { loadBalancerId: lb.id, name: resourceName(clusterName, "api", suffix, "control-planes") },
        child,
      );
      const attachments = instances.map(
        (i) =>
          new alicloud.slb.ServerGroupServerAttachment(
            resourceName(clusterName, "api", suffix, i.name),
            {
              serverGroupId: group.id,
              serverId: i.id,
              port: API_PORT,
              weight: 100,
              type: "ecs",
              description: `${i.name}: Kubernetes API`,
            },
            child,
          ),
      );
      return [...attachments, listener(lb, suffix, group.id, attachments, acl)];
    });

    function listener(
      lb: alicloud.slb.ApplicationLoadBalancer,
      suffix: string,
      serverGroupId: pulumi.Output<string>,
      attachments: pulumi.Resource[],
      acl?: { id: pulumi.Output<string>; entries: pulumi.Resource[] },
    ) {
      return new alicloud.slb.Listener(
        resourceName(clusterName, "api", suffix, "listener"),
        {
          loadBalancerId: lb.id,
          protocol: "tcp",
          frontendPort: API_PORT,
          backendPort: API_PORT,
          serverGroupId,
          bandwidth: -1,
          scheduler: "wrr",
          healthCheckType: "tcp",
          healthCheckConnectPort: API_PORT,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
          healthCheckTimeout: 5,
          healthCheckInterval: 5,
          establishedTimeout: 900,
          description: `Kubernetes API of ${clusterName}`,
          // acl_ids, not acl_id (deprecated since provider 1.249.0): both are sent as the
          // listener's AclId (resource_alicloud_slb_listener.go buildListenerCommonArgs).
          ...(acl ? { aclStatus: "on", aclType: "white", aclIds: [acl.id] } : {}),
        },
        { ...child, dependsOn: [...attachments, ...(acl ? acl.entries : [])] },
      );
    }
  }
}
