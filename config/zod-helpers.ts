import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";

/** A plain object (not null, not an array): what a config section or map is. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The known key nearest to a mistyped one, when it is near enough to be a typo. */
export function nearestKey(unknown: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(unknown, [...known]);
  const budget = Math.max(2, Math.floor(best.length / 3));
  if (distance(unknown.toLowerCase(), best.toLowerCase()) <= budget) return best;
  return undefined;
}

export function unknownKeyMessage(keys: readonly string[], known: readonly string[]): string {
  return keys
    .map((key) => {
      const near = nearestKey(key, known);
      return near
        ? `unknown key "${key}": did you mean "${near}"?`
        : `unknown key "${key}"; valid keys here are ${known.join(", ")}`;
    })
    .join("; ");
}

/**
 * A zod object that rejects unknown keys and names the nearest valid key, so
 * `vpcCird` is reported as a typo of `vpcCidr` instead of being silently dropped.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownKeyMessage(issue.keys, known) : undefined),
  });
}
