// zod's own messages ("Too small: expected number to be >=0") say what is wrong in the
// library's words; this error map says it in the config's words, with what to write
// instead. Passed to every section's parse (validate.ts); a message a schema gives
// itself still wins (zod: schema error, then this map, then its locale).
import { distance } from "fastest-levenshtein";
import type { z } from "zod";

type RawIssue = z.core.$ZodRawIssue;

const NOUNS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "a map of keys (key: value lines)",
  record: "a map of keys (key: value lines)",
};

function describe(input: unknown): string {
  if (typeof input === "string") return `the text ${JSON.stringify(input)}`;
  if (Array.isArray(input)) return "a list";
  if (input === null) return "null";
  if (typeof input === "object") return "a map of keys";
  return `${typeof input === "number" || typeof input === "boolean" ? "" : `${typeof input} `}${String(input)}`;
}

/** The one value nearest to what was given, when it is clearly the intended one. */
function nearestValue(given: string, values: readonly string[]): string | undefined {
  const scored = values
    .map((v) => ({ v, d: distance(given.toLowerCase(), v.toLowerCase()) }))
    .sort((a, b) => a.d - b.d);
  const [best, second] = scored;
  if (!best || (second && second.d === best.d)) return undefined;
  return best.d <= Math.max(2, Math.floor(best.v.length / 3)) ? best.v : undefined;
}

function invalidType(issue: RawIssue & { code: "invalid_type" }): string | undefined {
  const want = NOUNS[issue.expected] ?? issue.expected;
  const input = issue.input;
  if (input === undefined) return `is required: set it to ${want}`;
  if (issue.expected === "int" && typeof input === "number")
    return `must be a whole number (got ${input}); use e.g. ${Math.max(0, Math.round(input))}`;
  if (
    typeof input === "string" &&
    (issue.expected === "number" || issue.expected === "int") &&
    input.trim() !== "" &&
    !Number.isNaN(Number(input))
  ) {
    return `expected ${want}, got ${describe(input)}: write it without quotes`;
  }
  if (typeof input === "string" && issue.expected === "boolean" && /^(true|false)$/i.test(input.trim())) {
    return `expected ${want}, got ${describe(input)}: write it without quotes`;
  }
  if (issue.expected === "array")
    return `expected a list, got ${describe(input)}: write it as a YAML list (one "- item" per line)`;
  return `expected ${want}, got ${describe(input)}; write ${want} here`;
}

function bound(issue: RawIssue & { code: "too_small" | "too_big" }): string | undefined {
  const small = issue.code === "too_small";
  const limit = small
    ? (issue as { minimum: number | bigint }).minimum
    : (issue as { maximum: number | bigint }).maximum;
  const inclusive = issue.inclusive !== false;
  const input = issue.input;
  switch (issue.origin) {
    case "number":
    case "int": {
      const allowed = inclusive
        ? `${limit} or ${small ? "more" : "less"}`
        : `${small ? "more" : "less"} than ${limit}`;
      return `is ${String(input)}; use ${allowed}`;
    }
    case "array":
    case "set": {
      const n = Array.isArray(input) ? input.length : "too many";
      return `lists ${n} item${n === 1 ? "" : "s"}; list at ${small ? "least" : "most"} ${limit}`;
    }
    case "string": {
      const n = typeof input === "string" ? input.length : "?";
      return `is ${n} character${n === 1 ? "" : "s"} long; use at ${small ? "least" : "most"} ${limit}`;
    }
    default:
      return undefined;
  }
}

export const actionableMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return invalidType(issue);
    case "too_small":
    case "too_big":
      return bound(issue);
    case "invalid_value": {
      const values = issue.values.map(String);
      const given = typeof issue.input === "string" ? issue.input : undefined;
      const near = given === undefined ? undefined : nearestValue(given, values);
      const what = `${JSON.stringify(issue.input)} is not one of ${values.join(", ")}`;
      return near ? `${what}; did you mean "${near}"?` : `${what}; use one of ${values.join(", ")}`;
    }
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue
        ? `${describe(issue.input)} does not have the form ${String(issue.pattern)}; see the README's config reference for an example`
        : undefined;
    case "not_multiple_of":
      return `is ${String(issue.input)}; use a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
};
