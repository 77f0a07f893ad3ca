// Upstream charts' values.schema.json at the pinned version, and a check for keys a schema
// does not declare. Both are kept here (test/schemas/<chart>-<version>: SOURCE says where
// from, with the file's sha256), so CI needs nothing beside the checkout.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  type?: string | string[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

export function chartSchema(chart: "cilium" | "cert-manager"): JsonSchema {
  const dir = chart === "cilium" ? "cilium-1.19.6" : "cert-manager-v1.21.1";
  const path = join(__dirname, "schemas", dir, "values.schema.json");
  if (!existsSync(path)) throw new Error(`${path} is missing`);
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
