// Limits the alicloud provider or the Alibaba Cloud API enforce, checked with the config
// so that a mistake stops `pulumi preview` with the key named instead of failing
// half-way through `pulumi up`. Each limit cites where it is enforced. Provider sources:
// aliyun/terraform-provider-alicloud at commit 81c43b6 (the provider the installed
// @pulumi/alicloud 3.108.0 bridges is at least as new; its .d.ts agree where quoted).
import { LAUNCH_TEMPLATE_DISK_CATEGORIES } from "./api-limits";
import type { ConfigPath } from "./paths";
import type { Sections } from "./schema";
import { controlPlaneShapeFinding } from "./instance-types";
import type { ClusterSpec } from "./spec";
import { RAM_NAME_MAX, everyRamName } from "../plan/naming";
import { isObject } from "./zod-helpers";

/**
 * ESSD Entry disks attach only to the u1 and e families: RunInstancesRequest.ts
 * SystemDisk.Category ("cloud_essd_entry is supported only when InstanceType is set to
 * … ecs.u1 or … ecs.e").
 */
const ESSD_ENTRY_FAMILIES = ["u1", "e"];

type Report = (path: ConfigPath, message: string) => void;

/**
 * Limits that span keys, and warnings for what cannot be checked. The per-key limits
 * are in schema.ts, so they are reported even when a sibling key is wrong.
 */
export function checkLimits(parsed: Partial<Sections>, problem: Report, warn: Report): void {
  const { controlPlane, nodePools } = parsed;
  if (controlPlane) {
    const { warning } = controlPlaneShapeFinding(controlPlane.instanceType);
    if (warning) warn(["controlPlane", "instanceType"], warning);

    const family = controlPlane.instanceType.split(".")[1]?.split("-")[0] ?? "";
    if (controlPlane.systemDisk.category === "cloud_essd_entry" && !ESSD_ENTRY_FAMILIES.includes(family)) {
      problem(
        ["controlPlane", "systemDisk", "category"],
        `cloud_essd_entry (ESSD Entry) disks attach only to the u1 and e instance families, not ${controlPlane.instanceType}; use cloud_essd, or an ecs.u1-… or ecs.e-… instance type`,
      );
    }
  }
  if (!controlPlane || LAUNCH_TEMPLATE_DISK_CATEGORIES.includes(controlPlane.systemDisk.category)) return;
  nodePools?.forEach((pool, i) => {
    if (pool.systemDisk !== undefined) return;
    problem(
      ["nodePools", i, "systemDisk"],
      `is unset, so the pool inherits controlPlane.systemDisk (${controlPlane.systemDisk.category}), which the pools' launch template does not accept (only ${LAUNCH_TEMPLATE_DISK_CATEGORIES.join(", ")}); set nodePools[${i}].systemDisk, e.g. { category: cloud_essd, sizeGb: ${controlPlane.systemDisk.sizeGb} }`,
    );
  });
}

/**
 * The default control-plane disk is a cloud_essd at a performance level. A stack that
 * picks another category (cloud_auto, cloud_essd_entry…) without naming a level gets
 * no level, instead of one that only cloud_essd takes. Runs on the merged config.
 */
export function dropDefaultPerformanceLevel(
  raw: Record<string, unknown>,
  merged: Record<string, unknown>,
): void {
  const given = isObject(raw.controlPlane) ? raw.controlPlane.systemDisk : undefined;
  const disk = isObject(merged.controlPlane) ? merged.controlPlane.systemDisk : undefined;
  if (!isObject(given) || !isObject(disk) || given.performanceLevel !== undefined) return;
  if (given.category !== undefined && given.category !== "cloud_essd")
    Reflect.deleteProperty(disk, "performanceLevel");
}

/**
 * RAM names must fit the API's limits (RoleName and UserName 1-64 characters,
 * PolicyName 1-128: RAM CreateRole, CreateUser, CreatePolicy API references; the
 * provider checks neither, aliyun/terraform-provider-alicloud v1.289.0
 * resource_alicloud_ram_role.go, resource_alicloud_ram_policy.go,
 * resource_alicloud_ram_user.go). They are <ram.namePrefix>-…, by default
 * <clusterName>-<region>-…; every add-on's name is counted, enabled or not, so that
 * enabling one later cannot break the limit.
 */
export function checkRamNames(
  spec: ClusterSpec,
  addonNames: readonly string[],
  prefixGiven: boolean,
  problem: Report,
): void {
  const tooLong = everyRamName(spec, addonNames).filter((n) => n.name.length > RAM_NAME_MAX[n.kind]);
  if (tooLong.length === 0) return;
  const worst = tooLong.reduce((a, b) =>
    b.name.length - RAM_NAME_MAX[b.kind] > a.name.length - RAM_NAME_MAX[a.kind] ? b : a,
  );
  const over = worst.name.length - RAM_NAME_MAX[worst.kind];
  const fix = prefixGiven
    ? `shorten ram.namePrefix by ${over} or more characters`
    : `shorten clusterName by ${over} or more characters, or set ram.namePrefix to something shorter than ${spec.ram.namePrefix}`;
  problem(
    prefixGiven ? ["ram", "namePrefix"] : ["clusterName"],
    `RAM ${worst.kind} name ${worst.name} is ${worst.name.length} characters, over RAM's ${RAM_NAME_MAX[worst.kind]} (${tooLong.length} name${tooLong.length === 1 ? "" : "s"} too long); ${fix}`,
  );
}
