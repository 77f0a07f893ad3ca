// Upstream charts' values.schema.json at the pinned version, and a check for keys a schema
// does not declare. Cilium's is the 1.19.6 release's, kept here (test/schemas: SOURCE
// says where from); cert-manager's is in ../shared/schemas (CI checks the project out
// beside it).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  type?: string | string[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

export function chartSchema(chart: "cilium" | "cert-manager"): JsonSchema {
  const path =
    chart === "cilium"
      ? join(__dirname, "schemas", "cilium-1.19.6", "values.schema.json")
      : join(__dirname, "..", "..", "shared", "schemas", chart, "values.schema.json");
  if (!existsSync(path))
    throw new Error(`${path} is missing: the project expects ../shared beside its checkout, as CI provides`);
  return JSON.parse(readFileSync(path, "utf8")) as JsonSchema;
}

/** A schema with its local `$ref` ("#/$defs/<name>") followed. */
function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const name = schema.$ref?.replace(/^#\/\$defs\//, "");
  return name !== undefined && root.$defs?.[name] ? resolve(root.$defs[name], root) : schema;
}

/**
 * Paths in `values` that the chart's schema does not declare (typos the schema's own rules would let
 * through).
 */
export function undeclared(
  values: unknown,
  schema: JsonSchema,
  path = "",
  root: JsonSchema = schema,
): string[] {
  const s = resolve(schema, root);
  if (typeof values !== "object" || values === null || Array.isArray(values) || !s.properties) return [];
  return Object.entries(values).flatMap(([k, v]) => {
    const sub = s.properties?.[k];
    return sub ? undeclared(v, sub, `${path}.${k}`, root) : [`${path}.${k}`];
  });
}
