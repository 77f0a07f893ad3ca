// Evaluate the real program (index.ts) for one stack under Pulumi's mock runtime and
// produce the review bundle. No cloud, no Pulumi CLI.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../../config/spec";
import { alicloudCalls, alicloudOutputs } from "./alicloud-mocks";
import { resourcesJson, summaryText } from "./bundle";
import { settle, startMockRuntime, type RecordedResource } from "./mock-runtime";
import type { StackConfig } from "./stack-file";

export interface RenderResult {
  readonly spec: ClusterSpec;
  readonly resources: readonly RecordedResource[];
  /** File name (relative to the bundle folder) -> content. */
  readonly files: Readonly<Record<string, string>>;
}

export async function renderStack(stack: StackConfig): Promise<RenderResult> {
  // Validation needs no mocks; run it first so a bad config fails with its own message.
  const { validateStackConfig } = await import("../../config/validate");
  const { projectConfig } = await import("../../config/load");
  const providerRegion = stack.config["alicloud:region"];
  const spec = validateStackConfig(projectConfig(stack.config, stack.project), {
    project: stack.project,
    stack: stack.stack,
    ...(providerRegion !== undefined ? { providerRegion } : {}),
  });

  const adopted = spec.network.vpc.existingId ? { id: spec.network.vpc.existingId, cidr: spec.network.vpc.cidr } : undefined;
  const recorder = await startMockRuntime({
    project: stack.project,
    stack: stack.stack,
    config: stack.config,
    secretKeys: stack.secretKeys,
    outputs: alicloudOutputs,
    call: alicloudCalls(adopted),
  });
  const program = (await import("../../index")) as { egressIp?: { apply<T>(f: (v: string | undefined) => T): unknown } };
  await settle();
  const egressIp = await new Promise<string | undefined>((resolve) => {
    if (!program.egressIp) resolve(undefined);
    else program.egressIp.apply((v) => resolve(v));
  });

  const caveats = [
    "nothing was sent to Alibaba Cloud: resource ids and the egress address are placeholders (203.0.113.0/24)",
    ...(adopted ? [`adopted VPC ${adopted.id}: its CIDR was taken from network.vpcCidr; pulumi up checks it against the real VPC`] : []),
    ...stack.secretKeys.map((k) => `${k} is encrypted in the stack file; the render used a placeholder`),
  ];
  const resources = recorder.resources;
  return {
    spec,
    resources,
    files: {
      "resources.json": resourcesJson(resources),
      "summary.txt": summaryText(spec, resources, { caveats, ...(egressIp !== undefined ? { egressIp } : {}) }),
    },
  };
}

export function writeBundle(outDir: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(outDir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
  }
}
