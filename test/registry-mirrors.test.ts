// Images reach nodes in mainland China through registry mirrors (audit addons-cni 1.1):
// containerd reads one hosts.toml per registry from config_path
// (containerd/containerd v2.3.4 docs/hosts.md). config_path must be set, and to one
// directory: containerd 2.3 otherwise defaults to "/etc/containerd/certs.d:/etc/docker/certs.d",
// which the transfer-service pull path since 2.1 takes as one directory name and so finds
// no hosts.toml at all (v2.3.4 core/transfer/registry/registry.go; containerd#12415).
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { MAINLAND_MIRRORS, renderHostsToml } from "../plan/registry-mirrors";
import { renderContainerdConfig } from "../plan/node-bootstrap";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

type WriteFile = { path: string; content: string };
const filesOf = (doc: string) =>
  (parseYaml(doc.replace(/^#cloud-config\n/, "")) as { write_files: WriteFile[] }).write_files;
const hostsFiles = (doc: string) =>
  Object.fromEntries(
    filesOf(doc)
      .filter((f) => f.path.startsWith("/etc/containerd/certs.d/"))
      .map((f) => [f.path, f.content]),
  );

describe("registry mirrors", () => {
  it("containerd reads hosts.toml from exactly one directory", () => {
    const config = parseToml(renderContainerdConfig()) as {
      plugins: Record<string, { registry?: { config_path?: string } }>;
    };
    expect(config.plugins["io.containerd.cri.v1.images"]?.registry?.config_path).toBe(
      "/etc/containerd/certs.d",
    );
  });

  it("in a mainland China region every node gets a mirror for docker.io, quay.io, ghcr.io and registry.k8s.io, the registry itself last", () => {
    const spec = specFor({ region: "cn-hangzhou" });
    expect(Object.keys(spec.nodeSoftware.registryMirrors).sort()).toEqual([
      "docker.io",
      "ghcr.io",
      "quay.io",
      "registry.k8s.io",
    ]);
    for (const doc of [nodeUserData(spec, "first"), nodeUserData(spec, "worker")]) {
      const files = hostsFiles(doc);
      expect(Object.keys(files).sort()).toEqual(
        ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"].map(
          (r) => `/etc/containerd/certs.d/${r}/hosts.toml`,
        ),
      );
      const docker = parseToml(files["/etc/containerd/certs.d/docker.io/hosts.toml"] ?? "") as {
        server: string;
        host: Record<string, { capabilities: string[]; dial_timeout: string }>;
      };
      expect(docker.server).toBe("https://registry-1.docker.io");
      expect(docker.host).toEqual({
        [MAINLAND_MIRRORS["docker.io"]?.[0] ?? ""]: { capabilities: ["pull", "resolve"], dial_timeout: "5s" },
      });
    }
  });

  it("outside mainland China nodes pull from the registries themselves unless mirrors are given", () => {
    const abroad = specFor({ region: "ap-southeast-1", zones: ["ap-southeast-1a"] });
    expect(hostsFiles(nodeUserData(abroad, "worker"))).toEqual({});
    const own = specFor({
      region: "ap-southeast-1",
      zones: ["ap-southeast-1a"],
      nodeSoftware: {
        registryMirrors: { "quay.io": ["https://cache.example.internal/quay", "https://quay.m.daocloud.io"] },
      },
    });
    const quay = parseToml(
      hostsFiles(nodeUserData(own, "worker"))["/etc/containerd/certs.d/quay.io/hosts.toml"] ?? "",
    ) as { server: string; host: Record<string, unknown> };
    expect(quay.server).toBe("https://quay.io");
    // In the order given: containerd tries hosts in order, then the server.
    expect(Object.keys(quay.host)).toEqual([
      "https://cache.example.internal/quay",
      "https://quay.m.daocloud.io",
    ]);
  });

  it("a mirror's hosts.toml is valid TOML for any registry and URL the config accepts", () => {
    const text = renderHostsToml("registry.example.com:5000", ["http://10.0.0.5:5000"]);
    expect(parseToml(text)).toEqual({
      server: "https://registry.example.com:5000",
      host: { "http://10.0.0.5:5000": { capabilities: ["pull", "resolve"], dial_timeout: "5s" } },
    });
  });
});
