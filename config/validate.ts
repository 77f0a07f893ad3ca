// Raw stack config -> ClusterSpec, or every problem with it at once.
import { compatibility } from "../addons/catalog";
import { cniPodCidrProblems, defaultPodCidr } from "../addons/cni";
import { SWITCHABLE_ADDONS, addonValueProblems } from "../addons/index";
import { addonConfigProblems } from "../addons/rules";
import { controlPlaneZones } from "../plan/zones";
import { checkControlPlaneVswitches, checkControlPlaneZones, checkNetwork } from "./network";
import { defaultsFor, deepMerge } from "./defaults";
import {
  ENVIRONMENTS,
  sections,
  zoneProblem,
  type Environment,
  type SectionName,
  type Sections,
} from "./schema";
import type { ClusterSpec, VswitchSpec } from "./spec";
import { unknownKeyMessage } from "./zod-helpers";
import { checkLimits, checkRamNames, dropDefaultPerformanceLevel } from "./limits";
import { checkPlainSecrets } from "./plain-secrets";
import { checkAccess, checkRolloutLimits, checkTopology, checkVersions } from "./checks";
import { checkPodCidrCapacity, checkVswitchCapacity } from "./capacity";
import type { ConfigPath, ConfigProblem } from "./paths";
import { buildSpec } from "./build-spec";
import { parseSection } from "./sections";

export type { ConfigPath, ConfigProblem } from "./paths";

export interface ValidationContext {
  /** Pulumi project name: the namespace of every config key. */
  readonly project: string;
  readonly stack: string;
  /** `alicloud:region` when the stack sets it: must agree with our region. */
  readonly providerRegion?: string;
  /** Project keys (without `<project>:`) whose value the stack keeps encrypted. */
  readonly secretKeys?: readonly string[];
  /**
   * Config of other namespaces (`alicloud:secretKey`, …) that the stack keeps in plain
   * text, full key → value: credentials there are refused. See plainForeignConfig() in
   * plain-secrets.ts.
   */
  readonly plainForeignConfig?: Readonly<Record<string, string>>;
  /** Receives each warning (a limit that could not be checked). Default: console.warn. */
  readonly warn?: (message: string) => void;
}

export function formatPath(project: string, path: ConfigPath): string {
  // A key of another namespace (alicloud:secretKey) is its own full name.
  const [first] = path;
  if (path.length === 1 && typeof first === "string" && first.includes(":")) return first;
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return `${project}:${out}`;
}

/** Raised before any resource is declared; its message lists every problem. */
export class ConfigError extends Error {
  constructor(
    readonly context: ValidationContext,
    readonly problems: readonly ConfigProblem[],
  ) {
    const lines = problems.map((p) => `  - ${formatPath(context.project, p.path)}: ${p.message}`);
    super(
      `stack "${context.stack}" has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}; nothing was created:\n${lines.join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

const KNOWN_SECTIONS = Object.keys(sections) as SectionName[];

export function validateStackConfig(raw: Record<string, unknown>, ctx: ValidationContext): ClusterSpec {
  const problems: ConfigProblem[] = [];
  const problem = (path: ConfigPath, message: string) => problems.push({ path, message });

  for (const key of Object.keys(raw)) {
    if (!(KNOWN_SECTIONS as string[]).includes(key)) problem([key], unknownKeyMessage([key], KNOWN_SECTIONS));
  }

  const environment = resolveEnvironment(raw, ctx, problem);
  const merged = deepMerge(defaultsFor(environment), { ...raw, environment }) as Record<string, unknown>;
  dropDefaultPerformanceLevel(raw, merged);
  const derivedName = merged.clusterName === undefined;
  if (derivedName) merged.clusterName = ctx.stack.toLowerCase();

  // Parse every section on its own so that one bad section does not mask another.
  const parsed: Partial<Sections> = {};
  for (const name of KNOWN_SECTIONS) {
    const result = parseSection(name, merged[name]);
    for (const issue of result.issues) {
      const derived =
        name === "clusterName" && derivedName
          ? ` (derived from the stack name: set ${ctx.project}:clusterName)`
          : "";
      problem([name, ...issue.path], `${issue.message}${derived}`);
    }
    if (result.data !== undefined) (parsed as Record<string, unknown>)[name] = result.data;
  }

  const { region, zones, network, controlPlane, nodePools, cni } = parsed;

  // Limits the provider and the API enforce, and credentials written in plain text.
  const warn = ctx.warn ?? ((m: string) => console.warn(`warning: ${m}`));
  checkLimits(parsed, problem, (path, m) => warn(`${formatPath(ctx.project, path)}: ${m}`));
  checkPlainSecrets(raw, ctx.secretKeys, ctx.plainForeignConfig, problem);

  if (region && ctx.providerRegion !== undefined && ctx.providerRegion !== region) {
    problem(
      ["region"],
      `is ${region} but alicloud:region is ${ctx.providerRegion}; remove alicloud:region or make them equal`,
    );
  }

  checkTopology(parsed, environment, problem);

  let podCidr: string | undefined;
  let vswitches: VswitchSpec[] | undefined;
  if (network) {
    podCidr = network.podCidr ?? (cni ? defaultPodCidr(cni.name) : undefined);
    // Zones that are not the region's are reported above; nothing is derived from them.
    const zonesSound =
      zones && region && zones.every((z) => zoneProblem(z, region) === undefined) ? zones : undefined;
    vswitches = checkNetwork(network, podCidr, raw, zonesSound, problem);
    if (podCidr && cni) {
      const podPath = ["network", "podCidr"];
      for (const p of cniPodCidrProblems(cni, podCidr)) problem(podPath, p);
      if (controlPlane && nodePools) checkPodCidrCapacity(podCidr, { controlPlane, nodePools }, problem);
    }
  }

  const cpZones =
    controlPlane && zones
      ? checkControlPlaneZones(controlPlane.zones, controlPlane.count, zones, problem)
      : undefined;
  const cpVswitches =
    vswitches && controlPlane && network
      ? checkControlPlaneVswitches(
          network,
          vswitches,
          controlPlaneZones(
            controlPlane.count,
            vswitches.map((v) => v.zone),
            cpZones,
          ),
          problem,
        )
      : undefined;
  if (vswitches && controlPlane && nodePools && network) {
    checkVswitchCapacity(vswitches, { network, controlPlane, nodePools }, cpZones, problem);
  }
  checkVersions(parsed, problem);
  checkAccess(parsed, environment, problem);
  checkRolloutLimits(parsed, problem);

  if (problems.length > 0) throw new ConfigError(ctx, problems);

  // Every section parsed and every check passed: nothing below can be undefined.
  const spec = buildSpec(
    parsed as Sections,
    ctx,
    environment,
    { nodes: vswitches ?? [], controlPlanes: cpVswitches ?? [] },
    podCidr,
  );
  // What the cluster installs must support its Kubernetes version (the catalog), and
  // add-on overrides must not undo a safeguard.
  for (const c of compatibility(spec).problems) problem(c.key.split("."), c.message);
  for (const a of addonValueProblems(spec)) problem(["addons", a.name, "values"], a.message);
  for (const a of addonConfigProblems(spec)) problem(a.path, a.message);
  checkRamNames(
    spec,
    SWITCHABLE_ADDONS.map((a) => a.name),
    parsed.ram?.namePrefix !== undefined,
    problem,
  );
  if (!spec.etcdBackup.enabled && spec.etcdBackup.bucketName !== undefined) {
    problem(
      ["etcdBackup", "bucketName"],
      "is set but etcdBackup.enabled is false, so no bucket is made; set enabled: true or remove bucketName",
    );
  }
  for (const [name, a] of Object.entries(spec.addons)) {
    if (!a.enabled && a.values !== undefined) {
      problem(
        ["addons", name, "values"],
        `is set but addons.${name}.enabled is false, so it would be ignored; set enabled: true or remove the values`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(ctx, problems);
  return spec;
}

function resolveEnvironment(
  raw: Record<string, unknown>,
  ctx: ValidationContext,
  problem: (path: ConfigPath, m: string) => void,
): Environment {
  if (raw.environment !== undefined) {
    const r = sections.environment.safeParse(raw.environment);
    if (r.success) return r.data;
    problem(
      ["environment"],
      `must be one of ${ENVIRONMENTS.join(", ")} (got ${JSON.stringify(raw.environment)})`,
    );
    return "dev";
  }
  if ((ENVIRONMENTS as readonly string[]).includes(ctx.stack)) return ctx.stack as Environment;
  problem(
    ["environment"],
    `is required because stack "${ctx.stack}" is not named ${ENVIRONMENTS.join(", ")}; set it to choose the defaults (prod: highly available and protected)`,
  );
  return "dev";
}
