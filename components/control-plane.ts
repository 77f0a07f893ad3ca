import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import type { ControlPlanePlacement } from "../plan/control-plane";
import { RECONFIGURE_COMMAND_SECONDS } from "../plan/control-plane-settings";
import { ROLE_TAG } from "../plan/naming";
import { INSTALL_COMMAND_SECONDS, certRenewalInstaller } from "../plan/node-commands";
import type { ImmutableSetting } from "../plan/guarded-settings";
import { ControlPlaneDrain } from "./control-plane-drain";
import { ImmutableSettings } from "./immutable-settings";
import { READINESS_TIMEOUT_SECONDS, ReadinessCheck } from "./readiness";
import { BootstrapRole, RoleHandover } from "./role-handover";

const WAIT_READY = readFileSync(join(__dirname, "..", "bootstrap", "wait-ready.sh"), "utf8");

export interface ControlPlaneArgs {
  readonly region: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The key pair control planes accept, when ssh is enabled. */
  readonly keyPairName?: string;
  readonly controlPlane: Pick<
    ClusterSpec["controlPlane"],
    "instanceType" | "systemDisk" | "snapshots" | "deletionProtection" | "image"
  >;
  /** plan/control-plane.ts controlPlanePlacements: the first may run `kubeadm init`. */
  readonly placements: readonly ControlPlanePlacement[];
  /** plan/guarded-settings.ts guardedSettings: refused at preview when they change. */
  readonly guarded: readonly ImmutableSetting[];
  /** components/user-data.ts controlPlaneUserData, by placement name. */
  readonly userData: Readonly<Record<string, pulumi.Input<string>>>;
  readonly imageId: pulumi.Input<string>;
  readonly vswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
  /** The control planes' own vSwitch per zone (empty when they share the nodes'). */
  readonly controlPlaneVswitchIds: Readonly<Record<string, pulumi.Output<string>>>;
  readonly securityGroupId: pulumi.Input<string>;
  /** The control planes' steady RAM role: no grant on the node secrets. */
  readonly roleName: pulumi.Input<string>;
  /** The role a control plane holds only while it bootstraps: it may read the CA keys. */
  readonly bootstrapRoleName: pulumi.Input<string>;
  /**
   * plan/control-plane-settings.ts controlPlaneSettingsCommand: the kubeadm settings carried to
   * each running control plane, one after another (the same command for all; it reads the node).
   */
  readonly settingsCommand: pulumi.Input<string>;
  /** plan/csr-approver.ts csrApproverInstaller: the same on every control plane. */
  readonly csrApproverInstaller: string;
  /** plan/etcd-backup.ts etcdBackupInstaller, by placement name; none when backups are off. */
  readonly etcdBackupInstallers?: Readonly<Record<string, string>>;
  /** What must exist before any control plane boots (egress, the node secrets and the right to read them). */
  readonly waitFor: readonly pulumi.Resource[];
  /** The cluster's VPC, where a control plane is found by its address before its restart. */
  readonly vpcId: pulumi.Input<string>;
  /** upgrade.drainTimeoutSeconds: a control plane's drain before an instance-type restart. */
  readonly drainBudgetSeconds: number;
}

/**
 * The control-plane instances: fixed private addresses spread over the zones,
 * encrypted disks, metadata tokens required. Each boots with the bootstrap RAM role
 * (it reads the CA keys), which is taken away once it serves; then it gets the steady
 * role. The first runs `kubeadm init` while no cluster exists; each next one is created
 * only after the one before it serves the API, so etcd membership changes one at a
 * time. `ready` resolves once the last is up.
 */
export class ControlPlane extends pulumi.ComponentResource {
  readonly instanceIds: pulumi.Output<string>[];
  readonly privateIps: string[];
  /** Resolves when every control plane passed its readiness check. */
  readonly ready: pulumi.Output<string>;
  /** The readiness checks, in order: depend on these to wait for a serving control plane. */
  readonly readiness: ReadinessCheck[];
  /** The last installation on the last control plane: later ones chain after it. */
  readonly lastInstall: pulumi.Resource;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:ControlPlane", name, {}, opts);
    const { controlPlane: cp, placements } = args;
    const child = { parent: this };
    const first = placements[0];
    if (!first) throw new pulumi.ResourceError("no control planes planned", this);

    this.instanceIds = [];
    this.readiness = [];
    this.privateIps = placements.map((p) => p.privateIp);
    // Settings whose change would replace control planes, vSwitches or RAM roles that
    // are in use (plan/guarded-settings.ts): refused at preview, with the key named and
    // the config that keeps what is deployed.
    const guard = new ImmutableSettings(`${name}-immutable`, args.guarded, child);
    // Daily snapshots of every control plane's system disk, where etcd keeps its data:
    // a lost or replaced control plane's disk is not the only copy (audit
    // alibaba-resources 2.3). Applied in place to running instances
    // (resource_alicloud_instance.go v1.289.0: system_disk_auto_snapshot_policy_id is
    // sent as ApplyAutoSnapshotPolicy, no restart).
    const snap = cp.snapshots;
    const snapshots = snap.enabled
      ? new alicloud.ecs.AutoSnapshotPolicy(
          `${name}-snapshots`,
          {
            autoSnapshotPolicyName: `${name}-snapshots`,
            repeatWeekdays: ["1", "2", "3", "4", "5", "6", "7"],
            timePoints: [String(snap.hourUtc8)],
            retentionDays: snap.retentionDays,
            tags: { ...args.tags },
          },
          child,
        )
      : undefined;
    // A new PINNED image replaces control planes one at a time (each drained first, its release
    // protection lifted, the new one joining at the cluster's version), with 3 of them or more:
    // the chain below orders the replacements as it orders instance-type restarts. The newest
    // public image (unpinned) moves by itself and must not replace anything, and no image
    // replaces a control plane of a smaller cluster (its etcd data is on its disk). One at a
    // time: the engine answers a registration only once its step (here a replacement) is done
    // (pulumi/pulumi pkg/resource/deploy/source_eval.go RegisterResource, "block waiting for the
    // operation to finish"), and the SDK registers a resource only once its dependsOn have their
    // URNs (@pulumi/pulumi 3.270 runtime/resource.js prepareResource).
    const rollImage = cp.image.id !== undefined && placements.length >= 3;
    let previous: pulumi.Resource | undefined;
    let previousInstall: pulumi.Resource | undefined;
    for (const p of placements) {
      const userData = args.userData[p.name];
      if (userData === undefined) throw new pulumi.ResourceError(`no user data for ${p.name}`, this);
      const disk = cp.systemDisk;
      // Drained before the provider restarts it for a new instance type, after the one before
      // it serves again (components/control-plane-drain.ts).
      const drain = new ControlPlaneDrain(
        `${p.name}-drain`,
        {
          regionId: args.region,
          vpcId: args.vpcId,
          privateIp: p.privateIp,
          peerIps: placements.filter((x) => x.name !== p.name).map((x) => x.privateIp),
          instanceType: cp.instanceType,
          systemDiskCategory: cp.systemDisk.category,
          ...(rollImage ? { imageId: args.imageId } : {}),
          drainBudgetSeconds: args.drainBudgetSeconds,
        },
        { parent: this, dependsOn: previous ? [previous] : [] },
      );
      const instance = new alicloud.ecs.Instance(
        p.name,
        {
          instanceName: p.name,
          hostName: p.name,
          imageId: args.imageId,
          instanceType: cp.instanceType,
          vswitchId: (p.dedicated ? args.controlPlaneVswitchIds : args.vswitchIds)[p.zone],
          privateIp: p.privateIp,
          securityGroups: [args.securityGroupId],
          systemDiskCategory: disk.category,
          systemDiskSize: disk.sizeGb,
          ...(disk.performanceLevel ? { systemDiskPerformanceLevel: disk.performanceLevel } : {}),
          systemDiskEncrypted: true,
          ...(snapshots ? { systemDiskAutoSnapshotPolicyId: snapshots.id } : {}),
          httpEndpoint: "enabled",
          httpTokens: "required",
          // Alibaba refuses to release a protected instance (ModifyInstanceAttribute
          // DeletionProtection): no console click or stray destroy removes a control plane.
          deletionProtection: cp.deletionProtection,
          ...(args.keyPairName ? { keyName: args.keyPairName } : {}),
          userData,
          tags: { ...args.tags, [ROLE_TAG]: "control-plane" },
          volumeTags: { ...args.tags },
        },
        {
          parent: this,
          dependsOn: [guard, drain, ...args.waitFor, ...(previous ? [previous] : [])],
          // User data runs once, at first boot, and a change would reboot the node: what
          // changes over a cluster's life goes through Cloud Assistant, not here (a replacement
          // keeps the recorded user data too, and joins at the cluster's version). The image:
          // replaced for when rolled (above; the provider would otherwise swap the system disk
          // in place, wiping etcd: resource_alicloud_instance.go modifyInstanceImage), else kept.
          ignoreChanges: rollImage ? ["userData"] : ["userData", "imageId"],
          ...(rollImage ? { replaceOnChanges: ["imageId"] } : {}),
          // A replacement (a new disk category or rolled image, or `pulumi up --replace`) keeps
          // the fixed address, which the old instance must give up first.
          deleteBeforeReplace: true,
        },
      );
      const regionId = args.region;
      const bootstrapRole = new BootstrapRole(
        `${p.name}-bootstrap-role`,
        {
          regionId,
          instanceId: instance.id,
          bootstrapRoleName: args.bootstrapRoleName,
          steadyRoleName: args.roleName,
        },
        child,
      );
      // Cloud Assistant runs wait-ready.sh on the node; a failure stops pulumi up with the
      // tail of the node's bootstrap log.
      const ready = new ReadinessCheck(
        `${p.name}-ready`,
        {
          regionId,
          instanceId: instance.id,
          script: WAIT_READY,
          timeoutSeconds: READINESS_TIMEOUT_SECONDS,
          // The provider changes an instance type by stopping and starting the instance
          // (aliyun/terraform-provider-alicloud v1.289.0 resource_alicloud_instance.go
          // modifyInstanceType: StopInstance, ModifyInstanceSpec, StartInstance, waiting
          // only for Running). With the type as revision this check runs again after the
          // restart, and the next control plane (it depends on this check) is stopped only
          // once this one serves: never two at once (audit alibaba-resources 2.1).
          revision: `instanceType=${cp.instanceType}`,
        },
        { parent: this, dependsOn: [bootstrapRole] },
      );
      // Serving: the CA keys are no longer this node's to read.
      const handover = new RoleHandover(
        `${p.name}-role-handover`,
        { regionId, instanceId: instance.id, bootstrapRoleName: args.bootstrapRoleName },
        { parent: this, dependsOn: [ready] },
      );
      new alicloud.ecs.RamRoleAttachment(
        `${p.name}-role`,
        { instanceId: instance.id, ramRoleName: args.roleName },
        { parent: this, dependsOn: [handover] },
      );
      // Certificate renewal, installed (again whenever it changes) one control plane at a time.
      previousInstall = new ReadinessCheck(
        `${p.name}-cert-renewal`,
        {
          regionId,
          instanceId: instance.id,
          script: certRenewalInstaller(),
          timeoutSeconds: INSTALL_COMMAND_SECONDS,
        },
        { parent: this, dependsOn: [ready, ...(previousInstall ? [previousInstall] : [])] },
      );
      // The control planes' kubeadm settings, carried to this one once the renewal's installer put
      // the shared library there; the next control plane is touched only after this returns.
      const settings = new ReadinessCheck(
        `${p.name}-settings`,
        {
          regionId,
          instanceId: instance.id,
          script: args.settingsCommand,
          timeoutSeconds: RECONFIGURE_COMMAND_SECONDS,
        },
        { parent: this, dependsOn: [ready, previousInstall] },
      );
      previousInstall = settings;
      // Scheduled etcd snapshots, installed the same way, after the renewal.
      const backupInstaller = args.etcdBackupInstallers?.[p.name];
      if (backupInstaller !== undefined) {
        previousInstall = new ReadinessCheck(
          `${p.name}-etcd-backup`,
          {
            regionId,
            instanceId: instance.id,
            script: backupInstaller,
            timeoutSeconds: INSTALL_COMMAND_SECONDS,
          },
          { parent: this, dependsOn: [ready, previousInstall] },
        );
      }
      // The serving-certificate approver (plan/csr-approver.ts), on every control plane so
      // that approvals go on while any one is down; installed the same way, last.
      previousInstall = new ReadinessCheck(
        `${p.name}-csr-approver`,
        {
          regionId,
          instanceId: instance.id,
          script: args.csrApproverInstaller,
          timeoutSeconds: INSTALL_COMMAND_SECONDS,
        },
        { parent: this, dependsOn: [ready, previousInstall] },
      );
      this.instanceIds.push(instance.id);
      this.readiness.push(ready);
      previous = settings;
    }
    this.ready = (this.readiness[this.readiness.length - 1] as ReadinessCheck).lastLine;
    this.lastInstall = previousInstall as pulumi.Resource;
    this.registerOutputs({ instanceIds: this.instanceIds, privateIps: this.privateIps, ready: this.ready });
  }
}
