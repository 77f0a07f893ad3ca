// What adopting an instance asks of ECS about the instance itself (components/adopt/):
// what it is (DescribeInstances), the pool's security group joined and left
// (JoinSecurityGroup, LeaveSecurityGroup) and metadata tokens required, as the pool's
// launch template requires them (ModifyInstanceMetadataOptions HttpTokens=required), and
// what it was bootstrapped from tagged on it (TagResources).
// Alibaba's ECS SDK (@alicloud/ecs20140526 7.11.6, models DescribeInstancesRequest/
// ResponseBody, JoinSecurityGroupRequest, LeaveSecurityGroupRequest,
// ModifyInstanceMetadataOptionsRequest), on the client components/cloud-assistant.ts makes.
import { ecsSdk } from "./cloud-assistant";

export interface InstanceView {
  readonly instanceId: string;
  /** Running, Stopped, Starting, Stopping, Pending. */
  readonly status: string;
  readonly vpcId: string;
  readonly vswitchId: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly securityGroupIds: readonly string[];
  /** "required" or "optional". */
  readonly httpTokens: string;
  readonly tags: Readonly<Record<string, string>>;
  /** VpcAttributes.PrivateIpAddress.IpAddress[]. */
  readonly privateIps: readonly string[];
}

export interface InstanceApi {
  /** The instances that exist among `instanceIds` (an id ECS does not know is simply absent). */
  describe(instanceIds: readonly string[]): Promise<InstanceView[]>;
  /** The instances of a VPC holding these private addresses (at most 100). */
  findByPrivateIps(vpcId: string, ips: readonly string[]): Promise<InstanceView[]>;
  joinSecurityGroup(instanceId: string, securityGroupId: string): Promise<void>;
  leaveSecurityGroup(instanceId: string, securityGroupId: string): Promise<void>;
  requireMetadataTokens(instanceId: string): Promise<void>;
  /**
   * Release protection off, so that DeleteInstance may release it (it answers 403
   * InvalidOperation.DeletionProtection otherwise): ModifyInstanceAttribute DeletionProtection
   * (AlibabaCloudDocs/ecs intl.en-US API Reference/Instances/ModifyInstanceAttribute.md, DeleteInstance.md).
   */
  liftDeletionProtection(instanceId: string): Promise<void>;
  /**
   * Tags on the instance, added or overwritten (TagResources ResourceType instance:
   * @alicloud/ecs20140526 7.11.6 TagResourcesRequest; a key up to 128 characters).
   */
  tag(instanceId: string, tags: Readonly<Record<string, string>>): Promise<void>;
}

/** DescribeInstances takes at most 100 ids a call (InstanceIds, a JSON array: DescribeInstancesRequest). */
const DESCRIBE_BATCH = 100;

type SdkInstance = NonNullable<
  NonNullable<
    Awaited<ReturnType<ReturnType<typeof ecsSdk>["client"]["describeInstances"]>>["body"]
  >["instances"]
>["instance"];

function toView(x: NonNullable<SdkInstance>[number]): InstanceView {
  return {
    instanceId: x.instanceId ?? "",
    status: x.status ?? "",
    vpcId: x.vpcAttributes?.vpcId ?? "",
    vswitchId: x.vpcAttributes?.vSwitchId ?? "",
    instanceType: x.instanceType ?? "",
    imageId: x.imageId ?? "",
    securityGroupIds: x.securityGroupIds?.securityGroupId ?? [],
    httpTokens: x.metadataOptions?.httpTokens ?? "",
    tags: Object.fromEntries((x.tags?.tag ?? []).map((t) => [t.tagKey ?? "", t.tagValue ?? ""])),
    privateIps: x.vpcAttributes?.privateIpAddress?.ipAddress ?? [],
  };
}

export function instanceClient(regionId: string, endpoint?: string): InstanceApi {
  const { ecs, client } = ecsSdk(regionId, endpoint);
  return {
    describe: async (ids) => {
      const out: InstanceView[] = [];
      for (let i = 0; i < ids.length; i += DESCRIBE_BATCH) {
        const batch = ids.slice(i, i + DESCRIBE_BATCH);
        const r = await client.describeInstances(
          new ecs.DescribeInstancesRequest({
            regionId,
            instanceIds: JSON.stringify(batch),
            pageSize: DESCRIBE_BATCH,
          }),
        );
        for (const x of r.body?.instances?.instance ?? [])
          if (x.instanceId && batch.includes(x.instanceId)) out.push(toView(x));
      }
      return out;
    },
    findByPrivateIps: async (vpcId, ips) => {
      // PrivateIpAddresses takes effect with InstanceNetworkType vpc (DescribeInstancesRequest).
      const r = await client.describeInstances(
        new ecs.DescribeInstancesRequest({
          regionId,
          vpcId,
          instanceNetworkType: "vpc",
          privateIpAddresses: JSON.stringify(ips),
          pageSize: DESCRIBE_BATCH,
        }),
      );
      return (r.body?.instances?.instance ?? [])
        .map(toView)
        .filter((v) => v.vpcId === vpcId && v.privateIps.some((ip) => ips.includes(ip)));
    },
    joinSecurityGroup: async (instanceId, securityGroupId) => {
      await client.joinSecurityGroup(
        new ecs.JoinSecurityGroupRequest({ regionId, instanceId, securityGroupId }),
      );
    },
    leaveSecurityGroup: async (instanceId, securityGroupId) => {
      await client.leaveSecurityGroup(
        new ecs.LeaveSecurityGroupRequest({ regionId, instanceId, securityGroupId }),
      );
    },
    requireMetadataTokens: async (instanceId) => {
      await client.modifyInstanceMetadataOptions(
        new ecs.ModifyInstanceMetadataOptionsRequest({
          regionId,
          instanceId,
          httpEndpoint: "enabled",
          httpTokens: "required",
        }),
      );
    },
    liftDeletionProtection: async (instanceId) => {
      await client.modifyInstanceAttribute(
        new ecs.ModifyInstanceAttributeRequest({ instanceId, deletionProtection: false }),
      );
    },
    tag: async (instanceId, tags) => {
      await client.tagResources(
        new ecs.TagResourcesRequest({
          regionId,
          resourceType: "instance",
          resourceId: [instanceId],
          tag: Object.entries(tags).map(([key, value]) => new ecs.TagResourcesRequestTag({ key, value })),
        }),
      );
    },
  };
}
