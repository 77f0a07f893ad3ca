// Helm's rule for layering values files: maps merge key by key, recursively; anything
// else (scalars, lists) in the later layer replaces the earlier one; null deletes.

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function mergeValues(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const keys = new Set([...Object.keys(base), ...Object.keys(override)]);
  const out: [string, unknown][] = [];
  for (const k of keys) {
    const [prior, v] = [base[k], override[k]];
    if (!(k in override)) out.push([k, prior]);
    else if (v !== null) out.push([k, isMap(prior) && isMap(v) ? mergeValues(prior, v) : v]);
  }
  return Object.fromEntries(out);
}
