// Registry mirrors for containerd: one hosts.toml per registry host under
// CONTAINERD_CERTS_DIR (containerd/containerd v2.3.4 docs/hosts.md). Each mirror is tried
// in the order given, then the registry itself (`server`) as the last resort; a mirror
// that cannot be dialled costs dial_timeout, not containerd's 30 s default.
import { stringify as toml } from "smol-toml";

/** containerd's config_path: one directory (test/registry-mirrors.test.ts says why). */
export const CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d";

/**
 * The endpoint each registry host name resolves to without a mirror (docs/hosts.md: docker.io's is
 * registry-1.docker.io).
 */
export function registryServer(registry: string): string {
  return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

/**
 * Mirrors used by default in mainland China regions, where Docker Hub, quay.io,
 * ghcr.io and registry.k8s.io are slow or unreachable: DaoCloud's public mirrors
 * (github.com/DaoCloud/public-image-mirror README: docker.m.daocloud.io,
 * quay.m.daocloud.io, ghcr.m.daocloud.io, k8s.m.daocloud.io). They serve only images on
 * DaoCloud's allow-list (registry.k8s.io entirely; quay.io and ghcr.io per
 * organisation: calico, cilium, flannel-io, jetstack, prometheus…; postfinance's
 * kubelet-csr-approver is not among them, which is why plan/csr-approver.ts needs no image)
 * and are a third party serving by tag: production clusters should name their own
 * mirror (an ACR Enterprise instance synchronising the pinned images, or a pull-through
 * cache in the VPC) in nodeSoftware.registryMirrors.
 */
export const MAINLAND_MIRRORS: Readonly<Record<string, readonly string[]>> = {
  "docker.io": ["https://docker.m.daocloud.io"],
  "quay.io": ["https://quay.m.daocloud.io"],
  "ghcr.io": ["https://ghcr.m.daocloud.io"],
  "registry.k8s.io": ["https://k8s.m.daocloud.io"],
};

/**
 * One registry's hosts.toml. capabilities pull and resolve: a mirror also turns tags
 * into digests, which a node that cannot reach the registry could not do otherwise
 * (a pull-only host is never asked to resolve, docs/hosts.md "capabilities").
 */
export function renderHostsToml(registry: string, mirrors: readonly string[]): string {
  return toml({
    server: registryServer(registry),
    host: Object.fromEntries(
      mirrors.map((m) => [m, { capabilities: ["pull", "resolve"], dial_timeout: "5s" }]),
    ),
  });
}

/** The hosts.toml files of a node: path -> content. */
export function hostsFiles(
  mirrors: Readonly<Record<string, readonly string[]>>,
): { path: string; content: string }[] {
  return Object.entries(mirrors).map(([registry, list]) => ({
    path: `${CONTAINERD_CERTS_DIR}/${registry}/hosts.toml`,
    content: renderHostsToml(registry, list),
  }));
}
