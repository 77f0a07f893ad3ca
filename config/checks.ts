// Checks of the parsed sections against each other: the cluster's shape (zones, control
// planes, pools), Kubernetes versions, and who may reach it. Each reports through
// `problem`, so that every problem is said at once (config/validate.ts).
import { ANONYMOUS_ENDPOINTS_MIN_MINOR } from "../plan/hardening";
import { WORLD } from "../plan/cidr";
import { CONTROL_PLANE_TOKEN } from "../plan/pki";
import { budgetProblem } from "../plan/rollout/limits";
import type { ConfigPath } from "./paths";
import { zoneProblem, type Environment, type Sections } from "./schema";
import { kubeletSkewProblem, parseKubernetesVersion } from "./versions";

type Problem = (path: ConfigPath, message: string) => void;

/** From this minor on the kubelet refuses cgroup v1 by default (failCgroupV1). */
export const CGROUP_V2_REQUIRED_MINOR = 35;
/** Public image families whose newest image boots cgroup v1. */
export const CGROUP_V1_IMAGES: readonly string[] = ["alinux3"];

const RESERVED_TAG_COUNT = 5;
/** Alibaba Cloud allows at most 20 tags on one resource. */
const MAX_TAGS = 20;

/** Zones, control-plane count, pool names and pool versions. */
export function checkTopology(parsed: Partial<Sections>, environment: Environment, problem: Problem): void {
  const { region, zones, controlPlane, nodePools, kubernetesVersion } = parsed;
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
      pool.adoptInstanceIds.forEach((id, j) => {
        const other = nodePools.findIndex((p, k) => k < i && p.adoptInstanceIds.includes(id));
        if (other >= 0)
          problem(
            ["nodePools", i, "adoptInstanceIds", j],
            `${id} is already adopted by nodePools[${other}] (${nodePools[other]?.name ?? ""}); an instance belongs to one scaling group`,
          );
      });
      if (pool.kubernetesVersion !== undefined && kubernetesVersion !== undefined) {
        const p = kubeletSkewProblem(pool.kubernetesVersion, kubernetesVersion);
        if (p) problem(["nodePools", i, "kubernetesVersion"], p);
      }
    });
  }
}

/** Versions the nodes' images and the API server settings need. */
export function checkVersions(parsed: Partial<Sections>, problem: Problem): void {
  const { controlPlane, nodePools, kubernetesVersion } = parsed;
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
}

/** The rollout's time budget, with its longest step, fits inside the deploy job (plan/rollout/limits.ts). */
export function checkRolloutLimits(parsed: Partial<Sections>, problem: Problem): void {
  const u = parsed.upgrade;
  if (!u) return;
  const p = budgetProblem(u.timeBudgetMinutes, u.drainTimeoutSeconds, u.gateTimeoutSeconds);
  if (p) problem(["upgrade", "timeBudgetMinutes"], p);
}

/** Who may reach the cluster: the API's and SSH's allow-lists, and the tags it carries. */
export function checkAccess(parsed: Partial<Sections>, environment: Environment, problem: Problem): void {
  const { apiEndpoint, ssh, tags } = parsed;
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
}
