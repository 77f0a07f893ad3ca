// Numbers and lists the alicloud provider or the Alibaba Cloud API enforce, each with
// where it is enforced: a leaf module, read by the schema (config/schema.ts) and by the
// cross-key checks (config/limits.ts). Provider sources: aliyun/terraform-provider-alicloud
// at commit 81c43b6.

/**
 * ESS scaling groups: min_size, max_size and desired_capacity are each 0-2000:
 * alicloud/resource_alicloud_ess_scaling_group.go (`IntBetween(0, 2000)` on all three);
 * @pulumi/alicloud ess/scalingGroup.d.ts ("Value range: [0, 2000]").
 */
export const ESS_MAX_SIZE = 2000;

/**
 * The only system-disk categories `ecs.EcsLaunchTemplate` accepts (the pools' disks go
 * through a launch template): alicloud/resource_alicloud_ecs_launch_template.go
 * system_disk.category `StringInSlice(all, cloud, ephemeral_ssd, cloud_essd,
 * cloud_efficiency, cloud_ssd, local_disk)`; @pulumi/alicloud types/input.d.ts
 * `EcsLaunchTemplateSystemDisk.category` lists the same. cloud_auto and cloud_essd_entry
 * are accepted by ecs.Instance (resource_alicloud_instance.go system_disk_category) and
 * so by control planes only. Of the categories the schema offers, these remain:
 */
export const LAUNCH_TEMPLATE_DISK_CATEGORIES: readonly string[] = [
  "cloud_essd",
  "cloud_efficiency",
  "cloud_ssd",
];

/**
 * Smallest ESSD system disk per performance level: @alicloud/ecs20140526 7.11.6
 * src/models/RunInstancesRequest.ts, SystemDisk.Size ("PL0: 1 to 2048, PL1: 20 to
 * 2048, PL2: 461 to 2048, PL3: 1261 to 2048"). Launch-template instances are created by
 * the same RunInstances. PL0 and PL1 need no more than the schema's 20 GiB.
 */
export const ESSD_MIN_SIZE_GIB: Readonly<Record<string, number>> = { PL2: 461, PL3: 1261 };

/**
 * The NAT gateway's EIP is pay-as-you-go and billed by traffic (components/network.ts):
 * then 1-200 Mbit/s. @pulumi/alicloud ecs/eipAddress.d.ts `bandwidth` ("PayAsYouGo and
 * PayByTraffic: 1 to 200"; PayByBandwidth 1-500); Alibaba's AllocateEipAddress API
 * reference gives the same ranges. The provider does not check it (bandwidth is a plain
 * string in resource_alicloud_eip_address.go), so only the API would refuse it.
 */
export const EIP_PAY_BY_TRAFFIC_MAX_MBPS = 200;
