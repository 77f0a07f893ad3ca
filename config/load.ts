// Read the stack's config from the Pulumi runtime and validate it. No resources here.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./spec";
import { plainForeignConfig } from "./plain-secrets";
import { validateStackConfig } from "./validate";

/**
 * Collect every `<project>:<key>` config value into one object. Pulumi hands
 * structured values over as JSON text and plain values as strings; only text that
 * starts like a JSON object or array is decoded, so "1.36" stays a string.
 */
export function projectConfig(all: Record<string, string>, project: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = `${project}:`;
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const trimmed = value.trimStart();
    out[key] = trimmed.startsWith("{") || trimmed.startsWith("[") ? JSON.parse(value) : value;
  }
  return out;
}

/** The validated spec of the running stack; throws ConfigError listing every problem. */
export function loadClusterSpec(): ClusterSpec {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const all = pulumi.runtime.allConfig();
  const providerRegion = all["alicloud:region"];
  return validateStackConfig(projectConfig(all, project), {
    project,
    stack,
    ...(providerRegion !== undefined ? { providerRegion } : {}),
    secretKeys: secretProjectKeys(all, project),
    plainForeignConfig: plainForeignConfig(all, project, isSecret),
    warn: (m) => pulumi.log.warn(m),
  });
}

/**
 * Whether the stack keeps a config value encrypted; unknown counts as secret (hiding too much beats leaking).
 */
function isSecret(fullKey: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  return runtime.isConfigSecret ? runtime.isConfigSecret(fullKey) : true;
}

/**
 * The project keys whose stack value is encrypted. The SDK knows (`isConfigSecret`) but
 * does not declare it in its types; should it ever be missing, every key counts as
 * secret: hiding too much beats leaking.
 */
export function secretProjectKeys(all: Record<string, string>, project: string): string[] {
  const prefix = `${project}:`;
  return Object.keys(all)
    .filter((k) => k.startsWith(prefix) && isSecret(k))
    .map((k) => k.slice(prefix.length));
}
