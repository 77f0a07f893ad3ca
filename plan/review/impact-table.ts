// Which inputs of the resources we declare replace the resource, or restart a running
// machine, when they change: the review (tools/review) flags those changes. Replace:
// every top-level argument marked ForceNew in the provider's schema, with its line, read
// in aliyun/terraform-provider-alicloud at v1.289.0 (the alicloud bridge's upstream; the
// files cited did not change up to master). Restart: arguments whose update stops and
// starts an ECS instance (resource_alicloud_instance.go: resourceAliyunInstanceUpdate
// sets `run` for image, VPC attributes, instance type, CPU options and the attributes
// modifyInstanceAttribute reports as needing a reboot, then StopInstance ... StartInstance,
// lines 1902-1990, 2878-2996, 2999-3084, 3084-3185). Generated from the provider's source
// by reading each file's schema; re-check when the provider is upgraded.

export const PROVIDER_SOURCE = "aliyun/terraform-provider-alicloud v1.289.0";

export interface ImpactEntry {
  /** The provider's source file; the numbers below are its lines. */
  readonly file: string;
  /** Pulumi input name -> line of its ForceNew in `file`. */
  readonly replace: Readonly<Record<string, number>>;
}

export const ALICLOUD_IMPACT: Readonly<Record<string, ImpactEntry>> = {
  "alicloud:ecs/autoSnapshotPolicy:AutoSnapshotPolicy": {
    file: "alicloud/resource_alicloud_ecs_auto_snapshot_policy.go",
    replace: {},
  },
  "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate": {
    file: "alicloud/resource_alicloud_ecs_launch_template.go",
    replace: {
      autoRenew: 28,
      autoRenewPeriod: 34,
      launchTemplateName: 162,
      name: 169,
      period: 223,
      periodUnit: 229,
      templateResourceGroupId: 341,
    },
  },
  "alicloud:ecs/eipAddress:EipAddress": {
    file: "alicloud/resource_alicloud_eip_address.go",
    replace: {
      allocationId: 40,
      highDefinitionMonitorLogStatus: 69,
      internetChargeType: 76,
      ipAddress: 83,
      isp: 89,
      netmode: 110,
      paymentType: 117,
      publicIpAddressPoolId: 135,
      securityProtectionTypes: 145,
      zone: 156,
      instanceChargeType: 168,
    },
  },
  "alicloud:ecs/eipAssociation:EipAssociation": {
    file: "alicloud/resource_alicloud_eip_association.go",
    replace: { allocationId: 30, instanceId: 39, instanceType: 44, privateIpAddress: 56, vpcId: 61 },
  },
  "alicloud:ecs/instance:Instance": {
    file: "alicloud/resource_alicloud_instance.go",
    replace: {
      availabilityZone: 36,
      networkInterfaceId: 64,
      systemDiskCategory: 136,
      systemDiskStorageClusterId: 172,
      systemDiskEncrypted: 177,
      systemDiskKmsKeyId: 183,
      systemDiskEncryptAlgorithm: 189,
      networkInterfaceTrafficMode: 206,
      networkCardIndex: 213,
      queuePairNumber: 219,
      sourceDestCheck: 225,
      spotStrategy: 463,
      spotPriceLimit: 471,
      securityEnhancementStrategy: 490,
      hpcClusterId: 517,
      spotInterruptionBehavior: 597,
      httpPutResponseHopLimit: 616,
      ipv6AddressCount: 623,
      dedicatedHostId: 659,
      launchTemplateName: 665,
      launchTemplateId: 670,
      launchTemplateVersion: 675,
    },
  },
  "alicloud:ecs/ramRoleAttachment:RamRoleAttachment": {
    file: "alicloud/resource_alicloud_ram_role_attachment.go",
    replace: { roleName: 21, instanceIds: 26 },
  },
  "alicloud:ecs/securityGroup:SecurityGroup": {
    file: "alicloud/resource_alicloud_security_group.go",
    replace: { securityGroupType: 59, vpcId: 67 },
  },
  "alicloud:ecs/securityGroupRule:SecurityGroupRule": {
    file: "alicloud/resource_alicloud_security_group_rule.go",
    replace: {
      securityGroupId: 28,
      type: 33,
      ipProtocol: 40,
      policy: 46,
      priority: 53,
      cidrIp: 60,
      ipv6CidrIp: 66,
      sourceSecurityGroupId: 76,
      sourceGroupOwnerAccount: 82,
      sourceGroupOwnerId: 88,
      prefixListId: 93,
      portRange: 100,
      nicType: 107,
    },
  },
  "alicloud:ess/scalingGroup:ScalingGroup": {
    file: "alicloud/resource_alicloud_ess_scaling_group.go",
    replace: { instanceId: 90, containerGroupId: 95, multiAzPolicy: 152, groupType: 249 },
  },
  "alicloud:oos/secretParameter:SecretParameter": {
    file: "alicloud/resource_alicloud_oos_secret_parameter.go",
    replace: { constraints: 29, dkmsInstanceId: 46, keyId: 51, secretParameterName: 61, type: 67 },
  },
  "alicloud:ram/accessKey:AccessKey": {
    file: "alicloud/resource_alicloud_ram_access_key.go",
    replace: { userName: 38, secretFile: 43, pgpKey: 53 },
  },
  "alicloud:ram/policy:Policy": {
    file: "alicloud/resource_alicloud_ram_policy.go",
    replace: { policyName: 50, name: 83 },
  },
  "alicloud:ram/role:Role": {
    file: "alicloud/resource_alicloud_ram_role.go",
    replace: { roleName: 63, name: 71 },
  },
  "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": {
    file: "alicloud/resource_alicloud_ram_role_policy_attachment.go",
    replace: { policyName: 28, policyType: 33, roleName: 39 },
  },
  "alicloud:ram/user:User": { file: "alicloud/resource_alicloud_ram_user.go", replace: {} },
  "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": {
    file: "alicloud/resource_alicloud_ram_user_policy_attachment.go",
    replace: { policyName: 27, policyType: 32, userName: 38 },
  },
  "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer": {
    file: "alicloud/resource_alicloud_slb_load_balancer.go",
    replace: {
      internet: 28,
      address: 35,
      addressIpVersion: 47,
      addressType: 60,
      masterZoneId: 143,
      resourceGroupId: 189,
      slaveZoneId: 195,
      vswitchId: 208,
    },
  },
  "alicloud:slb/backendServer:BackendServer": {
    file: "alicloud/resource_alicloud_slb_backend_server.go",
    replace: { loadBalancerId: 25 },
  },
  "alicloud:slb/serverGroup:ServerGroup": {
    file: "alicloud/resource_alicloud_slb_server_group.go",
    replace: { loadBalancerId: 28 },
  },
  "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment": {
    file: "alicloud/resource_alicloud_slb_server_group_server_attachment.go",
    replace: { serverGroupId: 29, serverId: 34, port: 39, type: 45, weight: 52, description: 59 },
  },
  "alicloud:slb/listener:Listener": {
    file: "alicloud/resource_alicloud_slb_listener.go",
    replace: {
      loadBalancerId: 29,
      frontendPort: 38,
      backendPort: 50,
      protocol: 69,
      forwardPort: 351,
      listenerForward: 358,
    },
  },
  "alicloud:slb/acl:Acl": {
    file: "alicloud/resource_alicloud_slb_acl.go",
    replace: { resourceGroupId: 29, ipVersion: 35 },
  },
  "alicloud:slb/aclEntryAttachment:AclEntryAttachment": {
    file: "alicloud/resource_alicloud_slb_acl_entry_attachment.go",
    replace: { aclId: 26, entry: 31, comment: 36 },
  },
  "alicloud:vpc/natGateway:NatGateway": {
    file: "alicloud/resource_alicloud_nat_gateway.go",
    replace: {
      internetChargeType: 47,
      paymentType: 73,
      instanceChargeType: 81,
      vpcId: 164,
      privateLinkEnabled: 191,
      accessMode: 196,
      availabilityMode: 219,
    },
  },
  "alicloud:vpc/network:Network": {
    file: "alicloud/resource_alicloud_vpc.go",
    replace: { ipv6CidrBlock: 74, isDefault: 169, userCidrs: 180 },
  },
  "alicloud:vpc/snatEntry:SnatEntry": {
    file: "alicloud/resource_alicloud_snat_entry.go",
    replace: { snatTableId: 47, sourceCidr: 52, sourceVswitchId: 59 },
  },
  "alicloud:vpc/switch:Switch": {
    file: "alicloud/resource_alicloud_vswitch.go",
    replace: { cidrBlock: 32, isDefault: 60, vpcId: 77, zoneId: 87, availabilityZone: 100 },
  },
};

/** ECS instance inputs whose change stops and starts the instance (see above), by line. */
export const INSTANCE_RESTART: Readonly<Record<string, number>> = {
  imageId: 2803,
  userData: 2909,
  hostName: 2923,
  password: 2930,
  vswitchId: 3010,
  privateIp: 3025,
  vpcId: 3030,
  instanceType: 3092,
};

/**
 * Resources of the tls and random providers have no update: any input change replaces
 * them (hashicorp/terraform-provider-tls and terraform-provider-random: every argument
 * "forces new resource"). For a CA key that means a new cluster CA.
 */
export const REPLACED_ON_ANY_CHANGE = ["tls:", "random:"] as const;
