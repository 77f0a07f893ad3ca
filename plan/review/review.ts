// What a change does, from two renders of a stack (resources.json of the base and of the
// working tree): resources added, removed and changed with the inputs that changed, and
// at the top, in bold, the changes that replace or restart running machines, the API
// load balancer, the network, or keys and certificates. Pure: the CLI renders and reads.
import { isDeepStrictEqual } from "node:util";
import { ALICLOUD_IMPACT, INSTANCE_RESTART, PROVIDER_SOURCE, REPLACED_ON_ANY_CHANGE } from "./impact-table";

/** One resource of a render's resources.json. */
export interface BundleResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly options?: {
    readonly protect: boolean;
    readonly ignoreChanges: readonly string[];
    readonly deleteBeforeReplace: boolean;
    readonly retainOnDelete: boolean;
    readonly aliases: readonly string[];
  };
}

export interface Change {
  readonly type: string;
  readonly name: string;
  /** Changed inputs, except those Pulumi is told to ignore. */
  readonly inputs: readonly string[];
  /** Of those, the ones that replace the resource, with their source. */
  readonly replacedBy: readonly string[];
  /** Of those, the ones that stop and start a running instance. */
  readonly restartedBy: readonly string[];
}

export interface Review {
  readonly added: readonly BundleResource[];
  readonly removed: readonly BundleResource[];
  readonly changed: readonly Change[];
  /** What a reviewer must see first, one line each. */
  readonly alerts: readonly string[];
}

/** What a resource is to the cluster, for the alerts; undefined for what no one would miss. */
function kindOf(type: string): string | undefined {
  if (type === "alicloud:ecs/instance:Instance") return "a control plane";
  if (type === "alicloud:ess/scalingGroup:ScalingGroup")
    return "a node pool's scaling group (every node in it)";
  if (type.startsWith("alicloud:slb/")) return "the API load balancer";
  if (/^alicloud:vpc\/|^alicloud:ecs\/(eip|securityGroup)/.test(type)) return "the network";
  if (type.startsWith("tls:") || type.startsWith("random:")) return "a key, certificate or token";
  if (type.startsWith("alicloud:ram/")) return "a RAM identity nodes use";
  return undefined;
}

function replacing(type: string, keys: readonly string[]): string[] {
  if (REPLACED_ON_ANY_CHANGE.some((p) => type.startsWith(p))) return [...keys];
  const entry = ALICLOUD_IMPACT[type];
  return entry ? keys.filter((k) => entry.replace[k] !== undefined) : [];
}

const POOL_ROLLOUT = "pulumi-nodejs:dynamic/kubeadm-alicloud:PoolRollout";

/**
 * Pools whose nodes the change replaces: a new template digest in the pool's rollout
 * (plan/pool-template.ts) means their image, instance types, disk or user data changed,
 * and the rollout replaces every node launched before (components/rollout).
 */
function poolReplacements(
  before: ReadonlyMap<string, BundleResource>,
  after: ReadonlyMap<string, BundleResource>,
): string[] {
  type PoolInput = { name?: string; strategy?: string; templateDigest?: string } | undefined;
  const out: string[] = [];
  for (const [k, now] of after) {
    if (now.type !== POOL_ROLLOUT) continue;
    const [was, is] = [before.get(k)?.inputs.pool as PoolInput, now.inputs.pool as PoolInput];
    if (!was?.templateDigest || !is?.templateDigest || was.templateDigest === is.templateDigest) continue;
    const how =
      is.strategy === "in-place"
        ? "without surge, a wave out of service at a time"
        : "in waves, new nodes first";
    out.push(
      `replaces every node of pool ${is.name ?? now.name} ${how}: its template changed (image, instance types, disk or user data)`,
    );
  }
  return out;
}

export function review(base: readonly BundleResource[], head: readonly BundleResource[]): Review {
  const key = (r: BundleResource) => `${r.type}::${r.name}`;
  const before = new Map(base.map((r) => [key(r), r]));
  const after = new Map(head.map((r) => [key(r), r]));
  // A renamed resource declares an alias naming its former self: it moves, it is not replaced.
  const aliasOf = new Map<string, BundleResource>();
  for (const r of head)
    for (const a of r.options?.aliases ?? []) {
      // resources.json writes an alias as its URN, or as "<type> <name>" / "<name>".
      const was = [...before.values()].find(
        (b) =>
          b.type === r.type && (a.endsWith(`::${b.name}`) || a === `${b.type} ${b.name}` || a === b.name),
      );
      if (was) aliasOf.set(key(was), r);
    }
  const added = head.filter((r) => !before.has(key(r)) && ![...aliasOf.values()].includes(r));
  const removed = base.filter((r) => !after.has(key(r)) && !aliasOf.has(key(r)));
  const changed: Change[] = [];
  for (const was of base) {
    const now = after.get(key(was)) ?? aliasOf.get(key(was));
    if (!now) continue;
    const ignored = new Set(now.options?.ignoreChanges ?? []);
    const inputs = [...new Set([...Object.keys(was.inputs), ...Object.keys(now.inputs)])]
      .filter((k) => !ignored.has(k) && !isDeepStrictEqual(was.inputs[k], now.inputs[k]))
      .sort();
    if (inputs.length === 0) continue;
    const restartedBy =
      now.type === "alicloud:ecs/instance:Instance"
        ? inputs.filter((k) => INSTANCE_RESTART[k] !== undefined)
        : [];
    changed.push({
      type: now.type,
      name: now.name,
      inputs,
      replacedBy: replacing(now.type, inputs),
      restartedBy,
    });
  }
  const alerts: string[] = [];
  for (const c of changed) {
    const what = kindOf(c.type);
    if (!what) continue;
    if (c.replacedBy.length > 0) alerts.push(`replaces ${what}: ${c.name} (${c.replacedBy.join(", ")})`);
    else if (c.restartedBy.length > 0)
      alerts.push(`restarts ${what}: ${c.name} (${c.restartedBy.join(", ")})`);
  }
  alerts.push(...poolReplacements(before, after));
  for (const r of removed) {
    const what = kindOf(r.type);
    if (what)
      alerts.push(`removes ${what}: ${r.name}${r.options?.retainOnDelete ? " (kept in the cloud)" : ""}`);
  }
  return { added, removed, changed, alerts };
}

const FENCE = "`";
const code = (s: string) => `${FENCE}${s}${FENCE}`;

export function reviewMarkdown(stack: string, r: Review): string {
  const out = [`### Stack ${code(stack)}`, ""];
  if (r.added.length + r.removed.length + r.changed.length === 0) {
    out.push("No resource changes.", "");
    return out.join("\n");
  }
  for (const a of r.alerts) out.push(`- **${a}**`);
  if (r.alerts.length > 0) out.push("");
  out.push(`${r.added.length} added, ${r.removed.length} removed, ${r.changed.length} changed.`, "");
  if (r.changed.length > 0) {
    out.push("| changed | type | inputs | replaced by | restarted by |", "|---|---|---|---|---|");
    for (const c of r.changed) {
      out.push(
        `| ${code(c.name)} | ${code(c.type)} | ${c.inputs.join(", ")} | ${c.replacedBy.join(", ") || "-"} | ${c.restartedBy.join(", ") || "-"} |`,
      );
    }
    out.push("");
  }
  for (const [label, list] of [
    ["Added", r.added],
    ["Removed", r.removed],
  ] as const) {
    if (list.length === 0) continue;
    out.push(`${label}: ${list.map((x) => `${code(x.name)} (${x.type})`).join(", ")}`, "");
  }
  out.push(`Replacement and restart arguments: ${PROVIDER_SOURCE} (plan/review/impact-table.ts).`, "");
  return out.join("\n");
}
