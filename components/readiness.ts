// A readiness gate that reports why it failed. Pulumi's ecs.EcsInvocation fails with
// only "Last status: Failed"; this one runs the command through Cloud Assistant itself,
// polls the result, and puts the tail of the command's output (the node's bootstrap
// log) into the error that `pulumi up` prints.
import * as pulumi from "@pulumi/pulumi";

/** One Cloud Assistant result, as DescribeInvocationResults reports it. */
export interface InvocationResult {
  readonly status: string;
  readonly exitCode?: number;
  /** The command's output, decoded. */
  readonly output: string;
  readonly errorInfo?: string;
}

/** The two Cloud Assistant calls the gate needs. */
export interface CommandApi {
  /** RunCommand; returns the invoke id. */
  run(instanceId: string, script: string, timeoutSeconds: number): Promise<string>;
  result(invokeId: string, instanceId: string): Promise<InvocationResult | undefined>;
}

/** Statuses after which a Cloud Assistant invocation does not change any more. */
const FINAL = new Set(["Success", "Failed", "Error", "Timeout", "Cancelled", "Terminated", "Stopped", "Invalid", "Aborted"]);

export interface WaitOptions {
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

/**
 * Run `script` on `instanceId` and wait for it to finish. Resolves with its output on
 * success; rejects with the status, exit code and the last 40 lines of output otherwise.
 */
export async function waitForCommand(api: CommandApi, instanceId: string, script: string, timeoutSeconds: number, opts: WaitOptions = {}): Promise<{ invokeId: string; output: string }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const invokeId = await api.run(instanceId, script, timeoutSeconds);
  // A little beyond the command's own timeout, so Cloud Assistant reports Timeout first.
  const deadline = now() + (timeoutSeconds + 120) * 1000;
  for (;;) {
    const r = await api.result(invokeId, instanceId);
    if (r && FINAL.has(r.status)) {
      if (r.status === "Success" && (r.exitCode ?? 0) === 0) return { invokeId, output: r.output };
      throw new Error(
        `${instanceId} did not become ready: Cloud Assistant invocation ${invokeId} ended ${r.status}` +
          `${r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ""}${r.errorInfo ? `: ${r.errorInfo}` : ""}\n` +
          `--- last lines of its output:\n${tail(r.output.trimEnd(), 40)}`,
      );
    }
    if (now() >= deadline) throw new Error(`${instanceId} did not become ready: no final result from Cloud Assistant invocation ${invokeId} after ${timeoutSeconds + 120} s`);
    await sleep(opts.pollMs ?? 15_000);
  }
}

/**
 * Cloud Assistant through Alibaba's ECS SDK, with the credentials the alicloud provider
 * also reads from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET, _SECURITY_TOKEN).
 */
export function alibabaCommandApi(regionId: string): CommandApi {
  // Loaded here, not at the top: this runs inside Pulumi's dynamic provider host.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ecs = require("@alicloud/ecs20140526") as typeof import("@alicloud/ecs20140526");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require("@alicloud/openapi-core") as typeof import("@alicloud/openapi-core");
  const env = process.env;
  const accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? env.ALICLOUD_ACCESS_KEY;
  const accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? env.ALICLOUD_SECRET_KEY;
  if (!accessKeyId || !accessKeySecret) {
    throw new Error("the readiness gate calls Cloud Assistant with ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET from the environment; set them");
  }
  const client = new ecs.default(new core.$OpenApiUtil.Config({
    accessKeyId,
    accessKeySecret,
    ...(env.ALIBABA_CLOUD_SECURITY_TOKEN ? { securityToken: env.ALIBABA_CLOUD_SECURITY_TOKEN } : {}),
    regionId,
    endpoint: `ecs.${regionId}.aliyuncs.com`,
  }));
  return {
    run: async (instanceId, script, timeoutSeconds) => {
      const r = await client.runCommand(new ecs.RunCommandRequest({
        regionId, instanceId: [instanceId], type: "RunShellScript", contentEncoding: "Base64",
        commandContent: Buffer.from(script).toString("base64"), timeout: timeoutSeconds, keepCommand: false,
        name: "kubeadm-alicloud-readiness",
      }));
      const id = r.body?.invokeId;
      if (!id) throw new Error(`RunCommand on ${instanceId} returned no invoke id`);
      return id;
    },
    result: async (invokeId, instanceId) => {
      const r = await client.describeInvocationResults(new ecs.DescribeInvocationResultsRequest({ regionId, invokeId, instanceId, contentEncoding: "Base64" }));
      const first = r.body?.invocation?.invocationResults?.invocationResult?.[0];
      if (!first?.invocationStatus) return undefined;
      return {
        status: first.invocationStatus,
        ...(first.exitCode !== undefined ? { exitCode: first.exitCode } : {}),
        output: Buffer.from(first.output ?? "", "base64").toString("utf8"),
        ...(first.errorInfo ? { errorInfo: first.errorInfo } : {}),
      };
    },
  };
}

interface ReadinessInputs {
  regionId: string;
  instanceId: string;
  script: string;
  timeoutSeconds: number;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ReadinessInputs) {
    const { invokeId, output } = await waitForCommand(alibabaCommandApi(inputs.regionId), inputs.instanceId, inputs.script, inputs.timeoutSeconds);
    return { id: invokeId, outs: { ...inputs, lastLine: output.trimEnd().split("\n").pop() ?? "" } };
  },
  // Every input change means another node or another check: run it again.
  async diff(_id, olds: ReadinessInputs, news: ReadinessInputs) {
    const changed = (["regionId", "instanceId", "script", "timeoutSeconds"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: changed.length > 0, replaces: changed };
  },
};

export interface ReadinessCheckArgs {
  readonly regionId: pulumi.Input<string>;
  readonly instanceId: pulumi.Input<string>;
  readonly script: pulumi.Input<string>;
  readonly timeoutSeconds: pulumi.Input<number>;
}

/** Runs `script` on the instance through Cloud Assistant; fails `pulumi up` with the script's output tail. */
export class ReadinessCheck extends pulumi.dynamic.Resource {
  declare readonly lastLine: pulumi.Output<string>;
  constructor(name: string, args: ReadinessCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, lastLine: undefined }, opts, "kubeadm-alicloud", "ReadinessCheck");
  }
}
