import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";
import { resourceName } from "../plan/naming";
import { renderUserData } from "../plan/node-bootstrap";
import type { KeyAlgorithm } from "../plan/pki";

export interface NodePoolArgs {
  readonly spec: ClusterSpec;
  readonly pool: NodePoolSpec;
  readonly imageId: pulumi.Input<string>;
  readonly vswitchIds: readonly pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly roleName: pulumi.Input<string>;
  readonly loadBalancerAddress: pulumi.Input<string>;
  readonly discoveryHash: pulumi.Input<string>;
  readonly encryptionAlgorithm: KeyAlgorithm;
  /**
   * What must exist before the scaling group starts instances (the control plane's
   * readiness checks and the load balancer's backends). Given to the group itself:
   * a component's dependsOn is not passed on to its children.
   */
  readonly waitFor: readonly pulumi.Resource[];
}

/**
 * One node pool: a launch template (metadata tokens required, encrypted disk, the
 * pool's own RAM role, which alone may read the pool's join token) and an ESS
 * scaling group across every zone.
 * Two resources whatever the pool's size.
 */
export class NodePool extends pulumi.ComponentResource {
  readonly scalingGroupId: pulumi.Output<string>;

  constructor(name: string, args: NodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:NodePool", name, {}, opts);
    const { spec, pool } = args;
    const child = { parent: this };
    // The pool's join token is read at boot with the pool's role: user data holds none.
    const userData = pulumi
      .all([args.loadBalancerAddress, args.discoveryHash])
      .apply(([loadBalancerAddress, discoveryHash]) =>
        renderUserData(
          {
            spec,
            facts: { loadBalancerAddress, discoveryHash, encryptionAlgorithm: args.encryptionAlgorithm },
            role: "worker",
            pool,
          },
          {},
        ),
      );
    const [firstType] = pool.instanceTypes;
    const template = new alicloud.ecs.EcsLaunchTemplate(
      resourceName(spec.clusterName, "pool", pool.name),
      {
        launchTemplateName: resourceName(spec.clusterName, "pool", pool.name),
        description: `Nodes of pool ${pool.name} in ${spec.clusterName}`,
        imageId: args.imageId,
        instanceType: firstType,
        instanceName: resourceName(spec.clusterName, pool.name),
        securityGroupIds: [args.securityGroupId],
        ramRoleName: args.roleName,
        ...(spec.ssh.enabled && spec.ssh.keyPairName ? { keyPairName: spec.ssh.keyPairName } : {}),
        httpEndpoint: "enabled",
        httpTokens: "required",
        systemDisk: {
          category: pool.systemDisk.category,
          size: pool.systemDisk.sizeGb,
          ...(pool.systemDisk.performanceLevel ? { performanceLevel: pool.systemDisk.performanceLevel } : {}),
          encrypted: true,
          deleteWithInstance: true,
        },
        // A launch template passes user data through unchanged: encode it here.
        userData: userData.apply((u) => Buffer.from(u, "utf8").toString("base64")),
        tags: { ...spec.tags, "kubeadm-alicloud.io/role": "worker", "kubeadm-alicloud.io/pool": pool.name },
        templateTags: { ...spec.tags },
      },
      child,
    );
    const group = new alicloud.ess.ScalingGroup(
      resourceName(spec.clusterName, "pool", pool.name, "group"),
      {
        scalingGroupName: resourceName(spec.clusterName, pool.name),
        minSize: pool.minSize,
        maxSize: pool.maxSize,
        desiredCapacity: pool.desiredCapacity,
        vswitchIds: [...args.vswitchIds],
        multiAzPolicy: "BALANCE",
        launchTemplateId: template.id,
        launchTemplateVersion: "Latest",
        launchTemplateOverrides: pool.instanceTypes.map((instanceType) => ({ instanceType })),
        removalPolicies: ["OldestInstance"],
        healthCheckTypes: ["ECS"],
        groupDeletionProtection: spec.controlPlane.deletionProtection,
        tags: { ...spec.tags, "kubeadm-alicloud.io/pool": pool.name },
      },
      {
        parent: this,
        dependsOn: [...args.waitFor],
        // The cluster-autoscaler moves the desired capacity; pulumi up must not undo it.
        ignoreChanges: ["desiredCapacity"],
      },
    );
    this.scalingGroupId = group.id;
    this.registerOutputs({ scalingGroupId: this.scalingGroupId });
  }
}
