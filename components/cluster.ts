import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { controlPlanePlacements } from "../plan/control-plane";
import { backupBucketName } from "../plan/etcd-backup";
import { RAM_NAMES, resourceName } from "../plan/naming";
import { CONTROL_PLANE_TOKEN } from "../plan/pki";
import { poolReader, secretStorePlan } from "../plan/node-secrets";
import { securityRules } from "../plan/security-rules";
import * as k8s from "@pulumi/kubernetes";
import { API_PORT } from "../plan/kubeadm";
import { compatibility } from "../addons/catalog";
import { cniPlan } from "../addons/cni";
import { addonPlan, addonSteps, type AddonFacts } from "../addons/steps";
import { Addons } from "./addons";
import { BootstrapTokenSecrets } from "./bootstrap-tokens";
import { ApiLoadBalancer } from "./api-load-balancer";
import { Cni } from "./cni";
import { ControlPlane } from "./control-plane";
import { imageResolver } from "./images";
import { Network } from "./network";
import { NodePool } from "./node-pool";
import { NodeSecretStore } from "./node-secrets";
import { EtcdBackups } from "./etcd-backups";
import { nodeRoles } from "./node-roles";
import { ClusterPki } from "./pki";
import { SecurityGroups } from "./security-groups";
import { poolShapeUserData, poolUserData } from "./user-data";
import { controlPlaneArgs } from "./control-plane-args";
import { declareNodeLifecycle } from "./node-lifecycle";
import { declareControlPlaneRollout } from "./control-plane-rollout";
import { declarePoolRollouts } from "./pool-rollouts";

export interface KubeadmClusterArgs {
  /** A validated spec (config/validate.ts); the component trusts it. */
  readonly spec: ClusterSpec;
  /** Now, in ms since the epoch (default: the clock): the bootstrap tokens' renewal window. */
  readonly now?: number;
}

/** The whole cluster: network, security groups, PKI, API load balancer, control plane and node pools. */
export class KubeadmCluster extends pulumi.ComponentResource {
  readonly network: Network;
  readonly securityGroups: SecurityGroups;
  readonly pki: ClusterPki;
  /** The node secrets in OOS and who may read them. */
  readonly secrets: NodeSecretStore;
  readonly apiLoadBalancer: ApiLoadBalancer;
  readonly controlPlane: ControlPlane;
  readonly nodePools: Readonly<Record<string, NodePool>>;
  /** The control planes' version last confirmed by the staged rollout (the version memory). */
  readonly confirmedVersion: pulumi.Output<string>;
  /** Talks to this cluster's API once the control plane serves; every in-cluster resource uses it. */
  readonly kubernetes: k8s.Provider;
  /** Each join token's Secret in the cluster. */
  readonly bootstrapTokens: BootstrapTokenSecrets;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:index:Cluster", name, {}, opts);
    const { spec } = args;

    this.network = new Network(
      resourceName(spec.clusterName, "network"),
      {
        clusterName: spec.clusterName,
        network: spec.network,
        tags: spec.tags,
        deletionProtection: spec.controlPlane.deletionProtection,
        natZone: spec.controlPlane.zones[0] as string,
      },
      { parent: this },
    );

    this.securityGroups = new SecurityGroups(
      resourceName(spec.clusterName, "security-groups"),
      {
        clusterName: spec.clusterName,
        vpcId: this.network.vpcId,
        rules: securityRules(spec),
        tags: spec.tags,
      },
      { parent: this },
    );

    this.pki = new ClusterPki(
      resourceName(spec.clusterName, "pki"),
      {
        clusterName: spec.clusterName,
        pki: spec.pki,
        encryptionAtRest: spec.apiServer.encryptionAtRest.enabled,
        apiServerUrl: `https://${spec.apiEndpoint.dnsName}:6443`,
        nodePools: spec.nodePools.map((p) => p.name),
        ...(args.now !== undefined ? { now: args.now } : {}),
      },
      { parent: this },
    );

    const { role, bootstrapRole, poolRoles } = nodeRoles(spec, this);

    const imageId = imageResolver(spec.clusterName, this);

    this.apiLoadBalancer = new ApiLoadBalancer(
      resourceName(spec.clusterName, "api"),
      {
        clusterName: spec.clusterName,
        tags: spec.tags,
        apiEndpoint: spec.apiEndpoint,
        deletionProtection: spec.controlPlane.deletionProtection,
        zones: { preferred: spec.controlPlane.zones[0] as string, ours: spec.zones },
        vswitchIds: this.network.vswitchIds,
      },
      { parent: this },
    );

    const tokens = this.pki.bootstrapTokens;
    this.secrets = new NodeSecretStore(
      resourceName(spec.clusterName, "node-secrets"),
      {
        clusterName: spec.clusterName,
        tags: spec.tags,
        plan: secretStorePlan(spec),
        pkiKeys: this.pki.controlPlaneKeys,
        ...(this.pki.encryptionConfig ? { encryptionConfig: this.pki.encryptionConfig } : {}),
        tokens: {
          [CONTROL_PLANE_TOKEN]: this.pki.controlPlaneToken.token,
          ...Object.fromEntries(Object.entries(tokens).map(([pool, t]) => [pool, t.token])),
        },
        roleNames: {
          "control-plane": bootstrapRole.roleName,
          ...Object.fromEntries(Object.entries(poolRoles).map(([pool, r]) => [poolReader(pool), r.roleName])),
        },
      },
      { parent: this },
    );
    const keyPairName = spec.ssh.enabled ? spec.ssh.keyPairName : undefined;
    const ssh = keyPairName ? { keyPairName } : {};
    const userDataFacts = {
      loadBalancerAddress: this.apiLoadBalancer.privateAddress,
      discoveryHash: this.pki.discoveryHash,
      encryptionAlgorithm: this.pki.encryptionAlgorithm,
    };
    const placements = controlPlanePlacements(spec);
    this.controlPlane = new ControlPlane(
      resourceName(spec.clusterName, "control-plane"),
      controlPlaneArgs(spec, placements, {
        facts: userDataFacts,
        ...(this.apiLoadBalancer.publicAddress
          ? { publicLoadBalancerAddress: this.apiLoadBalancer.publicAddress }
          : {}),
        pkiCertificates: this.pki.controlPlaneCertificates,
        imageId: imageId(spec.controlPlane.image),
        vswitchIds: this.network.vswitchIds,
        controlPlaneVswitchIds: this.network.controlPlaneVswitchIds,
        securityGroupId: this.securityGroups.controlPlaneGroupId,
        roleName: role.roleName,
        bootstrapRoleName: bootstrapRole.roleName,
        // Nodes download packages and read their secrets at first boot: egress, the
        // secrets and the right to read them must exist before they start.
        waitFor: [...this.network.egress, ...this.secrets.readable],
        vpcId: this.network.vpcId,
      }),
      { parent: this },
    );
    if (spec.etcdBackup.enabled) {
      new EtcdBackups(
        resourceName(spec.clusterName, "etcd-backups"),
        {
          clusterName: spec.clusterName,
          tags: spec.tags,
          bucket: backupBucketName(spec),
          retentionDays: spec.etcdBackup.retentionDays,
          vpcId: this.network.vpcId,
          controlPlanes: placements,
          roleName: role.roleName,
          policyName: RAM_NAMES.etcdBackupPolicy(spec),
          protect: spec.controlPlane.deletionProtection,
        },
        { parent: this },
      );
    }
    const backends = this.apiLoadBalancer.attach(
      placements.map((p, i) => ({
        name: p.name,
        id: this.controlPlane.instanceIds[i] as pulumi.Output<string>,
      })),
    );
    const [firstReady] = this.controlPlane.readiness;
    if (firstReady) this.secrets.recordClusterInitialized([firstReady]);

    // The machine running Pulumi reaches the API through a load balancer address (both
    // are in the API certificate): the public one when there is one.
    const apiAddress = this.apiLoadBalancer.publicAddress ?? this.apiLoadBalancer.privateAddress;
    const kubeconfig = this.pki.adminKubeconfigFor(pulumi.interpolate`https://${apiAddress}:${API_PORT}`);
    const apiServes = [...this.controlPlane.readiness, ...backends];
    this.kubernetes = new k8s.Provider(
      resourceName(spec.clusterName, "kubernetes"),
      {
        kubeconfig,
        enableServerSideApply: true,
      },
      { parent: this, dependsOn: apiServes },
    );
    this.bootstrapTokens = new BootstrapTokenSecrets(
      resourceName(spec.clusterName, "bootstrap-tokens"),
      {
        clusterName: spec.clusterName,
        tokens: { [CONTROL_PLANE_TOKEN]: this.pki.controlPlaneToken, ...tokens },
        kubeconfig,
        waitFor: apiServes,
      },
      { parent: this },
    );

    // The staged rollout (components/rollout): every version change of the control planes
    // goes through it, one control plane at a time, after the control planes' own
    // installers; the pools follow only once it confirmed (README "Upgrades").
    const { controlPlaneRollout, rolloutSettings } = declareControlPlaneRollout(this, spec, {
      instanceIds: this.controlPlane.instanceIds,
      after: [...this.controlPlane.readiness, this.controlPlane.lastInstall],
    });
    this.confirmedVersion = controlPlaneRollout.confirmedVersion;

    // In zone-name order, so that reordering the stack's zones changes nothing here.
    const poolVswitchIds = [...spec.network.vswitches]
      .sort((a, b) => a.zone.localeCompare(b.zone))
      .map((v) => this.network.vswitchIds[v.zone] as pulumi.Output<string>);
    const pools: Record<string, NodePool> = {};
    const userDataOf: Record<string, pulumi.Output<string>> = {};
    for (const pool of spec.nodePools) {
      userDataOf[pool.name] = poolUserData(spec, pool, userDataFacts);
      const poolRole = poolRoles[pool.name] as alicloud.ram.Role;
      pools[pool.name] = new NodePool(
        resourceName(spec.clusterName, "pool", pool.name),
        {
          clusterName: spec.clusterName,
          tags: spec.tags,
          ...ssh,
          deletionProtection: spec.controlPlane.deletionProtection,
          pool,
          userData: userDataOf[pool.name] as pulumi.Output<string>,
          shapeUserData: poolShapeUserData(spec, pool, userDataFacts),
          imageId: imageId(pool.image),
          vswitchIds: poolVswitchIds,
          securityGroupId: this.securityGroups.workersGroupId,
          roleName: poolRole.roleName,
          // Nodes join through the load balancer, once the control plane serves behind it
          // and knows the pool's token.
          waitFor: [
            ...this.network.egress,
            ...this.secrets.readable,
            ...apiServes,
            this.bootstrapTokens.secrets[pool.name] as pulumi.Resource,
          ],
          releaseAfter: controlPlaneRollout.confirmedVersion,
        },
        { parent: this },
      );
    }
    this.nodePools = pools;
    declarePoolRollouts(this, spec, {
      pools,
      userData: userDataOf,
      roleNames: Object.fromEntries(Object.entries(poolRoles).map(([n, r]) => [n, r.roleName])),
      controlPlaneRollout,
      settings: rolloutSettings,
      vpcId: this.network.vpcId,
      workersGroupId: this.securityGroups.workersGroupId,
    });
    // Scaled-in nodes drained before ESS releases them; unhealthy ones replaced (issue 16).
    declareNodeLifecycle(this, spec, {
      pools,
      placements,
      controlPlaneIds: this.controlPlane.instanceIds,
      controlPlaneRoleName: role.roleName,
      afterInstalls: this.controlPlane.lastInstall,
    });

    const cni = new Cni(
      resourceName(spec.clusterName, "cni"),
      { plan: cniPlan(spec, API_PORT), provider: this.kubernetes },
      { parent: this },
    );
    const addonsName = resourceName(spec.clusterName, "addons");
    const facts: pulumi.Output<AddonFacts> = pulumi.output({
      vpcId: this.network.vpcId,
      vswitchIds: { ...this.network.vswitchIds },
      scalingGroupIds: Object.fromEntries(Object.entries(pools).map(([p, np]) => [p, np.scalingGroupId])),
    });
    new Addons(
      addonsName,
      {
        steps: addonSteps(spec, addonsName),
        planned: facts.apply((f) => addonPlan(spec, f)),
        provider: this.kubernetes,
        controlPlaneRole: role.roleName,
        cni: cni.installed,
      },
      { parent: this },
    );
    // Known incompatibilities were refused with the config; unknown ones are said here.
    for (const u of compatibility(spec).unknown) pulumi.log.warn(u, this);

    this.registerOutputs({
      vpcId: this.network.vpcId,
      vswitchIds: this.network.vswitchIds,
      egressIp: this.network.egressIp,
      controlPlaneSecurityGroupId: this.securityGroups.controlPlaneGroupId,
      workersSecurityGroupId: this.securityGroups.workersGroupId,
      caCertPem: this.pki.cas.cluster.certPem,
      discoveryHash: this.pki.discoveryHash,
      adminKubeconfig: this.pki.admin.kubeconfig,
      apiPrivateAddress: this.apiLoadBalancer.privateAddress,
      controlPlaneReady: this.controlPlane.ready,
      confirmedVersion: this.confirmedVersion,
      bootstrapTokensExpireAt: this.pki.tokenRenewal.expiresAt,
    });
  }
}
