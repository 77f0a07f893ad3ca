// One client for what kubeadm-alicloud asks of ECS itself at deploy time: Cloud
// Assistant (the readiness gate now; the rollout and the drain later) and an instance's
// RAM role (the control planes' bootstrap-role handover). Alibaba's own SDK
// (@alicloud/ecs20140526 7.11.6 on @alicloud/openapi-core 1.0.8) with the standard
// credential chain (@alicloud/credentials 2.4.7). The SDK is loaded lazily: this code
// also runs inside Pulumi's dynamic provider host, which serializes the functions that
// call it.
import type * as EcsSdk from "@alicloud/ecs20140526";

/** One Cloud Assistant result, as DescribeInvocationResults reports it. */
export interface InvocationResult {
  readonly status: string;
  readonly exitCode?: number;
  /** The command's output, decoded. */
  readonly output: string;
  readonly errorCode?: string;
  readonly errorInfo?: string;
}

/** The Cloud Assistant calls: what the readiness gate (and later the rollout and drain) needs. */
export interface CommandApi {
  /** DescribeCloudAssistantStatus: is the agent on the instance online? */
  agentOnline(instanceId: string): Promise<boolean>;
  /** RunCommand; returns the invoke id. */
  run(instanceId: string, script: string, timeoutSeconds: number): Promise<string>;
  result(invokeId: string, instanceId: string): Promise<InvocationResult | undefined>;
}

/** An instance's RAM role, changed and then waited for until DescribeInstanceRamRole shows the change. */
export interface RoleApi {
  /** The role attached to the instance, or undefined. */
  instanceRole(instanceId: string): Promise<string | undefined>;
  attachRole(instanceId: string, roleName: string): Promise<void>;
  detachRole(instanceId: string, roleName: string): Promise<void>;
}

export type EcsApi = CommandApi & RoleApi;

export interface EcsClientOptions {
  /**
   * An endpoint for tests, e.g. http://127.0.0.1:8080; default: KUBEADM_ALICLOUD_ECS_ENDPOINT, else the SDK's
   * own for the region.
   */
  readonly endpoint?: string;
  /**
   * How long attachRole/detachRole wait for DescribeInstanceRamRole to show the change, and how often they
   * look.
   */
  readonly roleWaitMs?: number;
  readonly rolePollMs?: number;
}

/** How long an attach or detach may take to show in DescribeInstanceRamRole. */
export const ROLE_CHANGE_WAIT_MS = 120_000;
export const ENDPOINT_ENV = "KUBEADM_ALICLOUD_ECS_ENDPOINT";

// The alicloud provider's names for credentials, mapped onto the names the credential
// chain reads. The provider's own precedence (terraform-provider-alicloud
// alicloud/provider.go, schema.MultiEnvDefaultFunc per field) reads ALICLOUD_* first,
// then ALIBABA_CLOUD_*, then ALIBABACLOUD_*; the chain (@alicloud/credentials 2.4.7
// src/providers/env.ts, cli_profile.ts, profile.ts, ecs_ram_role.ts, uri.ts) reads only
// ALIBABA_CLOUD_*. Not mapped: ALICLOUD_SHARED_CREDENTIALS_FILE (the provider reads a
// CLI config.json there; the chain's ALIBABA_CLOUD_CREDENTIALS_FILE is an INI file) and
// ALICLOUD_ASSUME_ROLE_ARN (the chain has no assume-role step).
const ALIASES: ReadonlyArray<readonly [string, readonly string[]]> = [
  [
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    ["ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABACLOUD_ACCESS_KEY_ID"],
  ],
  [
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ["ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABACLOUD_ACCESS_KEY_SECRET"],
  ],
  [
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    ["ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABACLOUD_SECURITY_TOKEN"],
  ],
  ["ALIBABA_CLOUD_PROFILE", ["ALICLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE"]],
  ["ALIBABA_CLOUD_ECS_METADATA", ["ALICLOUD_ECS_ROLE_NAME", "ALIBABA_CLOUD_ECS_METADATA"]],
  ["ALIBABA_CLOUD_CREDENTIALS_URI", ["ALICLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_CREDENTIALS_URI"]],
];

/**
 * The ALIBABA_CLOUD_* values the credential chain should see, resolved with the alicloud provider's
 * precedence.
 */
export function credentialEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [target, sources] of ALIASES) {
    const value = sources.map((s) => env[s]).find((v) => v !== undefined && v !== "");
    if (value !== undefined) out[target] = value;
  }
  return out;
}

/** "http://127.0.0.1:8080" → the SDK's endpoint (host[:port]) and protocol. */
export function parseEndpoint(endpoint: string): { endpoint: string; protocol: string } {
  const m = /^(https?):\/\/([^/]+)\/?$/i.exec(endpoint.trim());
  if (m?.[1] && m[2]) return { endpoint: m[2], protocol: m[1].toUpperCase() };
  if (/^[^/:]+(:\d+)?$/.test(endpoint.trim())) return { endpoint: endpoint.trim(), protocol: "HTTPS" };
  throw new Error(
    `${ENDPOINT_ENV}: expected http(s)://host[:port] or host[:port], got ${JSON.stringify(endpoint)}`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise<void>((r) => setTimeout(r, ms));
}

/**
 * The ECS client for a region. Credentials: @alicloud/credentials' default chain
 * (src/providers/default.ts: environment, OIDC role (ALIBABA_CLOUD_ROLE_ARN,
 * _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE), the aliyun CLI's ~/.aliyun/config.json
 * (profile ALIBABA_CLOUD_PROFILE or its "current"), ~/.alibabacloud/credentials (or
 * ALIBABA_CLOUD_CREDENTIALS_FILE), the ECS instance's RAM role from the metadata
 * service, ALIBABA_CLOUD_CREDENTIALS_URI), after the ALICLOUD_* names are mapped onto
 * the ones it reads (credentialEnvironment). openapi-core 1.0.8 uses Config.credential
 * when no accessKeyId/secret is given (src/client.ts, constructor).
 * Endpoint: `override`, else KUBEADM_ALICLOUD_ECS_ENDPOINT, else the SDK's own.
 */
export function ecsSdk(regionId: string, override?: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ecs = require("@alicloud/ecs20140526") as typeof import("@alicloud/ecs20140526");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require("@alicloud/openapi-core") as typeof import("@alicloud/openapi-core");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const credentials = require("@alicloud/credentials") as typeof import("@alicloud/credentials");
  // The chain reads process.env when it is built and when it is asked (env.ts reads at
  // getCredentials), so the mapped names go into process.env; this process is Pulumi's
  // provider host or a test's child, not a shared server.
  Object.assign(process.env, credentialEnvironment(process.env));
  const endpoint = override ?? process.env[ENDPOINT_ENV];
  // Without an endpoint the SDK resolves the region's own (ecs20140526 src/client.ts
  // getEndpoint: its endpoint map, e.g. cn-hangzhou → ecs-cn-hangzhou.aliyuncs.com, else
  // the regional rule ecs.<region>.aliyuncs.com).
  const client = new ecs.default(
    new core.$OpenApiUtil.Config({
      credential: new credentials.default(),
      regionId,
      ...(endpoint ? parseEndpoint(endpoint) : {}),
    }),
  );
  return { ecs, client };
}

/** Cloud Assistant and instance RAM roles, on ecsSdk's client. */
export function ecsClient(regionId: string, opts: EcsClientOptions = {}): EcsApi {
  const { ecs, client } = ecsSdk(regionId, opts.endpoint);
  const roleWaitMs = opts.roleWaitMs ?? ROLE_CHANGE_WAIT_MS;
  const rolePollMs = opts.rolePollMs ?? 2_000;

  const instanceRole = async (instanceId: string): Promise<string | undefined> => {
    // DescribeInstanceRamRoleRequest.instanceIds is a JSON array in a string; the body
    // lists InstanceRamRoleSets.InstanceRamRoleSet[{InstanceId, RamRoleName}]
    // (models/DescribeInstanceRamRoleRequest.ts, DescribeInstanceRamRoleResponseBody.ts).
    const r = await client.describeInstanceRamRole(
      new ecs.DescribeInstanceRamRoleRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
    );
    const set = r.body?.instanceRamRoleSets?.instanceRamRoleSet ?? [];
    const name = set.find((s) => s.instanceId === instanceId)?.ramRoleName;
    return name ? name : undefined;
  };

  const waitForRole = async (
    instanceId: string,
    want: (role: string | undefined) => boolean,
    what: string,
  ): Promise<void> => {
    const deadline = Date.now() + roleWaitMs;
    for (;;) {
      const role = await instanceRole(instanceId);
      if (want(role)) return;
      if (Date.now() >= deadline)
        throw new Error(
          `${instanceId}: ${what} did not show in DescribeInstanceRamRole within ${roleWaitMs / 1000} s (it shows ${role ?? "no role"})`,
        );
      await sleep(rolePollMs);
    }
  };

  /**
   * Attach/Detach report per instance (…Results.…Result[{InstanceId, Success, Code, Message}]); a failure
   * there is not an HTTP error.
   */
  const checkPerInstance = (
    results:
      readonly { instanceId?: string; success?: boolean; code?: string; message?: string }[] | undefined,
    instanceId: string,
    action: string,
  ) => {
    const mine = (results ?? []).find((x) => x.instanceId === instanceId);
    if (mine && mine.success === false)
      throw new Error(`${action} on ${instanceId} failed: ${mine.code ?? ""} ${mine.message ?? ""}`.trim());
  };

  return {
    agentOnline: async (instanceId) => {
      // DescribeCloudAssistantStatusRequest.instanceId is a list (InstanceId.N); the body has
      // InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[{InstanceId, CloudAssistantStatus:
      // "true"|"false"}]
      // (models/DescribeCloudAssistantStatusRequest.ts, …ResponseBody.ts).
      const r = await client.describeCloudAssistantStatus(
        new ecs.DescribeCloudAssistantStatusRequest({ regionId, instanceId: [instanceId] }),
      );
      const set = r.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus ?? [];
      return set.some((s) => s.instanceId === instanceId && s.cloudAssistantStatus === "true");
    },
    run: async (instanceId, script, timeoutSeconds) => {
      // RunCommandRequest (models/RunCommandRequest.ts): Timeout in seconds, after which the
      // agent kills the command; ContentEncoding Base64 for CommandContent.
      const r = await client.runCommand(
        new ecs.RunCommandRequest({
          regionId,
          instanceId: [instanceId],
          type: "RunShellScript",
          contentEncoding: "Base64",
          commandContent: Buffer.from(script).toString("base64"),
          timeout: timeoutSeconds,
          keepCommand: false,
          name: "kubeadm-alicloud-readiness",
        }),
      );
      const id = r.body?.invokeId;
      if (!id) throw new Error(`RunCommand on ${instanceId} returned no invoke id`);
      return id;
    },
    result: async (invokeId, instanceId) => {
      // models/DescribeInvocationResultsResponseBody.ts: Invocation.InvocationResults.InvocationResult[]
      // with InvocationStatus, ExitCode, ErrorCode, ErrorInfo and Output (Base64 when asked).
      const r = await client.describeInvocationResults(
        new ecs.DescribeInvocationResultsRequest({
          regionId,
          invokeId,
          instanceId,
          contentEncoding: "Base64",
        }),
      );
      const first = r.body?.invocation?.invocationResults?.invocationResult?.[0];
      return first ? toResult(first) : undefined;
    },
    instanceRole,
    attachRole: async (instanceId, roleName) => {
      const r = await client.attachInstanceRamRole(
        new ecs.AttachInstanceRamRoleRequest({
          regionId,
          instanceIds: JSON.stringify([instanceId]),
          ramRoleName: roleName,
        }),
      );
      checkPerInstance(
        r.body?.attachInstanceRamRoleResults?.attachInstanceRamRoleResult,
        instanceId,
        `AttachInstanceRamRole ${roleName}`,
      );
      await waitForRole(instanceId, (role) => role === roleName, `attaching ${roleName}`);
    },
    detachRole: async (instanceId, roleName) => {
      const r = await client.detachInstanceRamRole(
        new ecs.DetachInstanceRamRoleRequest({
          regionId,
          instanceIds: JSON.stringify([instanceId]),
          ramRoleName: roleName,
        }),
      );
      checkPerInstance(
        r.body?.detachInstanceRamRoleResults?.detachInstanceRamRoleResult,
        instanceId,
        `DetachInstanceRamRole ${roleName}`,
      );
      await waitForRole(instanceId, (role) => role !== roleName, `detaching ${roleName}`);
    },
  };
}

type SdkInvocationResult =
  EcsSdk.DescribeInvocationResultsResponseBodyInvocationInvocationResultsInvocationResult;

function toResult(first: SdkInvocationResult): InvocationResult | undefined {
  if (!first.invocationStatus) return undefined;
  return {
    status: first.invocationStatus,
    ...(first.exitCode !== undefined && first.exitCode !== null ? { exitCode: first.exitCode } : {}),
    output: Buffer.from(first.output ?? "", "base64").toString("utf8"),
    ...(first.errorCode ? { errorCode: first.errorCode } : {}),
    ...(first.errorInfo ? { errorInfo: first.errorInfo } : {}),
  };
}
