// What the preview guard (components/immutable-settings.ts) records and refuses to
// change once deployed: settings Alibaba Cloud can only change by replacing what runs.
import type { ClusterSpec } from "../config/spec";
import { controlPlanePlacements, FIRST_HOST_OFFSET } from "./control-plane";
import { IPv4, IPv4CidrRange } from "ip-num";
import { listOrderControlPlaneZones, listOrderVswitches } from "./zones";

export interface ImmutableSetting {
  /** The stack config key a user edits, e.g. `controlPlane.systemDisk.category`. */
  readonly key: string;
  readonly value: string;
  /** Why it cannot change in place, and what to do instead. */
  readonly why: string;
  /** A number that may grow but never shrink (e.g. a count of control planes). */
  readonly mayGrow?: boolean;
  /**
   * The value releases before this setting was guarded derived from the same config.
   * A stack whose guard recorded other settings but not this one was deployed by such a
   * release: if this differs from `value`, what runs would move, and the guard refuses.
   */
  readonly legacyValue?: string;
  /**
   * The change is allowed when, in the RECORDED (deployed) settings, each key's value is at
   * least `atLeast`. Otherwise `why` explains.
   */
  readonly changeableWhen?: readonly { readonly key: string; readonly atLeast: number }[];
}

/** Settings whose change would replace control planes, vSwitches or RAM roles in use. */
export function guardedSettings(spec: ClusterSpec): ImmutableSetting[] {
  return [
    ...replacingSettings(spec),
    {
      // Fewer control planes: Pulumi would delete the last instances together, their
      // etcd members still registered (a 3-member cluster down to 1 loses quorum).
      key: "controlPlane.count",
      value: String(spec.controlPlane.count),
      why: "removing control planes deletes their instances with their etcd members still registered, several at once. Remove them one at a time with their members (not built yet: the rollout); keep the deployed count until then",
      mayGrow: true,
    },
    ...layoutSettings(spec),
    ...clusterSettings(spec),
    {
      key: "ram.namePrefix",
      value: spec.ram.namePrefix,
      why: `RAM role names cannot change while instances hold the roles (role_name is ForceNew in resource_alicloud_ram_role.go, and an instance holds one role at a time, so the new role cannot be attached before the old is gone). Keep the deployed names: set ram.namePrefix to the deployed prefix`,
      legacyValue: spec.clusterName,
    },
  ];
}

/**
 * Settings that replace control planes: the provider replaces an instance for a new system disk
 * category (system_disk_category is ForceNew in aliyun/terraform-provider-alicloud v1.289.0
 * alicloud/resource_alicloud_instance.go), and for a new pinned image (components/control-plane.ts
 * replaceOnChanges; its drain also refuses to replace one while fewer than 3 run). The readiness
 * chain replaces them one at a time, each drained first and its release protection lifted
 * (components/control-plane-drain.ts), the new instance joining through a peer and removing the
 * old one's etcd member and Node (bootstrap/control-plane.sh). Allowed only with at least 3
 * control planes deployed: a single control plane's etcd data goes with its disk.
 */
function replacingSettings(spec: ClusterSpec): ImmutableSetting[] {
  const when = [{ key: "controlPlane.count", atLeast: 3 }];
  const how =
    'Control planes are replaced one at a time only with at least 3 of them deployed: a single control plane\'s etcd data goes with its disk (restore a backup into a new cluster instead, README "Restoring etcd from a backup")';
  const image = spec.controlPlane.image;
  return [
    {
      // A pinned image replaces control planes one at a time (components/control-plane.ts
      // replaceOnChanges imageId, with 3 or more); an unpinned one is ignored on running
      // control planes (the newest public image moves by itself), so a change of OS, or going
      // back to unpinned, would change nothing that runs: refused, not silently kept.
      key: "controlPlane.image",
      value: image.id ?? `the newest public ${image.os} image`,
      why: image.id
        ? `a new image replaces the control planes. ${how}`
        : `an unpinned image is never put onto running control planes (the newest public image moves by itself, and the provider would swap the system disk with etcd's data in place), so this would change none of them. To move them, pin controlPlane.image.id to the image you want (a public id must match controlPlane.image.os): with 3 control planes deployed they are replaced one at a time. Otherwise keep the deployed setting`,
      ...(image.id ? { changeableWhen: when } : {}),
    },
    {
      key: "controlPlane.systemDisk.category",
      value: spec.controlPlane.systemDisk.category,
      why: `Alibaba Cloud replaces an instance to change its system disk category. ${how}`,
      changeableWhen: when,
    },
  ];
}

/**
 * What a running cluster is built around and kubeadm cannot move: the control planes' settings
 * change (plan/control-plane-settings.ts) carries the API server's flags and certificate names,
 * not these. The keys are new in this release: a record without them takes the value as deployed.
 */
function clusterSettings(spec: ClusterSpec): ImmutableSetting[] {
  return [
    {
      // Node.spec.podCIDRs may only go from empty to set (kubernetes/kubernetes
      // pkg/apis/core/validation/validation.go ValidateNodeUpdate: "node updates may not change
      // podCIDR except from \"\" to valid"): every running node keeps its range.
      key: "network.podCidr",
      value: spec.network.podCidr,
      why: "every running node keeps the pod range it was given (Kubernetes refuses to change a Node's podCIDRs) and its pods keep their addresses: a new pod CIDR means a new cluster. Keep the deployed value",
    },
    {
      // The first address is the `kubernetes` Service's ClusterIP, in every API server
      // certificate; Services keep the ClusterIPs they were given.
      key: "network.serviceCidr",
      value: spec.network.serviceCidr,
      why: "every Service keeps the ClusterIP it was given, and the first address of the range is the kubernetes Service's, named in every API server certificate: kubeadm cannot move it. Keep the deployed value",
    },
    {
      key: "network.dnsDomain",
      value: spec.network.dnsDomain,
      why: "every kubelet's clusterDomain and every running pod's DNS search path carry the deployed domain (set when the pod starts): kubeadm cannot move it. Keep the deployed value",
    },
    {
      key: "apiEndpoint.dnsName",
      value: spec.apiEndpoint.dnsName,
      why: "every node's kubelet.conf, the cluster-info ConfigMap joining nodes read, the admin kubeconfig and kubeadm's controlPlaneEndpoint name the deployed endpoint: kubeadm cannot move it. Keep the deployed value",
    },
    {
      // kubernetes/website content/en/docs/tasks/administer-cluster/encrypt-data.md: every API
      // server must read the new configuration before any Secret is rewritten, and turning it off
      // needs every Secret decrypted first.
      key: "apiServer.encryptionAtRest.enabled",
      value: String(spec.apiServer.encryptionAtRest.enabled),
      why: 'turning encryption at rest on or off needs every API server given the key file first and then every Secret rewritten (Kubernetes\' "Encrypting Confidential Data at Rest"), which this program does not do. Keep the deployed value',
    },
  ];
}

/** Where each vSwitch and control plane is: keyed by zone and by control-plane index. */
function layoutSettings(spec: ClusterSpec): ImmutableSetting[] {
  const zones = spec.zones;
  const legacyVswitches = spec.network.explicitVswitches
    ? spec.network.vswitches
    : listOrderVswitches(spec.network.vpc.cidr, spec.network.vswitchPrefixLength, zones);
  const legacyCidr = (zone: string) => legacyVswitches?.find((v) => v.zone === zone)?.cidr;
  const pinVswitches = legacyVswitches
    ? `network.vswitches: { ${legacyVswitches.map((v) => `${v.zone}: ${v.cidr}`).join(", ")} }`
    : "network.vswitches with each zone's deployed CIDR";
  const legacyZones = listOrderControlPlaneZones(spec.controlPlane.count, zones);
  const pinZones = `controlPlane.zones: [${legacyZones.join(", ")}]`;

  const vswitches = spec.network.vswitches.map((v): ImmutableSetting => {
    const legacy = legacyCidr(v.zone);
    return {
      key: `network.vswitches.${v.zone}`,
      value: v.cidr,
      why: `a vSwitch's CIDR cannot change (cidr_block is ForceNew in resource_alicloud_vswitch.go: the vSwitch and every node in it would be replaced, and the new one overlaps the old). Keep the deployed CIDRs by setting them explicitly, e.g. for a stack deployed before vSwitch CIDRs were keyed by zone letter: ${pinVswitches}`,
      ...(legacy ? { legacyValue: legacy } : {}),
    };
  });
  const controlPlanes = controlPlanePlacements(spec).map((p): ImmutableSetting => {
    // Earlier releases: zones[i % n], the (FIRST_HOST_OFFSET + floor(i / n))-th address.
    const legacyZone = legacyZones[p.index] as string;
    const cidr = legacyCidr(legacyZone);
    const legacyIp = cidr
      ? new IPv4(
          IPv4CidrRange.fromCidr(cidr).getFirst().value +
            BigInt(FIRST_HOST_OFFSET + Math.floor(p.index / zones.length)),
        ).toString()
      : undefined;
    return {
      key: `controlPlane.zones[${p.index}]`,
      value: `${p.zone} ${p.privateIp}`,
      why: `a control plane cannot move to another zone, vSwitch or address (its vSwitch must stay in its zone, and its address is its etcd member's). Keep each where it is by listing the deployed zones in order, e.g. for a stack deployed before control planes were placed by zone name in vSwitches of their own: ${pinZones}, network.controlPlaneVswitches: shared, and ${pinVswitches}`,
      ...(legacyIp ? { legacyValue: `${legacyZone} ${legacyIp}` } : {}),
    };
  });
  return [...vswitches, ...controlPlanes];
}
