// The fake Kubernetes API (fake-kube.py) for tests that drive the REAL kubectl against
// it: start one per scenario, a kubeconfig for it, and a pod builder.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FAKE = join(__dirname, "fake-kube.py");
export const haveKubectl = spawnSync("kubectl", ["version", "--client"]).status === 0;

export interface Scenario {
  nodes: {
    name: string;
    unschedulable?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    providerID?: string;
    kubeletVersion?: string;
  }[];
  pods: {
    namespace: string;
    name: string;
    node: string;
    labels?: Record<string, string>;
    owner: { kind: string; name: string } | null;
    emptyDir?: boolean;
    image?: string;
    ready?: boolean;
  }[];
  readyz?: string;
  metrics?: string;
  daemonsets: { namespace: string; name: string }[];
  csrs?: unknown[];
  configmaps?: unknown[];
  configmapConflict?: boolean;
  configmapForbidden?: boolean;
  pdbs: {
    namespace: string;
    name: string;
    matchLabels: Record<string, string>;
    disruptionsAllowed: number;
  }[];
}

const servers: ChildProcess[] = [];
/** Stop every fake this file started (afterEach). */
export function stopFakes(): void {
  for (const s of servers.splice(0)) s.kill();
}

export function kubeconfig(dir: string, server: string): string {
  const file = join(dir, "admin.conf");
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: f, user: u}}]\ncurrent-context: c\n`,
  );
  return file;
}

export async function startFake(
  scenario: Scenario,
): Promise<{ dir: string; url: string; state: () => Scenario; log: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), "drain-"));
  const file = join(dir, "scenario.json");
  writeFileSync(file, JSON.stringify(scenario));
  const portFile = join(dir, "port");
  servers.push(spawn("python3", [FAKE, file, join(dir, "requests.log"), portFile], { stdio: "ignore" }));
  for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    dir,
    url: `http://127.0.0.1:${readFileSync(portFile, "utf8")}`,
    state: () => JSON.parse(readFileSync(file, "utf8")) as Scenario,
    log: () => readFileSync(join(dir, "requests.log"), "utf8"),
  };
}

export const pod = (namespace: string, name: string, extra: Partial<Scenario["pods"][number]> = {}) => ({
  namespace,
  name,
  node: "n1",
  owner: { kind: "ReplicaSet", name: `${name}-rs` },
  ...extra,
});

export const READY = [{ type: "Ready", status: "True" }];

/** A Node of the fake API as a kubelet registers it: named and provided by its instance id, Ready. */
export const kubeNode = (id: string, version: string, extra: Partial<Scenario["nodes"][number]> = {}) => ({
  name: `cn-hangzhou.${id}`,
  providerID: `cn-hangzhou.${id}`,
  kubeletVersion: `v${version}`,
  conditions: READY,
  ...extra,
});
