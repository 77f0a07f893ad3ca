// The Cloud Assistant commands that run bootstrap/rollout-node.py on a control plane
// (where admin.conf already is), the reading of their results, and the assembly of what
// the rollout engine observes (plan/rollout/observed.ts) from that script's snapshot of
// the cluster and ESS's view of each pool. Pure: nothing here calls Alibaba Cloud.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../node-commands";
import type { Observed, ObservedControlPlane, ObservedPool, ObservedPoolNode } from "./observed";

export const ROLLOUT_NODE_SCRIPT_PATH = join(__dirname, "..", "..", "bootstrap", "rollout-node.py");
const PACKED = gzipSync(readFileSync(ROLLOUT_NODE_SCRIPT_PATH), { level: 9 }).toString("base64");
export const RESULT_PREFIX = "kubeadm-alicloud-rollout: ";

/** Cloud Assistant's Timeout for the quick steps (observe, mark, uncordon, release): kubectl's 30 s, 6x. */
export const QUICK_STEP_SECONDS = 180;
/** What a gate adds to its own budget for its last pass (kubectl 30 s a call, five calls) and the log. */
export const GATE_MARGIN_SECONDS = 240;

export interface RolloutNodeCommand {
  readonly script: string;
  readonly timeoutSeconds: number;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const VERSION = /^1\.\d+\.\d+$/;
/** A package repository URL: nothing the shell would read as more than one word. */
const REPOSITORY = /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._:/-]*)?$/;

type Step =
  | { readonly kind: "observe"; readonly page: number }
  | { readonly kind: "mark"; readonly steady: number; readonly nodes: readonly string[] }
  | {
      readonly kind: "gate" | "cp-gate" | "adopt";
      readonly node: string;
      readonly version: string;
      readonly seconds: number;
    }
  | { readonly kind: "uncordon"; readonly node: string }
  | { readonly kind: "release"; readonly nodes: readonly string[] }
  | { readonly kind: "preflight"; readonly version: string; readonly repository: string };

function argv(step: Step): string[] {
  switch (step.kind) {
    case "observe":
      return ["observe", String(step.page)];
    case "mark":
      return ["mark", String(step.steady), ...step.nodes];
    case "gate":
    case "cp-gate":
    case "adopt":
      return [step.kind, step.node, step.version, String(step.seconds)];
    case "uncordon":
      return ["uncordon", step.node];
    case "release":
      return ["release", ...step.nodes];
    case "preflight":
      return ["preflight", step.version, step.repository];
  }
}

/** The command: python3 runs the unpacked script with the step's arguments. */
export function rolloutNodeCommand(step: Step): RolloutNodeCommand {
  const args = argv(step);
  if (step.kind === "preflight" && !REPOSITORY.test(step.repository))
    throw new Error(`rollout-node.py preflight: "${step.repository}" is not a repository URL`);
  for (const a of step.kind === "preflight" ? args.slice(1, 2) : args.slice(1)) {
    if (!NODE_NAME.test(a) && !VERSION.test(a) && !/^\d+$/.test(a))
      throw new Error(`rollout-node.py: "${a}" is neither a node name, a version nor a number`);
  }
  if ("nodes" in step && step.nodes.length === 0) throw new Error(`rollout-node.py ${step.kind}: no nodes`);
  if ("version" in step && !VERSION.test(step.version))
    throw new Error(`"${step.version}" is not an exact Kubernetes version`);
  const script = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    // The script travels gzipped (Cloud Assistant takes 16 KB of Base64 here), as the
    // installers' files do (plan/node-commands.ts renderFileInstaller).
    `exec python3 -c "$(printf %s '${PACKED}' | base64 -d | gzip -dc)" ${args.join(" ")}`,
    "",
  ].join("\n");
  if (commandContentSize(script) > COMMAND_CONTENT_LIMIT)
    throw new Error(
      `the rollout command is ${commandContentSize(script)} bytes in Base64 (limit ${COMMAND_CONTENT_LIMIT})`,
    );
  const timeoutSeconds =
    step.kind === "gate" || step.kind === "cp-gate" || step.kind === "adopt"
      ? step.seconds + GATE_MARGIN_SECONDS
      : QUICK_STEP_SECONDS;
  return { script, timeoutSeconds };
}

export interface RolloutNodeResult {
  readonly ok: boolean;
  /** preflight: the apiserver_requested_deprecated_apis series, etcd's members, the repository answering. */
  readonly metrics?: readonly string[];
  readonly etcd?: readonly { readonly name: string; readonly healthy: boolean; readonly learner: boolean }[];
  readonly repository?: boolean;
  readonly reason?: string;
  readonly message?: string;
  readonly problems?: readonly string[];
  readonly gz?: string;
}

/** The result line the script ends with; undefined when there is none (killed, or never ran). */
export function parseRolloutResult(output: string): RolloutNodeResult | undefined {
  const line = output
    .split("\n")
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  return line ? (JSON.parse(line.slice(RESULT_PREFIX.length)) as RolloutNodeResult) : undefined;
}

/**
 * One Node as the snapshot lists it: name, instance id ("" when the name ends with
 * ".<instance id>"), kubelet version, flags, steady (-1: unmarked), gated version.
 */
type SnapshotNode = [string, string, string, number, number, string];

export interface ClusterSnapshot {
  readonly clusterVersion: string;
  readonly nodes: readonly SnapshotNode[];
  /** kube-apiserver mirror pods' image version, by node. */
  readonly apiServers: Readonly<Record<string, string>>;
  /** This page (from 0) of how many: Nodes sorted by name, a fixed number a page. */
  readonly page: number;
  readonly pages: number;
}

const instanceOf = (n: SnapshotNode) => n[1] || n[0].slice(n[0].lastIndexOf(".") + 1);

/**
 * The pages of one observation as one snapshot. Pages are read one after another, so a
 * Node added or gone in between can shift a page boundary: a Node seen twice counts once,
 * and one missed looks like an instance still launching (the engine waits, never acts on it).
 */
export function mergeSnapshots(pages: readonly ClusterSnapshot[]): ClusterSnapshot {
  const [first] = pages;
  if (!first) throw new Error("an observation with no pages");
  const byName = new Map<string, SnapshotNode>();
  for (const p of pages) for (const n of p.nodes) byName.set(n[0], n);
  const apiServers = Object.assign({}, ...pages.map((p) => p.apiServers)) as Record<string, string>;
  return { ...first, nodes: [...byName.values()], apiServers, page: 0, pages: 1 };
}

const READY = 1;
const CORDONED = 2;
/** bootstrap/rollout-node.py: the node carries kubeadm-alicloud.io/drained=true (drain.sh finished). */
const DRAINED = 8;

export function parseSnapshot(result: RolloutNodeResult): ClusterSnapshot {
  if (!result.ok || !result.gz)
    throw new Error(`the observation failed: ${result.message ?? result.reason ?? "no snapshot"}`);
  // Loaded here: this runs inside the rollout's dynamic provider, which serializes it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { gunzipSync } = require("node:zlib") as typeof import("node:zlib");
  return JSON.parse(gunzipSync(Buffer.from(result.gz, "base64")).toString("utf8")) as ClusterSnapshot;
}

/** A pool as ESS shows it, with what the rollout is to do with it. */
export interface EssPool {
  readonly name: string;
  readonly desired: number;
  readonly maxSize: number;
  readonly minSize?: number;
  /** Instances in the group that are or will be nodes (ESS lifecycle states other than Removing). */
  readonly instanceIds: readonly string[];
  readonly strategy: "replace" | "in-place";
  /** The version this pool is rolled to: a node passed the gate only at it. */
  readonly version: string;
  /**
   * Instances not what the pool declares: launched from an older launch-template version
   * than the group's now (replace), or tagged with another template digest (in-place).
   */
  readonly outdatedIds?: readonly string[];
  /** Instances launched from a newer launch-template version than the pool was last confirmed at. */
  readonly currentIds?: readonly string[];
  /** The pool's template digest moved since it was last confirmed. */
  readonly replacing?: boolean;
  /** Instances AttachInstances added (CreationType Attached): upgraded in place, never replaced. */
  readonly attachedIds?: readonly string[];
}

/**
 * What the engine decides from: the control planes in placement order (by instance id),
 * each pool's nodes (the Nodes whose provider id names one of its instances) and its
 * launching instances (in the group, no Node yet).
 */
export function toObserved(
  snapshot: ClusterSnapshot,
  controlPlaneInstanceIds: readonly string[],
  pools: readonly EssPool[],
): Observed {
  const byInstance = new Map(snapshot.nodes.map((n) => [instanceOf(n), n]));
  const controlPlanes: ObservedControlPlane[] = controlPlaneInstanceIds.map((id) => {
    const n = byInstance.get(id);
    if (!n) throw new Error(`control plane ${id} has no Node in the cluster: a rollout cannot start`);
    return {
      name: n[0],
      apiServerVersion: snapshot.apiServers[n[0]] ?? "",
      kubeletVersion: n[2],
      ready: (n[3] & READY) !== 0,
      cordoned: (n[3] & CORDONED) !== 0,
    };
  });
  const observedPools: ObservedPool[] = pools.map((p) => {
    const nodes: ObservedPoolNode[] = [];
    let pending = 0;
    const [outdated, current, attached] = [p.outdatedIds, p.currentIds, p.attachedIds].map((l) => new Set(l));
    for (const id of p.instanceIds) {
      const n = byInstance.get(id);
      if (!n) {
        pending++;
        continue;
      }
      nodes.push({
        name: n[0],
        instanceId: id,
        kubeletVersion: n[2],
        ready: (n[3] & READY) !== 0,
        cordoned: (n[3] & CORDONED) !== 0,
        drained: (n[3] & DRAINED) !== 0,
        marked: n[4] >= 0,
        gated: n[5] === p.version,
        ...(outdated?.has(id) ? { outdated: true } : {}),
        ...(current?.has(id) ? { current: true } : {}),
        ...(attached?.has(id) ? { attached: true } : {}),
      });
    }
    const steady = p.instanceIds.map((id) => byInstance.get(id)?.[4] ?? -1).find((s) => s >= 0);
    return {
      name: p.name,
      desired: p.desired,
      maxSize: p.maxSize,
      ...(p.minSize !== undefined ? { minSize: p.minSize } : {}),
      ...(p.replacing ? { replacing: true } : {}),
      nodes,
      pending,
      strategy: p.strategy,
      ...(steady !== undefined ? { steady } : {}),
    };
  });
  return {
    clusterVersion: snapshot.clusterVersion,
    kubeletVersions: snapshot.nodes.map((n) => n[2]),
    controlPlanes,
    pools: observedPools,
  };
}
