// Comparing two declarations of a cluster, input by input. Keys, certificates and
// tokens are drawn anew by the tls and random doubles on every declaration (pulumi up
// keeps them in state), so what is derived from them is masked.
import type { RecordedResource } from "../tools/render/mock-runtime";

export function normalised(value: unknown): string {
  return JSON.stringify(value)
    .replace(/-----BEGIN [A-Z ]+-----[^-]*-----END [A-Z ]+-----/g, "<PEM>")
    .replace(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, "<TOKEN>")
    .replace(/"[a-z0-9]{6}"|"[a-z0-9]{16}"/g, "<TOKEN-PART>")
    .replace(/sha256:[0-9a-f]{64}/g, "<HASH>")
    .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, "<BASE64>");
}

/** Every custom resource by name. */
export function byName(rs: readonly RecordedResource[]): Map<string, RecordedResource> {
  return new Map(rs.filter((r) => r.custom).map((r) => [r.name, r]));
}

/** "<name>: <keys>" for every resource in both whose inputs differ, and "+name"/"-name" for the others. */
export function changedInputs(
  before: ReadonlyMap<string, RecordedResource>,
  after: ReadonlyMap<string, RecordedResource>,
  skip: (name: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  for (const [name, was] of before) {
    if (skip(name)) continue;
    const now = after.get(name);
    if (!now) {
      out.push(`-${name}`);
      continue;
    }
    const keys = [...new Set([...Object.keys(was.inputs), ...Object.keys(now.inputs)])].filter(
      (k) => normalised(was.inputs[k]) !== normalised(now.inputs[k]),
    );
    if (keys.length > 0) out.push(`${name}: ${keys.sort().join(",")}`);
  }
  for (const name of after.keys()) if (!before.has(name) && !skip(name)) out.push(`+${name}`);
  return out.sort();
}
