// Evaluate the real program (index.ts) for one stack under Pulumi's mock runtime and
// produce the review bundle. No cloud, no Pulumi CLI.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupBucketName } from "../../plan/etcd-backup";
import type { ClusterSpec } from "../../config/spec";
import { alicloudCalls, providerOutputs } from "./provider-doubles";
import { addonsJson, resourcesJson, summaryText } from "./bundle";
import { settle, startMockRuntime, type RecordedResource } from "./mock-runtime";
import { nodeFiles } from "./nodes-bundle";
import { pkiFiles, pkiJson } from "./pki-bundle";
import type { StackConfig } from "./stack-file";

export interface RenderResult {
  readonly spec: ClusterSpec;
  readonly resources: readonly RecordedResource[];
  /** File name (relative to the bundle folder) -> content. */
  readonly files: Readonly<Record<string, string>>;
}

interface OutputLike {
  apply<T>(f: (v: string | undefined) => T): unknown;
}

function valueOf(output: OutputLike | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (!output) resolve(undefined);
    else output.apply((v) => resolve(v));
  });
}

export interface RenderOptions {
  /** Also write the emulated PKI files (keys included) under pki/. */
  readonly materialize?: boolean;
  /**
   * The version the stack last confirmed deployed (the render has no state: this stands
   * for it). Adds upgrade-plan.json and upgrade-plan.md; a refused step is a ConfigError.
   */
  readonly deployedVersion?: string;
}

export async function renderStack(stack: StackConfig, options: RenderOptions = {}): Promise<RenderResult> {
  // Validation needs no mocks; run it first so a bad config fails with its own message.
  const { validateStackConfig } = await import("../../config/validate");
  const { projectConfig } = await import("../../config/load");
  const { plainForeignConfig } = await import("../../config/plain-secrets");
  const providerRegion = stack.config["alicloud:region"];
  const spec = validateStackConfig(projectConfig(stack.config, stack.project), {
    project: stack.project,
    stack: stack.stack,
    ...(providerRegion !== undefined ? { providerRegion } : {}),
    secretKeys: stack.secretKeys
      .filter((k) => k.startsWith(`${stack.project}:`))
      .map((k) => k.slice(stack.project.length + 1)),
    plainForeignConfig: plainForeignConfig(stack.config, stack.project, (k) => stack.secretKeys.includes(k)),
  });

  const upgrade =
    options.deployedVersion === undefined ? {} : await upgradeFiles(spec, stack, options.deployedVersion);

  const adopted = spec.network.vpc.existingId
    ? { id: spec.network.vpc.existingId, cidr: spec.network.vpc.cidr }
    : undefined;
  const recorder = await startMockRuntime({
    project: stack.project,
    stack: stack.stack,
    config: stack.config,
    secretKeys: stack.secretKeys,
    outputs: providerOutputs,
    call: alicloudCalls(adopted, spec.zones),
  });
  const program = (await import("../../index")) as { egressIp?: OutputLike; kubeconfig?: OutputLike };
  await settle();
  if (recorder.failures.length > 0)
    throw new Error(
      `the provider doubles refused ${recorder.failures.length} resource(s):\n  ${recorder.failures.join("\n  ")}`,
    );
  const egressIp = await valueOf(program.egressIp);

  const caveats = [
    "nothing was sent to Alibaba Cloud: resource ids and the egress address are placeholders (203.0.113.0/24)",
    "keys and certificates were issued by a local double of the tls provider from the program's inputs; pulumi up makes new ones",
    ...(adopted
      ? [
          `adopted VPC ${adopted.id}: its CIDR was taken from network.vpcCidr; pulumi up checks it against the real VPC`,
        ]
      : []),
    ...stack.secretKeys.map((k) => `${k} is encrypted in the stack file; the render used a placeholder`),
    ...[spec.controlPlane.image, ...spec.nodePools.map((p) => p.image)]
      .filter((i, n, all) => !i.id && all.findIndex((j) => j.os === i.os && !j.id) === n)
      .map((i) => `image.id is not pinned for ${i.os}: deploy takes the newest public image then (pin it)`),
    "the API load balancer's addresses are placeholders (192.0.2.0/24 private); the node documents carry them",
    "the load balancers' zones assume the region offers every pair of the stack's zones; pulumi up asks Alibaba Cloud (slb.getZones)",
    "nothing here ran kubeadm or cloud-init on a node: see the harness tests for what the bootstrap script was checked against",
    "node secrets: nodes read them from OOS with their RAM role at first boot; whether RAM and OOS grant that read is only met on pulumi up",
    "no chart was rendered and no manifest applied (no Helm, no API server): addons.json lists what the program declares",
    "the scale-in hooks' notification ARN carries ACCOUNT_ID: pulumi up puts the account of its credentials there",
    ...(spec.nodeHealth.enabled
      ? [
          `the control planes will report pool instances Unhealthy to ESS (nodeHealth): at most ${spec.nodeHealth.maxShare} of a pool per ${spec.nodeHealth.windowMinutes} min; how ESS removes them was not observed`,
        ]
      : []),
    ...(spec.etcdBackup.enabled
      ? [
          `etcd backup bucket ${backupBucketName(spec)}: names are unique across all of OSS, so another account may hold it; pulumi up finds out (then set etcdBackup.bucketName)`,
        ]
      : []),
  ];
  const resources = recorder.resources;
  return {
    spec,
    resources,
    files: {
      "resources.json": resourcesJson(resources),
      "summary.txt": summaryText(spec, resources, {
        caveats,
        ...(egressIp !== undefined ? { egressIp } : {}),
      }),
      "pki.json": pkiJson(spec, recorder.outputs),
      "addons.json": addonsJson(spec, resources),
      ...nodeFiles(spec.clusterName, resources, options.materialize === true),
      ...upgrade,
      ...(options.materialize
        ? pkiFiles(spec, recorder.outputs, (await valueOf(program.kubeconfig)) ?? "")
        : {}),
    },
  };
}

/** upgrade-plan.json and .md for a stack last confirmed at `deployed`, or its refusals as a ConfigError. */
async function upgradeFiles(
  spec: ClusterSpec,
  stack: StackConfig,
  deployed: string,
): Promise<Record<string, string>> {
  const { ConfigError } = await import("../../config/validate");
  const { normaliseVersion, versionProblem } = await import("../../config/versions");
  const { deployedAsRequested, upgradePlan } = await import("../../plan/upgrade/plan");
  const { upgradePlanJson, upgradePlanMarkdown } = await import("../../plan/upgrade/render");
  const ctx = { project: stack.project, stack: stack.stack };
  const problem = versionProblem(deployed);
  if (problem) throw new Error(`--deployed-version: ${problem}`);
  const result = upgradePlan(spec, deployedAsRequested(spec, normaliseVersion(deployed)));
  if (!result.ok) throw new ConfigError(ctx, result.refusals);
  return {
    "upgrade-plan.json": upgradePlanJson(result.plan),
    "upgrade-plan.md": upgradePlanMarkdown(result.plan, stack.stack),
  };
}

/** Write the bundle; anything under pki/ carries keys and is readable by the owner only. */
export function writeBundle(outDir: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(outDir, name);
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    writeFileSync(path, content, { mode: name.startsWith("pki/") ? 0o600 : 0o644 });
  }
}
