// Raw stack config -> ClusterSpec, or every problem with it at once.
import { compatibility } from "../addons/catalog";
import { cniPodCidrProblems, defaultPodCidr } from "../addons/cni";
import { CORE_ADDONS, SWITCHABLE_ADDONS, addonValueProblems } from "../addons/index";
import { addonConfigProblems } from "../addons/rules";
import { WORLD, prefixLength } from "../plan/cidr";
import { CONTROL_PLANE_TOKEN } from "../plan/pki";
import { ANONYMOUS_ENDPOINTS_MIN_MINOR } from "../plan/hardening";
import { FIRST_HOST_OFFSET } from "../plan/control-plane";
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
import { maxNodeCount, type ClusterSpec, type VswitchSpec } from "./spec";
import { MAX_KUBELET_SKEW, parseKubernetesVersion } from "./versions";
import { unknownKeyMessage } from "./zod-helpers";
import { checkLimits, checkRamNames, dropDefaultPerformanceLevel } from "./limits";
import { checkPlainSecrets } from "./plain-secrets";
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

/**
 * Tags this project puts on a resource: cluster, stack and environment everywhere, role and pool on nodes.
 */
/** From this minor on the kubelet refuses cgroup v1 by default (failCgroupV1). */
export const CGROUP_V2_REQUIRED_MINOR = 35;
/** Public image families whose newest image boots cgroup v1. */
export const CGROUP_V1_IMAGES: readonly string[] = ["alinux3"];

const RESERVED_TAG_COUNT = 5;
/** Alibaba Cloud allows at most 20 tags on one resource. */
const MAX_TAGS = 20;

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

  const { region, zones, network, controlPlane, nodePools, cni, apiEndpoint, ssh, tags, kubernetesVersion } =
    parsed;

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

  if (zones) {
    zones.forEach((zone, i) => {
      const earlier = zones.indexOf(zone);
      if (earlier !== i) problem(["zones", i], `"${zone}" is listed twice (also at zones[${earlier}])`);
      else if (region) {
        const p = zoneProblem(zone, region);
        if (p) problem(["zones", i], p);
      }
    });
  }

  if (controlPlane) {
    if (![1, 3, 5].includes(controlPlane.count)) {
      problem(
        ["controlPlane", "count"],
        controlPlane.count % 2 === 0 && controlPlane.count > 0
          ? `${controlPlane.count} is even: etcd needs a majority, so an even count adds a member without tolerating one more failure. Use 1, 3 or 5`
          : `${controlPlane.count} is not supported; use 1, 3 or 5 control-plane nodes`,
      );
    } else if (environment === "prod" && controlPlane.count < 3) {
      problem(
        ["controlPlane", "count"],
        `prod must be highly available: use 3 or 5 control-plane nodes (got ${controlPlane.count})`,
      );
    }
  }
  if (zones && environment === "prod" && zones.length < 2) {
    problem(["zones"], `prod must survive the loss of a zone: list at least 2 zones (got ${zones.length})`);
  }

  if (nodePools) {
    nodePools.forEach((pool, i) => {
      const first = nodePools.findIndex((p) => p.name === pool.name);
      if (first !== i)
        problem(
          ["nodePools", i, "name"],
          `pool name "${pool.name}" is already used by nodePools[${first}]; pool names must be unique`,
        );
      if (pool.name === CONTROL_PLANE_TOKEN)
        problem(
          ["nodePools", i, "name"],
          `"${CONTROL_PLANE_TOKEN}" is reserved for the control planes; choose another pool name`,
        );
      if (pool.kubernetesVersion !== undefined && kubernetesVersion !== undefined) {
        const p = poolVersionProblem(pool.kubernetesVersion, kubernetesVersion);
        if (p) problem(["nodePools", i, "kubernetesVersion"], p);
      }
    });
  }

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
      if (controlPlane && nodePools) {
        const maxNodes = maxNodeCount({ controlPlane, nodePools });
        // kube-controller-manager gives each node a /24 of the pod CIDR (its default
        // --node-cidr-mask-size), and every CNI here uses /24 per node or smaller blocks.
        const capacity = prefixLength(podCidr) <= 24 ? 2 ** (24 - prefixLength(podCidr)) : 0;
        if (capacity < maxNodes) {
          problem(
            podPath,
            `pod CIDR ${podCidr} holds ${capacity} node blocks of /24, but the cluster can grow to ${maxNodes} nodes (control planes plus every pool's maxSize); use a larger pod CIDR such as /16`,
          );
        }
      }
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
    // Alibaba reserves the first and the last three addresses of a vSwitch; control
    // planes sit from the 10th host on; pool nodes spread evenly over the zones; the NAT
    // gateway and the load balancer take a few more.
    const poolNodesPerZone = Math.ceil(nodePools.reduce((n, p) => n + p.maxSize, 0) / vswitches.length);
    const placed = controlPlaneZones(
      controlPlane.count,
      vswitches.map((v) => v.zone),
      cpZones,
    );
    vswitches.forEach((v) => {
      // Control planes in the nodes' vSwitch only when they share it.
      const shared = network.controlPlaneVswitches === "shared";
      const controlPlanesPerZone = shared ? placed.filter((z) => z === v.zone).length : 0;
      const needed = (shared ? FIRST_HOST_OFFSET : 1) + controlPlanesPerZone + poolNodesPerZone + 4;
      const usable = 2 ** (32 - prefixLength(v.cidr)) - 4;
      if (usable < needed) {
        const path =
          network?.vswitches !== undefined
            ? ["network", "vswitches", v.zone]
            : ["network", "vswitchPrefixLength"];
        const cps = shared ? `control planes from the ${FIRST_HOST_OFFSET}th host, ` : "";
        problem(
          path,
          `the vSwitch ${v.cidr} in ${v.zone} has ${usable} usable addresses but needs about ${needed} (${cps}${poolNodesPerZone} pool nodes at maxSize, NAT and load balancer); use a larger vSwitch`,
        );
      }
    });
  }

  // The kubelet of 1.35 and later refuses cgroup v1 (failCgroupV1 defaults to true:
  // kubernetes/kubernetes PR #134298, KEP-5573). The standard Alibaba Cloud Linux 3 public
  // image boots cgroup v1: Alibaba's ACK "Migrate nodes to cgroup v2" lists as cgroup v2
  // only the container-optimized Alibaba Cloud Linux 3 and 4, ContainerOS, RHEL 9+ and
  // Ubuntu 22.04+. A pinned image.id is the user's to vouch for (the bootstrap still
  // refuses a cgroup v1 host).
  const minor = kubernetesVersion ? (parseKubernetesVersion(kubernetesVersion)?.minor ?? 0) : 0;
  if (minor >= CGROUP_V2_REQUIRED_MINOR) {
    const refuse = (
      path: (string | number)[],
      image: { os: string; id?: string } | undefined,
      version: string,
    ) => {
      if (image && CGROUP_V1_IMAGES.includes(image.os) && !image.id) {
        problem(
          path,
          `the newest public ${image.os} image boots cgroup v1, which the kubelet of Kubernetes ${version} refuses; use os: ubuntu-24.04 (or ubuntu-22.04), or pin image.id to a cgroup v2 image such as Alibaba Cloud Linux 3 container-optimized`,
        );
      }
    };
    refuse(["controlPlane", "image", "os"], controlPlane?.image, kubernetesVersion ?? "");
    nodePools?.forEach((pool, i) => {
      const version = pool.kubernetesVersion ?? kubernetesVersion ?? "";
      if ((parseKubernetesVersion(version)?.minor ?? 0) >= CGROUP_V2_REQUIRED_MINOR && pool.image)
        refuse(["nodePools", i, "image", "os"], pool.image, version);
    });
  }

  const apiServerSection = parsed.apiServer;
  if (apiServerSection?.anonymousHealthOnly.enabled && kubernetesVersion) {
    const minor = parseKubernetesVersion(kubernetesVersion)?.minor ?? 0;
    if (minor < ANONYMOUS_ENDPOINTS_MIN_MINOR) {
      problem(
        ["apiServer", "anonymousHealthOnly", "enabled"],
        `limiting anonymous access to health endpoints needs Kubernetes 1.${ANONYMOUS_ENDPOINTS_MIN_MINOR} or newer (AnonymousAuthConfigurableEndpoints); upgrade, or set enabled: false with a reason`,
      );
    }
  }

  if (apiEndpoint) {
    if (apiEndpoint.public && apiEndpoint.allowedCidrs.length === 0) {
      problem(
        ["apiEndpoint", "allowedCidrs"],
        `the API is public but no CIDR may reach it; list the office or CI ranges allowed, or set apiEndpoint.public to false`,
      );
    }
    apiEndpoint.allowedCidrs.forEach((c, i) => {
      if (c === WORLD && environment === "prod")
        problem(
          ["apiEndpoint", "allowedCidrs", i],
          `prod may not open the API to the whole internet (${WORLD}); list the ranges that need it`,
        );
    });
  }

  if (ssh) {
    if (ssh.enabled && ssh.allowedCidrs.length === 0)
      problem(
        ["ssh", "allowedCidrs"],
        `SSH is enabled but no CIDR may reach it; list the administrators' ranges or disable SSH (Cloud Assistant needs none)`,
      );
    if (ssh.enabled && ssh.keyPairName === undefined)
      problem(["ssh", "keyPairName"], `SSH is enabled but no key pair is named; images allow key login only`);
    if (!ssh.enabled && (ssh.allowedCidrs.length > 0 || ssh.keyPairName !== undefined)) {
      problem(
        ["ssh", "enabled"],
        `ssh.allowedCidrs or ssh.keyPairName is set but SSH is disabled, so they would be ignored; set ssh.enabled: true or remove them`,
      );
    }
    ssh.allowedCidrs.forEach((c, i) => {
      if (c === WORLD)
        problem(
          ["ssh", "allowedCidrs", i],
          `SSH may not be open to the whole internet (${WORLD}); list the administrators' ranges`,
        );
    });
  }

  if (tags && Object.keys(tags).length > MAX_TAGS - RESERVED_TAG_COUNT) {
    problem(
      ["tags"],
      `${Object.keys(tags).length} tags given; Alibaba Cloud allows ${MAX_TAGS} per resource and this project sets ${RESERVED_TAG_COUNT}, so at most ${MAX_TAGS - RESERVED_TAG_COUNT}`,
    );
  }

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
    [...CORE_ADDONS, ...SWITCHABLE_ADDONS].map((a) => a.name),
    parsed.ram?.namePrefix !== undefined,
    problem,
  );
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

function poolVersionProblem(pool: string, cluster: string): string | undefined {
  const p = parseKubernetesVersion(pool);
  const c = parseKubernetesVersion(cluster);
  if (!p || !c) return undefined;
  if (p.minor > c.minor || (p.minor === c.minor && p.patch > c.patch)) {
    return `${pool} is newer than the control plane (${cluster}); kubelets may never be newer than the API server. Upgrade the control plane first`;
  }
  if (c.minor - p.minor > MAX_KUBELET_SKEW) {
    return `${pool} is ${c.minor - p.minor} minors behind the control plane (${cluster}); kubelets may lag at most ${MAX_KUBELET_SKEW}`;
  }
  return undefined;
}
