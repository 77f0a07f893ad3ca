// Start and read fake-ecs.py: a loopback ECS API that the real @alicloud/ecs20140526
// client talks to (see the script's docstring for what it answers).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll } from "vitest";

export const FAKE_ECS = join(__dirname, "fake-ecs.py");

export interface ScriptedResult {
  readonly status: string;
  readonly exitCode?: number;
  readonly output?: string;
  readonly errorCode?: string;
  readonly errorInfo?: string;
}

export interface FakeEcsConfig {
  readonly agentOfflinePolls?: number;
  readonly runErrors?: readonly { status: number; code: string }[];
  readonly abortedRuns?: number;
  readonly results?: readonly ScriptedResult[];
  readonly roles?: Readonly<Record<string, string>>;
  readonly roleLag?: number;
  readonly attachFail?: { code: string; message: string };
  readonly metadataRole?: string;
  readonly metadataKey?: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string };
  readonly vswitches?: Readonly<Record<string, number>>;
  /** How often Attach/DetachInstances and SetInstancesProtection answer ScalingActivityInProgress. */
  readonly essBusy?: number;
  /** DescribeInstances: instance id → its Instance fields (struct_instance.go names). */
  readonly instances?: Readonly<Record<string, Record<string, unknown>>>;
  readonly groups?: Readonly<
    Record<
      string,
      {
        DesiredCapacity: number;
        MaxSize: number;
        MinSize: number;
        LaunchTemplateVersion?: string;
        VSwitchIds?: { VSwitchId: readonly string[] };
        instances: readonly {
          InstanceId: string;
          LifecycleState: string;
          LaunchTemplateVersion?: string;
          CreationType?: string;
        }[];
      }
    >
  >;
}

export interface EcsRequest {
  readonly method: string;
  readonly path: string;
  readonly action: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
}

export interface FakeEcs {
  readonly url: string;
  requests(): EcsRequest[];
  /** Requests of one action, in order. */
  calls(action: string): EcsRequest[];
  stop(): void;
}

/** Files for a fake-ecs.py run: its config, request log and port file. */
export function fakeEcsFiles(config: FakeEcsConfig): {
  dir: string;
  config: string;
  log: string;
  port: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "ecs-"));
  const files = {
    dir,
    config: join(dir, "config.json"),
    log: join(dir, "requests.jsonl"),
    port: join(dir, "port"),
  };
  writeFileSync(files.config, JSON.stringify(config));
  return files;
}

export function readEcsLog(log: string): EcsRequest[] {
  return existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EcsRequest)
    : [];
}

export async function startFakeEcs(config: FakeEcsConfig): Promise<FakeEcs> {
  const files = fakeEcsFiles(config);
  const child = spawn("python3", [FAKE_ECS, files.config, files.log, files.port], { stdio: "ignore" });
  for (let waited = 0; !existsSync(files.port); waited += 20) {
    if (waited > 10_000 || child.exitCode !== null) throw new Error("fake-ecs.py did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = `http://127.0.0.1:${readFileSync(files.port, "utf8").trim()}`;
  const requests = () => readEcsLog(files.log);
  return {
    url,
    requests,
    calls: (action) => requests().filter((r) => r.action === action),
    stop: () => void child.kill(),
  };
}

/** The AccessKeyId an ACS3-HMAC-SHA256 Authorization header names. */
export function signedBy(r: EcsRequest): string | undefined {
  return /^ACS3-HMAC-SHA256 Credential=([^,]+),/.exec(r.headers.authorization ?? "")?.[1];
}

/**
 * For a test file: `fake(config)` starts a fake ECS API that is stopped after each
 * test, and the environment's access key (the credential chain's first step) is set to
 * `keyId` for the file.
 */
export function fakeEcsPerTest(keyId: string): (config: FakeEcsConfig) => Promise<FakeEcs> {
  let fakes: FakeEcs[] = [];
  beforeAll(() => {
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = keyId;
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = "test-secret";
  });
  afterEach(() => {
    for (const f of fakes) f.stop();
    fakes = [];
  });
  return async (config) => {
    const f = await startFakeEcs(config);
    fakes.push(f);
    return f;
  };
}
