// Read Pulumi.yaml and a stack's config file the way the Pulumi CLI hands them to the
// program: `<namespace>:<key>` keys, JSON text for structured values.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  readonly config: Record<string, string>;
  /** Keys whose values are encrypted in the stack file and unknown offline. */
  readonly secretKeys: string[];
}

export const SECRET_PLACEHOLDER = "[secret]";

interface ProjectFile {
  name: string;
  stackConfigDir?: string;
}

export function readProject(projectDir: string): ProjectFile {
  const doc = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as Partial<ProjectFile> | null;
  if (!doc || typeof doc.name !== "string")
    throw new Error(`${join(projectDir, "Pulumi.yaml")} has no project name`);
  return {
    name: doc.name,
    ...(typeof doc.stackConfigDir === "string" ? { stackConfigDir: doc.stackConfigDir } : {}),
  };
}

export function stackFilePath(projectDir: string, stack: string): string {
  const project = readProject(projectDir);
  return join(projectDir, project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
}

/** Config of a stack file; `stack` defaults to the <name> of Pulumi.<name>.yaml. */
export function readStackFile(projectDir: string, file: string, stack?: string): StackConfig {
  const project = readProject(projectDir).name;
  const name = stack ?? /Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1];
  if (!name) throw new Error(`cannot tell the stack name from ${file}; pass --stack`);
  const doc = parse(readFileSync(resolve(file), "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(doc?.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const found = { secure: false };
    const plain = withoutSecure(value, found);
    config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
    if (found.secure) secretKeys.push(key);
  }
  return { project, stack: name, config, secretKeys };
}

/**
 * Replace every `{ secure: … }` (encrypted, here or nested) by a placeholder: the
 * render has no key to decrypt it. Pulumi marks the whole key secret; so do we.
 */
function withoutSecure(value: unknown, found: { secure: boolean }): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutSecure(v, found));
  if (typeof value !== "object" || value === null) return value;
  if (Object.keys(value).length === 1 && "secure" in value) {
    found.secure = true;
    return SECRET_PLACEHOLDER;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecure(v, found)]));
}

export const PROJECT_DIR = resolve(dirname(__filename), "..", "..");
