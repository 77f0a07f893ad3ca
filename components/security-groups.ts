import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { NODE_GROUPS, type NodeGroup, type SecurityRule } from "../plan/security-rules";
import { resourceName } from "../plan/naming";

export interface SecurityGroupsArgs {
  readonly clusterName: string;
  readonly vpcId: pulumi.Input<string>;
  /** The derived rule matrix (plan/security-rules.ts). */
  readonly rules: readonly SecurityRule[];
  readonly tags: Readonly<Record<string, string>>;
}

const GROUP_SUFFIX: Record<NodeGroup, string> = { controlPlane: "control-plane", workers: "workers" };

/**
 * One security group for control-plane nodes and one for workers. Members of a
 * group do not reach each other by default (innerAccessPolicy Drop): every flow,
 * even within a group, is a rule of the matrix with the reason in its description.
 */
export class SecurityGroups extends pulumi.ComponentResource {
  readonly controlPlaneGroupId: pulumi.Output<string>;
  readonly workersGroupId: pulumi.Output<string>;

  constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:network:SecurityGroups", name, {}, opts);
    const child = { parent: this };

    const groups = Object.fromEntries(
      NODE_GROUPS.map((g) => [
        g,
        new alicloud.ecs.SecurityGroup(
          resourceName(args.clusterName, "sg", GROUP_SUFFIX[g]),
          {
            securityGroupName: resourceName(args.clusterName, GROUP_SUFFIX[g]),
            description: `${GROUP_SUFFIX[g]} nodes of ${args.clusterName}`,
            vpcId: args.vpcId,
            securityGroupType: "normal",
            innerAccessPolicy: "Drop",
            tags: { ...args.tags },
          },
          child,
        ),
      ]),
    ) as Record<NodeGroup, alicloud.ecs.SecurityGroup>;

    for (const rule of args.rules) {
      new alicloud.ecs.SecurityGroupRule(
        resourceName(args.clusterName, "sg", rule.key),
        {
          securityGroupId: groups[rule.group].id,
          type: rule.direction,
          ipProtocol: rule.protocol,
          portRange: rule.portRange,
          nicType: "intranet",
          policy: rule.policy,
          priority: rule.priority,
          description: rule.description,
          ...("group" in rule.peer
            ? { sourceSecurityGroupId: groups[rule.peer.group].id }
            : { cidrIp: rule.peer.cidr }),
        },
        child,
      );
    }

    this.controlPlaneGroupId = groups.controlPlane.id;
    this.workersGroupId = groups.workers.id;
    this.registerOutputs({
      controlPlaneGroupId: this.controlPlaneGroupId,
      workersGroupId: this.workersGroupId,
    });
  }
}
