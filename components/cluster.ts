import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { resourceName } from "../plan/naming";
import { securityRules } from "../plan/security-rules";
import { Network } from "./network";
import { ClusterPki } from "./pki";
import { SecurityGroups } from "./security-groups";

export interface KubeadmClusterArgs {
  /** A validated spec (config/validate.ts); the component trusts it. */
  readonly spec: ClusterSpec;
}

/** The whole cluster. Today: its network, security groups and PKI. */
export class KubeadmCluster extends pulumi.ComponentResource {
  readonly network: Network;
  readonly securityGroups: SecurityGroups;
  readonly pki: ClusterPki;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:index:Cluster", name, {}, opts);
    const { spec } = args;

    this.network = new Network(resourceName(spec.clusterName, "network"), {
      clusterName: spec.clusterName,
      network: spec.network,
      tags: spec.tags,
      deletionProtection: spec.controlPlane.deletionProtection,
    }, { parent: this });

    this.securityGroups = new SecurityGroups(resourceName(spec.clusterName, "security-groups"), {
      clusterName: spec.clusterName,
      vpcId: this.network.vpcId,
      rules: securityRules(spec),
      tags: spec.tags,
    }, { parent: this });

    this.pki = new ClusterPki(resourceName(spec.clusterName, "pki"), {
      clusterName: spec.clusterName,
      pki: spec.pki,
      apiServerUrl: `https://${spec.apiEndpoint.dnsName}:6443`,
      nodePools: spec.nodePools.map((p) => p.name),
    }, { parent: this });

    this.registerOutputs({
      vpcId: this.network.vpcId,
      vswitchIds: this.network.vswitchIds,
      egressIp: this.network.egressIp,
      controlPlaneSecurityGroupId: this.securityGroups.controlPlaneGroupId,
      workersSecurityGroupId: this.securityGroups.workersGroupId,
      caCertPem: this.pki.cas.cluster.certPem,
      discoveryHash: this.pki.discoveryHash,
      adminKubeconfig: this.pki.admin.kubeconfig,
    });
  }
}
