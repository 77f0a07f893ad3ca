// The ESS calls the staged rollout makes from where `pulumi up` runs: a pool's scaling
// group (size, limits), its instances, a new desired capacity, and the removal of
// replaced instances. ESS 2014-08-28 in RPC style (components/openapi-rpc.ts). Request
// and response fields: aliyun/alibaba-cloud-sdk-go services/ess (describe_scaling_groups.go,
// struct_scaling_group.go, describe_scaling_instances.go, struct_scaling_instance.go,
// scale_with_adjustment.go, remove_instances.go), the same the alicloud Terraform provider sends
// (aliyun/terraform-provider-alicloud v1.289.0 alicloud/service_alicloud_ess.go).
import { essPublicEndpoint } from "../plan/rollout/ess-endpoint";
import { rpcClient, type RpcBody as Body } from "./openapi-rpc";

export const ESS_ENDPOINT_ENV = "KUBEADM_ALICLOUD_ESS_ENDPOINT";
const VERSION = "2014-08-28";

export interface ScalingGroupView {
  readonly desired: number;
  readonly maxSize: number;
  readonly minSize: number;
  readonly lifecycleState: string;
  /** The launch-template version the group launches from ("" when it has none). */
  readonly launchTemplateVersion: string;
  /** The vSwitches it launches into (VSwitchIds.VSwitchId[], or the single VSwitchId). */
  readonly vswitchIds: readonly string[];
}

export interface ScalingInstanceView {
  readonly instanceId: string;
  /** InService, Pending, Protected, Standby, Removing, … (struct_scaling_instance.go LifecycleState). */
  readonly lifecycleState: string;
  /** The launch-template version it was launched from ("" for an attached instance). */
  readonly launchTemplateVersion: string;
  /** AutoCreated, or Attached for an instance AttachInstances added (struct_scaling_instance.go). */
  readonly creationType: string;
}

export interface EssApi {
  group(scalingGroupId: string): Promise<ScalingGroupView>;
  instances(scalingGroupId: string): Promise<ScalingInstanceView[]>;
  /**
   * The group's desired capacity to `total` (ScaleWithAdjustment TotalCapacity), as cluster-autoscaler sets
   * it. Absolute, so a retry cannot add twice; no ClientToken (a later wave may ask for the same total).
   */
  scaleTo(scalingGroupId: string, total: number): Promise<void>;
  /**
   * RemoveInstances, the desired capacity decreased by as many, the instances released
   * (RemovePolicy release: AlibabaCloudDocs/ess 3150f66 intl.en-US/API Reference/Trigger
   * task/RemoveInstances.md; an attached instance not managed by ESS is only removed).
   * `keepCapacity`: DecreaseDesiredCapacity false, the desired capacity unchanged, so that
   * ESS launches as many from the group's template ("Auto Scaling automatically maintains
   * ECS instances at this number": CreateScalingGroup.md DesiredCapacity).
   */
  remove(
    scalingGroupId: string,
    instanceIds: readonly string[],
    clientToken: string,
    keepCapacity?: boolean,
  ): Promise<void>;
  /**
   * AttachInstances, not entrusted: ESS never releases an instance it did not create
   * (Entrusted false; the expected capacity rises by as many).
   */
  attach(scalingGroupId: string, instanceIds: readonly string[], clientToken: string): Promise<void>;
  /** DetachInstances, the expected capacity lowered by as many; the instance keeps running. */
  detach(scalingGroupId: string, instanceIds: readonly string[], clientToken: string): Promise<void>;
  /** SetInstancesProtection: a protected instance is never removed by a scale-in. */
  protect(scalingGroupId: string, instanceIds: readonly string[], on: boolean): Promise<void>;
}

/**
 * RemoveInstances (and Attach/Detach/SetInstancesProtection) take at most 20 instances a
 * call (InstanceId.N, N 1-20: remove_instances.go).
 */
export const REMOVE_BATCH = 20;
const PAGE_SIZE = 50;

export function essClient(regionId: string, endpoint?: string): EssApi {
  const call = rpcClient(
    regionId,
    endpoint ?? process.env[ESS_ENDPOINT_ENV] ?? essPublicEndpoint(regionId),
    VERSION,
  );
  const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? NaN));

  return {
    group: async (id) => {
      const body = await call("DescribeScalingGroups", { "ScalingGroupId.1": id });
      const groups = ((body.ScalingGroups as Body | undefined)?.ScalingGroup ?? []) as Body[];
      const g = groups.find((x) => x.ScalingGroupId === id);
      if (!g) throw new Error(`ESS has no scaling group ${id} in ${regionId}`);
      return {
        desired: num(g.DesiredCapacity),
        maxSize: num(g.MaxSize),
        minSize: num(g.MinSize),
        lifecycleState: String(g.LifecycleState ?? ""),
        launchTemplateVersion: String(g.LaunchTemplateVersion ?? ""),
        vswitchIds: (() => {
          const list = ((g.VSwitchIds as Body | undefined)?.VSwitchId ?? []) as string[];
          return list.length > 0 ? list : g.VSwitchId ? [String(g.VSwitchId)] : [];
        })(),
      };
    },
    instances: async (id) => {
      const out: ScalingInstanceView[] = [];
      for (let page = 1; ; page++) {
        const body = await call("DescribeScalingInstances", {
          ScalingGroupId: id,
          PageNumber: String(page),
          PageSize: String(PAGE_SIZE),
        });
        const items = ((body.ScalingInstances as Body | undefined)?.ScalingInstance ?? []) as Body[];
        for (const i of items)
          out.push({
            instanceId: String(i.InstanceId),
            lifecycleState: String(i.LifecycleState ?? ""),
            launchTemplateVersion: String(i.LaunchTemplateVersion ?? ""),
            creationType: String(i.CreationType ?? ""),
          });
        // As cluster-autoscaler pages (cloudprovider/alicloud/alicloud_auto_scaling.go
        // getScalingInstancesByGroup): stop when the pages cover TotalCount.
        if (items.length === 0 || page * PAGE_SIZE >= num(body.TotalCount)) return out;
      }
    },
    scaleTo: async (id, total) => {
      await call("ScaleWithAdjustment", {
        ScalingGroupId: id,
        AdjustmentType: "TotalCapacity",
        AdjustmentValue: String(total),
      });
    },
    remove: (id, instanceIds, clientToken, keepCapacity) =>
      batched(instanceIds, (batch, n) =>
        call("RemoveInstances", {
          ScalingGroupId: id,
          DecreaseDesiredCapacity: keepCapacity ? "false" : "true",
          RemovePolicy: "release",
          ClientToken: `${clientToken}-${n}`,
          ...batch,
        }),
      ),
    // AttachInstances, DetachInstances, SetInstancesProtection: InstanceId.N with N 1-20
    // (attach_instances.go, detach_instances.go, set_instances_protection.go; AlibabaCloudDocs/ess
    // 3150f66 intl.en-US/API Reference/Trigger task/AttachInstances.md, DetachInstances.md,
    // Instance/SetInstancesProtection.md). No LifecycleHook: adoption runs its own drain.
    attach: (id, instanceIds, clientToken) =>
      batched(instanceIds, (batch, n) =>
        call("AttachInstances", {
          ScalingGroupId: id,
          Entrusted: "false",
          ClientToken: `${clientToken}-${n}`,
          ...batch,
        }),
      ),
    detach: (id, instanceIds, clientToken) =>
      batched(instanceIds, (batch, n) =>
        call("DetachInstances", {
          ScalingGroupId: id,
          DecreaseDesiredCapacity: "true",
          ClientToken: `${clientToken}-${n}`,
          ...batch,
        }),
      ),
    protect: (id, instanceIds, on) =>
      batched(instanceIds, (batch) =>
        call("SetInstancesProtection", {
          ScalingGroupId: id,
          ProtectedFromScaleIn: on ? "true" : "false",
          ...batch,
        }),
      ),
  };
}

/** Calls `f` for each 20 ids as InstanceId.1-20, one batch after another. */
async function batched(
  ids: readonly string[],
  f: (batch: Record<string, string>, n: number) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < ids.length; i += REMOVE_BATCH) {
    const batch = ids.slice(i, i + REMOVE_BATCH);
    await f(Object.fromEntries(batch.map((x, n) => [`InstanceId.${n + 1}`, x])), i / REMOVE_BATCH);
  }
}

/**
 * ESS refuses a scaling request while another scaling activity runs or the group is not
 * Active; the alicloud provider retries these codes too (aliyun/terraform-provider-alicloud
 * v1.289.0 resource_alicloud_ess_attachment.go: ScalingActivityInProgress,
 * IncorrectScalingGroupStatus, InvalidOperation.Conflict; AttachInstances.md lists the first
 * two). openapi-core raises them with the code as `code` (test/ess-client.test.ts).
 */
export const ESS_BUSY_CODES = [
  "ScalingActivityInProgress",
  "IncorrectScalingGroupStatus",
  "InvalidOperation.Conflict",
];

export interface BusyOptions {
  /** How long ESS may stay busy before the call's error is passed on. */
  readonly seconds: number;
  readonly log: (line: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `f`, again after 5 s, 10 s, … (at most a minute apart) while ESS answers busy, within `seconds`. */
export async function whileEssBusy<T>(f: () => Promise<T>, o: BusyOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + o.seconds * 1000;
  for (let pause = 5_000; ; pause = Math.min(pause * 2, 60_000)) {
    try {
      return await f();
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? "");
      if (!ESS_BUSY_CODES.includes(code) || now() + pause > deadline) throw err;
      o.log(`ESS is busy (${code}); again in ${pause / 1000} s`);
      await sleep(pause);
    }
  }
}
