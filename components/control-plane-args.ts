// The control planes' arguments, built by the composition root (components/cluster.ts) from the
// spec and what the cloud resources before them give: user data, the settings command, the
// installers and the guarded settings are computed here, so ControlPlane itself needs no spec.
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import type { ControlPlanePlacement } from "../plan/control-plane";
import { csrApproverInstaller } from "../plan/csr-approver";
import { etcdBackupInstallers } from "../plan/etcd-backup";
import { guardedSettings } from "../plan/guarded-settings";
import type { ControlPlaneArgs } from "./control-plane";
import { controlPlaneSettings, controlPlaneUserData, type UserDataFacts } from "./user-data";

export interface ControlPlaneInputs {
  /** The facts every node's user data needs (load balancer address, discovery hash, key type). */
  readonly facts: UserDataFacts;
  /** The internet load balancer's address when the API is public: in the API certificate. */
  readonly publicLoadBalancerAddress?: pulumi.Output<string>;
  /** ClusterPki.controlPlaneCertificates (public; the keys come from the node secret store). */
  readonly pkiCertificates: pulumi.Input<Record<string, string>>;
  readonly imageId: pulumi.Input<string>;
  readonly vswitchIds: ControlPlaneArgs["vswitchIds"];
  readonly controlPlaneVswitchIds: ControlPlaneArgs["controlPlaneVswitchIds"];
  readonly securityGroupId: pulumi.Input<string>;
  readonly roleName: pulumi.Input<string>;
  readonly bootstrapRoleName: pulumi.Input<string>;
  readonly waitFor: readonly pulumi.Resource[];
  readonly vpcId: pulumi.Input<string>;
}

export function controlPlaneArgs(
  spec: ClusterSpec,
  placements: readonly ControlPlanePlacement[],
  i: ControlPlaneInputs,
): ControlPlaneArgs {
  const keyPairName = spec.ssh.enabled ? spec.ssh.keyPairName : undefined;
  const facts = {
    ...i.facts,
    ...(i.publicLoadBalancerAddress ? { publicLoadBalancerAddress: i.publicLoadBalancerAddress } : {}),
  };
  return {
    region: spec.region,
    tags: spec.tags,
    ...(keyPairName ? { keyPairName } : {}),
    controlPlane: spec.controlPlane,
    placements,
    guarded: guardedSettings(spec),
    userData: controlPlaneUserData(spec, placements, { ...facts, pkiCertificates: i.pkiCertificates }),
    imageId: i.imageId,
    vswitchIds: i.vswitchIds,
    controlPlaneVswitchIds: i.controlPlaneVswitchIds,
    securityGroupId: i.securityGroupId,
    roleName: i.roleName,
    bootstrapRoleName: i.bootstrapRoleName,
    settingsCommand: controlPlaneSettings(spec, facts),
    csrApproverInstaller: csrApproverInstaller({ region: spec.region, ipPrefixes: [spec.network.vpc.cidr] }),
    ...(spec.etcdBackup.enabled ? { etcdBackupInstallers: etcdBackupInstallers(spec, placements) } : {}),
    waitFor: i.waitFor,
    vpcId: i.vpcId,
    drainBudgetSeconds: spec.upgrade.drainTimeoutSeconds,
  };
}
