// The add-ons this version installs, in order, and which of them this cluster gets: each
// follows `addons.<name>.enabled`. Kubelet serving certificates, which every cluster needs
// approved, are no add-on: the control planes approve them (plan/csr-approver.ts).
import type { ClusterSpec } from "../config/spec";
import { cloudControllerManager } from "./ccm";
import { certManager } from "./cert-manager";
import { clusterAutoscaler } from "./cluster-autoscaler";
import { csiDisk } from "./csi-disk";
import { gateway } from "./gateway";
import { metricsServer } from "./metrics-server";
import { monitoring } from "./monitoring";
import { nodeProblemDetector } from "./node-problem-detector";
import type { AddonFacts, AddonInstall, AddonModule } from "./types";
import type { NodeTraffic } from "./cni/types";
import { cniImageRegistries } from "./cni";

export type { AddonFacts, AddonInstall, AddonModule, ManifestObject, RamStatement } from "./types";

/**
 * Switchable add-ons this version installs, in order: the cloud-controller-manager
 * first (nodes stay tainted until it initializes them).
 */
export const SWITCHABLE_ADDONS: readonly AddonModule[] = [
  cloudControllerManager,
  csiDisk,
  metricsServer,
  clusterAutoscaler,
  certManager,
  nodeProblemDetector,
  monitoring,
  gateway,
];

type AddonKey = keyof ClusterSpec["addons"];
const switchOf = (spec: ClusterSpec, name: string) => spec.addons[name as AddonKey];

/** The add-ons this cluster gets, in install order: every one that is on. */
export function selectedAddons(spec: ClusterSpec): AddonModule[] {
  return SWITCHABLE_ADDONS.filter((m) => switchOf(spec, m.name)?.enabled === true);
}

export interface PlannedAddon {
  readonly name: string;
  readonly install: AddonInstall;
}

export function addonPlan(spec: ClusterSpec, facts: AddonFacts): PlannedAddon[] {
  return selectedAddons(spec).map((m) => ({
    name: m.name,
    install: m.install(spec, facts, switchOf(spec, m.name)?.values ?? {}),
  }));
}

/**
 * Where the images of the CNI and of every enabled add-on come from: per registry host,
 * the mirrors nodes try first (nodeSoftware.registryMirrors), or none (pulled directly).
 */
export function imageSources(
  spec: ClusterSpec,
): { name: string; registries: { host: string; mirrors: readonly string[] }[] }[] {
  const of = (sources: readonly string[]) =>
    sources.map((source) => ({
      host: source,
      mirrors: spec.nodeSoftware.registryMirrors[source.split("/")[0] ?? source] ?? [],
    }));
  return [
    { name: `cni ${spec.cni.name}`, registries: of(cniImageRegistries(spec.cni)) },
    ...selectedAddons(spec).map((m) => ({ name: m.name, registries: of(m.imageRegistries(spec)) })),
  ];
}

/** Ports the enabled add-ons need open between nodes (plan/security-rules.ts). */
export function addonNodeTraffic(spec: ClusterSpec): NodeTraffic[] {
  return selectedAddons(spec).flatMap((m) => [...(m.nodeTraffic ?? [])]);
}

/** Problems with the stack's add-on overrides, by add-on name. */
export function addonValueProblems(spec: Pick<ClusterSpec, "addons">): { name: string; message: string }[] {
  return SWITCHABLE_ADDONS.flatMap((m) => {
    const a = spec.addons[m.name as AddonKey];
    return a?.enabled && m.problems
      ? m.problems(a.values ?? {}).map((message) => ({ name: m.name, message }))
      : [];
  });
}
