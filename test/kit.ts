// Shared test kit: Pulumi mocks that record every registration (type, name, parent,
// inputs, explicit dependsOn, secret inputs), plus helpers to build specs.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { validateStackConfig } from "../config/validate";
import { alicloudCalls, providerOutputs } from "../tools/render/provider-doubles";
import {
  settle,
  startMockRuntime,
  type CallHandler,
  type RecordedResource,
  type Recorder,
} from "../tools/render/mock-runtime";

export type { RecordedResource, Recorder };

export const PROJECT = "kubeadm-alicloud";

/** A minimal valid stack config; tests override what they exercise. */
export const BASE_CONFIG: Readonly<Record<string, unknown>> = {
  region: "cn-hangzhou",
  zones: ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"],
};

export function specFor(overrides: Record<string, unknown> = {}, stack = "dev"): ClusterSpec {
  return validateStackConfig({ ...BASE_CONFIG, ...overrides }, { project: PROJECT, stack });
}

/** Zones the provider double offers CLB pairs in (every pair within one region). */
const TEST_ZONES = [
  "cn-hangzhou-h",
  "cn-hangzhou-i",
  "cn-hangzhou-j",
  "cn-shanghai-e",
  "cn-shanghai-f",
  "cn-shanghai-g",
  "ap-southeast-1a",
  "ap-southeast-1b",
];

let calls: CallHandler | undefined;

/** Install recording mocks for this test file. Call once, in beforeAll. */
export async function installMocks(stack = "dev"): Promise<Recorder> {
  const defaults = alicloudCalls(undefined, TEST_ZONES);
  return startMockRuntime({
    project: PROJECT,
    stack,
    outputs: providerOutputs,
    call: (args) => calls?.(args) ?? defaults(args),
  });
}

/** Answer provider function calls (invokes) with this handler until replaced. */
export function answerCalls(handler: CallHandler | undefined): void {
  calls = handler;
}

/**
 * Declare a whole cluster for `spec` under the installed mocks and return what it
 * registered. The recorder is reset first, so each call sees only its own resources.
 */
export async function declareCluster(recorder: Recorder, spec: ClusterSpec): Promise<RecordedResource[]> {
  recorder.reset();
  const { KubeadmCluster } = await import("../components/cluster");
  const cluster = new KubeadmCluster(spec.clusterName, { spec });
  await settle();
  await resolved(cluster.network.vpcId);
  await settle();
  if (recorder.failures.length > 0) throw new Error(`registrations failed:\n${recorder.failures.join("\n")}`);
  return [...recorder.resources];
}

/**
 * The value of an Output, rejecting when it failed. Uses the SDK's internal
 * `promise()` (present on every Output implementation) because `apply` cannot observe
 * a failure.
 */
export function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

export const TAGGABLE = [
  "alicloud:vpc/network:Network",
  "alicloud:vpc/switch:Switch",
  "alicloud:vpc/natGateway:NatGateway",
  "alicloud:ecs/eipAddress:EipAddress",
  "alicloud:ecs/securityGroup:SecurityGroup",
];
