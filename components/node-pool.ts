import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { NodePoolSpec } from "../config/spec";
import { resourceName } from "../plan/naming";
import { bootstrapDigest, poolTemplateDigest, TEMPLATE_DIGEST_TAG } from "../plan/pool-template";

export interface NodePoolArgs {
  readonly clusterName: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The key pair nodes accept, when ssh is enabled. */
  readonly keyPairName?: string;
  /** Whether the scaling group refuses deletion (the cluster's deletion protection). */
  readonly deletionProtection: boolean;
  readonly pool: NodePoolSpec;
  /** components/user-data.ts poolUserData. */
  readonly userData: pulumi.Input<string>;
  /** components/user-data.ts poolShapeUserData: the user data apart from the version, for the digest. */
  readonly shapeUserData: pulumi.Input<string>;
  readonly imageId: pulumi.Input<string>;
  readonly vswitchIds: readonly pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly roleName: pulumi.Input<string>;
  /**
   * What must exist before the scaling group starts instances (the control plane's
   * readiness checks and the load balancer's backends). Given to the group itself:
   * a component's dependsOn is not passed on to its children.
   */
  readonly waitFor: readonly pulumi.Resource[];
  /**
   * The control planes' confirmed version (ControlPlaneRollout): the group takes a new
   * launch-template version only once every control plane runs the new release, so that
   * no node (the autoscaler's included) joins with a kubelet newer than an API server.
   */
  readonly releaseAfter: pulumi.Input<string>;
}

/**
 * One node pool: a launch template (metadata tokens required, encrypted disk, the
 * pool's own RAM role, which alone may read the pool's join token) and an ESS
 * scaling group across every zone.
 * Two resources whatever the pool's size.
 */
export class NodePool extends pulumi.ComponentResource {
  readonly scalingGroupId: pulumi.Output<string>;
  /** The launch-template version the group launches from, once the group took it. */
  readonly launchTemplateVersion: pulumi.Output<string>;
  /** What its nodes are apart from the version (plan/pool-template.ts), tagged on each. */
  readonly templateDigest: pulumi.Output<string>;
  /** Its user data apart from the version (plan/pool-template.ts bootstrapDigest), for adopted instances. */
  readonly bootstrapDigest: pulumi.Output<string>;

  constructor(name: string, args: NodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:NodePool", name, {}, opts);
    const { clusterName, pool } = args;
    const child = { parent: this };
    const [firstType] = pool.instanceTypes;
    this.bootstrapDigest = pulumi.output(args.shapeUserData).apply(bootstrapDigest);
    this.templateDigest = pulumi
      .all([args.imageId, args.securityGroupId, args.roleName, args.shapeUserData])
      .apply(([imageId, securityGroupId, roleName, shapeUserData]) =>
        poolTemplateDigest({
          imageId,
          instanceTypes: pool.instanceTypes,
          systemDisk: pool.systemDisk,
          ...(args.keyPairName ? { keyPairName: args.keyPairName } : {}),
          securityGroupId,
          roleName,
          shapeUserData,
        }),
      );
    const template = new alicloud.ecs.EcsLaunchTemplate(
      resourceName(clusterName, "pool", pool.name),
      {
        launchTemplateName: resourceName(clusterName, "pool", pool.name),
        description: `Nodes of pool ${pool.name} in ${clusterName}`,
        imageId: args.imageId,
        instanceType: firstType,
        instanceName: resourceName(clusterName, pool.name),
        securityGroupIds: [args.securityGroupId],
        ramRoleName: args.roleName,
        ...(args.keyPairName ? { keyPairName: args.keyPairName } : {}),
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
        userData: pulumi.output(args.userData).apply((u) => Buffer.from(u, "utf8").toString("base64")),
        // Instance tags (LaunchTemplateData Tags: aliyun/terraform-provider-alicloud v1.289.0
        // website/docs/r/ecs_launch_template.html.markdown `tags`, "assign to instance"), which
        // ESS puts on the instances it launches ("to add tags to an ECS instance in the scaling
        // group, you must specify the tags in the scaling configuration or in the launch
        // template": AlibabaCloudDocs/ess 3150f66 intl.en-US/Scaling Group/Scaling group/Create a
        // scaling group.md): each node carries what it was launched as.
        tags: pulumi.output(this.templateDigest).apply((digest) => ({
          ...args.tags,
          "kubeadm-alicloud.io/role": "worker",
          "kubeadm-alicloud.io/pool": pool.name,
          [TEMPLATE_DIGEST_TAG]: digest,
        })),
        templateTags: { ...args.tags },
      },
      child,
    );
    const group = new alicloud.ess.ScalingGroup(
      resourceName(clusterName, "pool", pool.name, "group"),
      {
        scalingGroupName: resourceName(clusterName, pool.name),
        minSize: pool.minSize,
        maxSize: pool.maxSize,
        desiredCapacity: pool.desiredCapacity,
        vswitchIds: [...args.vswitchIds],
        multiAzPolicy: "BALANCE",
        launchTemplateId: template.id,
        // The template's version this run made, not "Latest": a new version reaches the
        // group only through a declared change (shown in the review as the group's diff),
        // never between runs (aliyun/terraform-provider-alicloud v1.289.0
        // ecs_launch_template latest_version_number; ess_scaling_group
        // launch_template_version takes a number, Latest or Default).
        // Held until the control planes are confirmed at their version (releaseAfter).
        launchTemplateVersion: pulumi
          .all([template.latestVersionNumber, args.releaseAfter])
          .apply(([v]) => String(v)),
        launchTemplateOverrides: pool.instanceTypes.map((instanceType) => ({ instanceType })),
        removalPolicies: ["OldestInstance"],
        healthCheckTypes: ["ECS"],
        groupDeletionProtection: args.deletionProtection,
        tags: { ...args.tags, "kubeadm-alicloud.io/pool": pool.name },
      },
      {
        parent: this,
        dependsOn: [...args.waitFor],
        // The cluster-autoscaler moves the desired capacity; pulumi up must not undo it.
        ignoreChanges: ["desiredCapacity"],
      },
    );
    this.scalingGroupId = group.id;
    this.launchTemplateVersion = group.launchTemplateVersion.apply((v) => v ?? "");
    this.registerOutputs({ scalingGroupId: this.scalingGroupId });
  }
}
