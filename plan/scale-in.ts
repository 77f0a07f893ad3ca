// Scale-in drains (issue 16 item 1), pure: an ESS scale-in lifecycle hook on every pool
// hands the instances ESS is about to remove to an OOS template, which runs the one drain
// (bootstrap/drain.sh, through bootstrap/scale-in-drain.sh) with Cloud Assistant on a
// running control plane, where the cluster's credentials already are, then completes the
// lifecycle action. Nothing here calls Alibaba Cloud.
//
// Upstream read:
// - The hook: aliyun/terraform-provider-alicloud v1.289.0
//   alicloud/resource_alicloud_ess_lifecyclehook.go (lifecycle_transition SCALE_IN |
//   SCALE_OUT; heartbeat_timeout IntBetween(30, 21600), default 600; default_result
//   CONTINUE | ABANDON | ROLLBACK). NotificationArn of an OOS template:
//   `acs:ess:{region}:{account-id}:oos/{template_name}` (Alibaba Cloud ROS reference,
//   ALIYUN::ESS::LifecycleHook, NotificationArn).
// - On scale-in the instances are removed whatever the template's outcome ("Overview of
//   best practices for lifecycle hooks and OOS templates": "Scale-in: ECS instances are
//   still removed from the scaling group"): a failed drain cannot keep a node; it is made
//   visible (the failed RunCommand with the node's output, and ABANDON on the activity).
// - The template's shape follows Alibaba's public templates (aliyun/oos-templates
//   PublicTemplates/JSON/ACS-ESS-LifeCycleRunCmdOnSpecifiedInstanceToEssCreatedInstances.json:
//   ESS's `${regionId}`, `${instanceIds}`, `${lifecycleHookId}`, `${lifecycleActionToken}`
//   parameter defaults, ACS::ExecuteAPI ECS DescribeInstances with a jq ValueSelector,
//   ACS::ECS::RunCommand on one instance, Fn::Join in a property, CompleteLifecycleAction
//   CONTINUE on success and ABANDON on error; YAML/ACS-ECS-BulkyRunCommand.yml: RunCommand's
//   timeout, and a Loop with RateControl {Mode, MaxErrors, Concurrency}).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DRAIN_MARGIN_SECONDS, DRAIN_SCRIPT_PATH } from "./drain";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "./node-commands";

export const SCALE_IN_SCRIPT_PATH = join(__dirname, "..", "bootstrap", "scale-in-drain.sh");
/** After the drain: a lookup and a deletion of the Node (10 s request limit each), and the log. */
export const SCALE_IN_MARGIN_SECONDS = 60;
/** Nodes drained at once when ESS removes several in one activity. */
export const SCALE_IN_CONCURRENCY = 10;
/** The provider's (and ESS's) largest HeartbeatTimeout. */
export const HEARTBEAT_MAX_SECONDS = 21600;
/** Picking a control plane, completing the action and OOS's own scheduling. */
export const OOS_MARGIN_SECONDS = 300;
/** OOS's placeholder for the loop item: the instance being removed. */
const LOOP_ITEM = "{{ ACS::TaskLoopItem }}";

export interface ScaleInTimeouts {
  /** The drain's budget (upgrade.drainTimeoutSeconds): the same for rollouts and scale-in. */
  readonly drainSeconds: number;
  /** Cloud Assistant's Timeout for one node: the drain, drain.sh's margin, and ours. */
  readonly commandSeconds: number;
  /** How long ESS holds the instances: every batch of nodes, and OOS's margin; at most 21600 s. */
  readonly heartbeatSeconds: number;
}

export function scaleInTimeouts(drainSeconds: number, maxPoolSize: number): ScaleInTimeouts {
  const commandSeconds = drainSeconds + DRAIN_MARGIN_SECONDS + SCALE_IN_MARGIN_SECONDS;
  const batches = Math.max(1, Math.ceil(maxPoolSize / SCALE_IN_CONCURRENCY));
  const heartbeatSeconds = Math.min(HEARTBEAT_MAX_SECONDS, batches * commandSeconds + OOS_MARGIN_SECONDS);
  return { drainSeconds, commandSeconds, heartbeatSeconds };
}

const b64 = (path: string) => Buffer.from(readFileSync(path, "utf8"), "utf8").toString("base64");

/**
 * The Cloud Assistant command around the instance id: the text before it and after it.
 * Both scripts travel Base64-encoded, so the template holds no `{{` or `${` of ours that
 * OOS or ESS could take for their own placeholders.
 */
export function scaleInCommandParts(region: string, drainSeconds: number): readonly [string, string] {
  if (!/^[a-z0-9-]+$/.test(region)) throw new Error(`"${region}" is not a region id`);
  const before = [
    "#!/usr/bin/env bash",
    "# kubeadm-alicloud: scale-in drain (ESS lifecycle hook -> OOS -> Cloud Assistant)",
    "set -euo pipefail",
    'd="$(mktemp -d)"',
    "trap 'rm -rf \"$d\"' EXIT",
    `echo '${b64(DRAIN_SCRIPT_PATH)}' | base64 -d > "$d/drain.sh"`,
    `echo '${b64(SCALE_IN_SCRIPT_PATH)}' | base64 -d > "$d/scale-in-drain.sh"`,
    `KUBEADM_ALICLOUD_DRAIN_SCRIPT="$d/drain.sh" bash "$d/scale-in-drain.sh" '`,
  ].join("\n");
  const after = `' ${region} ${drainSeconds}\n`;
  return [before, after];
}

/** The command as Cloud Assistant runs it for one instance (what OOS's Fn::Join yields). */
export function scaleInCommand(region: string, drainSeconds: number, instanceId: string): string {
  const [before, after] = scaleInCommandParts(region, drainSeconds);
  const script = `${before}${instanceId}${after}`;
  if (commandContentSize(script) > COMMAND_CONTENT_LIMIT)
    throw new Error(`the scale-in command is ${commandContentSize(script)} bytes in Base64`);
  return script;
}

export interface ScaleInTemplateArgs {
  readonly region: string;
  readonly drainSeconds: number;
  readonly maxPoolSize: number;
  /** Every control plane's instance id: the drain runs on the first that is running. */
  readonly controlPlaneIds: readonly string[];
  /** The RAM role OOS assumes (oosRolePolicy). */
  readonly roleName: string;
}

const complete = (result: "CONTINUE" | "ABANDON") => ({
  Service: "ESS",
  API: "CompleteLifecycleAction",
  Parameters: {
    RegionId: "{{ regionId }}",
    LifecycleHookId: "{{ lifecycleHookId }}",
    LifecycleActionToken: "{{ lifecycleActionToken }}",
    LifecycleActionResult: result,
  },
});

/** The OOS template (FormatVersion OOS-2019-06-01) the hooks notify. */
export function scaleInTemplate(a: ScaleInTemplateArgs): Record<string, unknown> {
  if (a.controlPlaneIds.length === 0) throw new Error("the scale-in drain needs a control plane");
  const t = scaleInTimeouts(a.drainSeconds, a.maxPoolSize);
  const [before, after] = scaleInCommandParts(a.region, a.drainSeconds);
  return {
    FormatVersion: "OOS-2019-06-01",
    Description: "kubeadm-alicloud: drain pool nodes that ESS scales in, from a control plane",
    Parameters: {
      regionId: { Type: "String", Default: "${regionId}" },
      instanceIds: { Type: "List", Default: ["${instanceIds}"] },
      lifecycleHookId: { Type: "String", Default: "${lifecycleHookId}" },
      lifecycleActionToken: { Type: "String", Default: "${lifecycleActionToken}" },
      controlPlaneIds: { Type: "List", Default: [...a.controlPlaneIds] },
      OOSAssumeRole: { Type: "String", Default: a.roleName },
    },
    RamRole: "{{ OOSAssumeRole }}",
    Tasks: [
      {
        Name: "selectControlPlane",
        Action: "ACS::ExecuteAPI",
        OnError: "abandon",
        Properties: {
          Service: "ECS",
          API: "DescribeInstances",
          Parameters: { RegionId: "{{ regionId }}", InstanceIds: "{{ controlPlaneIds }}", Status: "Running" },
        },
        Outputs: { instanceId: { Type: "String", ValueSelector: ".Instances.Instance[0].InstanceId" } },
      },
      {
        Name: "drain",
        Action: "ACS::ECS::RunCommand",
        OnError: "abandon",
        OnSuccess: "complete",
        Properties: {
          regionId: "{{ regionId }}",
          commandContent: { "Fn::Join": ["", [before, LOOP_ITEM, after]] },
          instanceId: "{{ selectControlPlane.instanceId }}",
          commandType: "RunShellScript",
          timeout: t.commandSeconds,
        },
        // Every node is drained even when another's drain fails: MaxErrors covers them all.
        Loop: {
          RateControl: { Mode: "Concurrency", MaxErrors: a.maxPoolSize, Concurrency: SCALE_IN_CONCURRENCY },
          Items: "{{ instanceIds }}",
        },
      },
      {
        Name: "complete",
        Action: "ACS::ExecuteAPI",
        OnSuccess: "ACS::END",
        Properties: complete("CONTINUE"),
      },
      { Name: "abandon", Action: "ACS::ExecuteAPI", Properties: complete("ABANDON") },
    ],
  };
}

/** The hook's notification target. */
export function hookArn(region: string, accountId: string, templateName: string): string {
  return `acs:ess:${region}:${accountId}:oos/${templateName}`;
}

/**
 * What the template's role may do: read instances (picking a running control plane), run
 * Cloud Assistant commands on the control planes only (RunCommand authorizes on the
 * instance and the command) and follow them, and complete lifecycle actions of this
 * cluster's scaling groups only (CompleteLifecycleAction's RAM table: resource
 * `acs:ess:{#regionId}:{#accountId}:scalinggroup/{#ScalingGroupId}`).
 */
export function oosRoleStatements(
  region: string,
  controlPlaneIds: readonly string[],
  scalingGroupIds: readonly string[],
) {
  return [
    {
      Effect: "Allow",
      Action: ["ecs:DescribeInstances", "ecs:DescribeInvocations", "ecs:DescribeInvocationResults"],
      Resource: ["*"],
    },
    {
      Effect: "Allow",
      Action: ["ecs:RunCommand"],
      Resource: [
        ...controlPlaneIds.map((id) => `acs:ecs:${region}:*:instance/${id}`),
        `acs:ecs:${region}:*:command/*`,
      ],
    },
    {
      Effect: "Allow",
      Action: ["ess:CompleteLifecycleAction"],
      Resource: scalingGroupIds.map((id) => `acs:ess:${region}:*:scalinggroup/${id}`),
    },
  ];
}
