// Parsing one top-level section of the stack config with its schema, into problems that
// name their key: a wrong type is said once, a bad record key at the key's path, and a
// section whose only problems are unknown keys still reaches the cross-section checks.
import type { z } from "zod";
import { actionableMessage } from "./messages";
import type { ConfigProblem } from "./paths";
import { sections, type SectionName } from "./schema";
import { isObject } from "./zod-helpers";

export interface SectionResult {
  readonly issues: ConfigProblem[];
  /** Parsed value; also present when the only problems were unknown keys. */
  readonly data?: unknown;
}

function toProblems(issues: readonly z.core.$ZodIssue[], missing: boolean): ConfigProblem[] {
  // A value of the wrong type also fails every check on its content: say only the first.
  const wrongType = new Set(
    issues.filter((i) => i.code === "invalid_type").map((i) => i.path.join("\u0000")),
  );
  const relevant = issues.filter((i) => i.code === "invalid_type" || !wrongType.has(i.path.join("\u0000")));
  return relevant.flatMap((issue): ConfigProblem[] => {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    // A bad record key carries its own issues: report those, at the key's path.
    if (issue.code === "invalid_key") return issue.issues.map((inner) => ({ path, message: inner.message }));
    return [{ path, message: missing && path.length === 0 ? "is required" : issue.message }];
  });
}

/**
 * Parse one section. When its only problems are unknown keys, they are reported and
 * then dropped so the rest of the section still reaches the cross-section checks.
 */
export function parseSection(name: SectionName, value: unknown): SectionResult {
  const first = sections[name].safeParse(value, { error: actionableMessage });
  if (first.success) return { issues: [], data: first.data };
  const issues = toProblems(first.error.issues, value === undefined);
  if (!first.error.issues.every((i) => i.code === "unrecognized_keys")) return { issues };
  const pruned = structuredClone(value);
  for (const issue of first.error.issues) {
    if (issue.code !== "unrecognized_keys") continue;
    let target: unknown = pruned;
    for (const key of issue.path)
      target =
        isObject(target) || Array.isArray(target) ? (target as Record<PropertyKey, unknown>)[key] : undefined;
    if (isObject(target)) for (const key of issue.keys) Reflect.deleteProperty(target, key);
  }
  const second = sections[name].safeParse(pruned, { error: actionableMessage });
  return second.success ? { issues, data: second.data } : { issues };
}
