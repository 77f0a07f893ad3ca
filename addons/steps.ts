// The add-ons' installation as a plain list of steps (issue: architecture, item 5): every
// resource the Addons component declares, its name, what it waits for and where its
// content comes from, computed here from the spec alone. The component walks the list and
// declares; it holds no decision of its own. Content that needs the cloud's answers (a
// vSwitch id, a scaling group id) is a lookup into addonPlan(spec, facts) by position.
import type { ClusterSpec } from "../config/spec";
import { RAM_NAMES, resourceName } from "../plan/naming";
import { addonPlan, type AddonFacts, type PlannedAddon } from "./index";
import type { ChartRef, CredentialsSecret } from "./types";

/** What a step waits for: earlier steps by name, and "cni" for the CNI's installation. */
export type StepAfter = readonly string[];

/** Where a step's content is in addonPlan(spec, facts): the add-on's position, and the chart's. */
export interface PlanSlot {
  readonly addon: number;
  readonly chart?: number;
}

interface Base {
  /** The resource's logical name (public API once a stack has state). */
  readonly name: string;
  readonly addon: string;
}

export type AddonStep =
  | (Base & {
      readonly kind: "namespace";
      readonly after: StepAfter;
      readonly namespace: string;
      readonly labels: Readonly<Record<string, string>>;
    })
  | (Base & { readonly kind: "ram-user"; readonly userName: string; readonly comments: string })
  | (Base & { readonly kind: "access-key"; readonly user: string })
  | (Base & {
      readonly kind: "credentials";
      readonly after: StepAfter;
      readonly accessKey: string;
      readonly namespace: string;
      readonly secret: CredentialsSecret;
    })
  | (Base & {
      readonly kind: "manifest";
      readonly after: StepAfter;
      readonly slot: PlanSlot;
      readonly secret: boolean;
    })
  | (Base & {
      readonly kind: "chart";
      readonly after: StepAfter;
      readonly ref: ChartRef;
      readonly namespace: string;
      readonly slot: PlanSlot;
      readonly secret: boolean;
    })
  | (Base & {
      readonly kind: "ram-policy";
      readonly policyName: string;
      readonly description: string;
      readonly slot: PlanSlot;
    })
  | (Base & { readonly kind: "ram-user-policy"; readonly policy: string; readonly user: string })
  | (Base & { readonly kind: "ram-role-policy"; readonly policy: string });

export const CNI: string = "cni";
const CCM = "cloudControllerManager";

/**
 * The steps for this cluster, in declaration order. `prefix` is the Addons component's
 * name. Each add-on's in-cluster steps form a chain; the next add-on waits for the last
 * of them. The cloud-controller-manager goes first and waits for nothing (it runs on the
 * host network, and until it initializes nodes nothing else schedules); the next add-on
 * waits for both it and the CNI.
 */
export function addonSteps(spec: ClusterSpec, prefix: string): AddonStep[] {
  // Which resources exist depends on the spec only; the facts fill in values.
  const shape = addonPlan(spec, {
    vpcId: "",
    vswitchIds: Object.fromEntries(spec.zones.map((z) => [z, ""])),
    scalingGroupIds: Object.fromEntries(spec.nodePools.map((p) => [p.name, ""])),
  });
  // Values built from overrides the stack keeps encrypted (a password, say) stay secret.
  const overridesSecret = spec.secretConfigKeys.includes("addons");
  const steps: AddonStep[] = [];
  let previous: StepAfter = [CNI];
  for (const [i, { name: addon, install }] of shape.entries()) {
    const n = (...parts: string[]) => `${prefix}-${addon}${parts.length ? `-${parts.join("-")}` : ""}`;
    const secret = overridesSecret && spec.addons[addon as keyof ClusterSpec["addons"]]?.values !== undefined;
    let after: StepAfter = addon === CCM ? [] : previous;
    const chain = <S extends AddonStep>(s: S): void => {
      steps.push(s);
      after = [s.name];
    };
    if (install.namespace !== "kube-system") {
      chain({
        kind: "namespace",
        name: n("namespace"),
        addon,
        after,
        namespace: install.namespace,
        labels: { ...(install.namespaceLabels ?? {}) },
      });
    }
    const ram = install.ram;
    const user = resourceName(spec.clusterName, "addon", addon, "user");
    if (ram?.scope === "dedicated-user") {
      // Its own RAM user and access key, delivered as a Secret before the add-on starts.
      const key = resourceName(spec.clusterName, "addon", addon, "key");
      steps.push({
        kind: "ram-user",
        name: user,
        addon,
        userName: RAM_NAMES.addonUser(spec, addon),
        comments: `${addon} in Kubernetes cluster ${spec.clusterName}`,
      });
      steps.push({ kind: "access-key", name: key, addon, user });
      chain({
        kind: "credentials",
        name: n("credentials"),
        addon,
        after,
        accessKey: key,
        namespace: install.namespace,
        secret: ram.credentialsSecret,
      });
    }
    if (install.manifest) {
      chain({ kind: "manifest", name: n("manifest"), addon, after, slot: { addon: i }, secret });
    }
    for (const [j, c] of install.charts.entries()) {
      chain({
        kind: "chart",
        name: n(c.name),
        addon,
        after,
        ref: c.ref,
        namespace: install.namespace,
        slot: { addon: i, chart: j },
        secret,
      });
    }
    if (ram) {
      const policy = resourceName(spec.clusterName, "addon", addon);
      steps.push({
        kind: "ram-policy",
        name: policy,
        addon,
        policyName: RAM_NAMES.addonPolicy(spec, addon),
        description: `${addon} in Kubernetes cluster ${spec.clusterName}`,
        slot: { addon: i },
      });
      steps.push(
        ram.scope === "dedicated-user"
          ? {
              kind: "ram-user-policy",
              name: resourceName(spec.clusterName, "addon", addon, "user-policy"),
              addon,
              policy,
              user,
            }
          : {
              kind: "ram-role-policy",
              name: resourceName(spec.clusterName, "addon", addon, "control-plane"),
              addon,
              policy,
            },
      );
    }
    previous = addon === CCM ? [...previous, ...after] : after;
  }
  return steps;
}

/** The planned content a step's slot points at. */
export function slotContent(planned: readonly PlannedAddon[], slot: PlanSlot): PlannedAddon["install"] {
  const found = planned[slot.addon];
  if (!found) throw new Error(`no planned add-on at position ${slot.addon}`);
  return found.install;
}

export { addonPlan };
export type { AddonFacts, PlannedAddon };
