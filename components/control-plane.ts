import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { controlPlanePlacements } from "../plan/control-plane";
import { ROLE_TAG } from "../plan/naming";
import { renderUserData } from "../plan/node-bootstrap";
import type { KeyAlgorithm } from "../plan/pki";
import { ReadinessCheck } from "./readiness";

const WAIT_READY = readFileSync(join(__dirname, "..", "bootstrap", "wait-ready.sh"), "utf8");
/** How long a control plane may take from boot to a serving API: wait-ready.sh's default timeout. */
export const READINESS_TIMEOUT_SECONDS = 1500;

export interface ControlPlaneArgs {
  readonly spec: ClusterSpec;
  readonly imageId: pulumi.Input<string>;
  readonly vswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
  readonly securityGroupId: pulumi.Input<string>;
  readonly roleName: pulumi.Input<string>;
  readonly loadBalancerAddress: pulumi.Input<string>;
  /** When the API is public: the internet load balancer's address, for the API certificate. */
  readonly publicLoadBalancerAddress?: pulumi.Input<string>;
  readonly discoveryHash: pulumi.Input<string>;
  readonly encryptionAlgorithm: KeyAlgorithm;
  /** ClusterPki.controlPlaneCertificates: public; the keys come from the node secret store. */
  readonly pkiCertificates: pulumi.Input<Record<string, string>>;
  /** What must exist before any control plane boots (egress, the node secrets and the right to read them). */
  readonly waitFor: readonly pulumi.Resource[];
}

/**
 * The control-plane instances: fixed private addresses spread over the zones,
 * encrypted disks, metadata tokens required, the node RAM role. The first runs
 * `kubeadm init`; each next one is created only after the one before it serves the
 * API, so etcd membership changes one at a time. `ready` resolves once the last is up.
 */
export class ControlPlane extends pulumi.ComponentResource {
  readonly instanceIds: pulumi.Output<string>[];
  readonly privateIps: string[];
  /** Resolves when every control plane passed its readiness check. */
  readonly ready: pulumi.Output<string>;
  /** The readiness checks, in order: depend on these to wait for a serving control plane. */
  readonly readiness: ReadinessCheck[];

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:ControlPlane", name, {}, opts);
    const { spec } = args;
    const child = { parent: this };
    const placements = controlPlanePlacements(spec);
    const first = placements[0];
    if (!first) throw new Error("no control planes planned");

    this.instanceIds = [];
    this.readiness = [];
    this.privateIps = placements.map((p) => p.privateIp);
    let previous: pulumi.Resource | undefined;
    for (const p of placements) {
      const role = p.index === 0 ? "init" : "control-plane";
      // No key and no token in here (the node fetches them): user data is not a secret,
      // so a preview shows it.
      const userData = pulumi.all([args.loadBalancerAddress, args.publicLoadBalancerAddress, args.discoveryHash, args.pkiCertificates])
        .apply(([loadBalancerAddress, publicLoadBalancerAddress, discoveryHash, pki]) =>
          renderUserData({
            spec,
            facts: { loadBalancerAddress, discoveryHash, encryptionAlgorithm: args.encryptionAlgorithm, ...(publicLoadBalancerAddress ? { publicLoadBalancerAddress } : {}) },
            role,
            // Never the CLB (hairpin): the first control plane itself, then the first one's address.
            apiHostsAddress: role === "init" ? "self" : first.privateIp,
          }, { pki }));
      const disk = spec.controlPlane.systemDisk;
      const instance = new alicloud.ecs.Instance(p.name, {
        instanceName: p.name,
        hostName: p.name,
        imageId: args.imageId,
        instanceType: spec.controlPlane.instanceType,
        vswitchId: args.vswitchIds[p.zone],
        privateIp: p.privateIp,
        securityGroups: [args.securityGroupId],
        systemDiskCategory: disk.category,
        systemDiskSize: disk.sizeGb,
        ...(disk.performanceLevel ? { systemDiskPerformanceLevel: disk.performanceLevel } : {}),
        systemDiskEncrypted: true,
        httpEndpoint: "enabled",
        httpTokens: "required",
        deletionProtection: spec.controlPlane.deletionProtection,
        ...(spec.ssh.enabled && spec.ssh.keyPairName ? { keyName: spec.ssh.keyPairName } : {}),
        userData,
        tags: { ...spec.tags, [ROLE_TAG]: "control-plane" },
        volumeTags: { ...spec.tags },
      }, {
        parent: this,
        dependsOn: [...args.waitFor, ...(previous ? [previous] : [])],
        // User data runs once, at first boot, and a change would reboot the node: what
        // changes over a cluster's life goes through Cloud Assistant, not here. A newer
        // public image must not replace control planes either.
        ignoreChanges: ["userData", "imageId"],
      });
      new alicloud.ecs.RamRoleAttachment(`${p.name}-role`, { instanceId: instance.id, ramRoleName: args.roleName }, child);
      // Cloud Assistant runs wait-ready.sh on the node; a failure stops pulumi up with the
      // tail of the node's bootstrap log.
      const ready = new ReadinessCheck(`${p.name}-ready`, {
        regionId: spec.region,
        instanceId: instance.id,
        script: WAIT_READY,
        timeoutSeconds: READINESS_TIMEOUT_SECONDS,
      }, child);
      this.instanceIds.push(instance.id);
      this.readiness.push(ready);
      previous = ready;
    }
    this.ready = (previous as ReadinessCheck).lastLine;
    this.registerOutputs({ instanceIds: this.instanceIds, privateIps: this.privateIps, ready: this.ready });
  }
}
