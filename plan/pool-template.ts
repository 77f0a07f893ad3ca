// What a pool's nodes are, apart from their Kubernetes version: the digest an `in-place`
// pool's rollout tells outdated nodes by. A version change reaches a running node in place
// (`kubeadm upgrade node`); an image, instance types, a system disk or user data (kubelet
// and kubeadm settings, bootstrap scripts, registry mirrors) do not, and a node launched
// from a template that differs in them is replaced (plan/rollout/no-surge.ts). Every
// template version carries its digest as an instance tag (components/node-pool.ts), so
// each instance says what it was launched as, whatever the runs in between.
//
// The user data that enters the digest is rendered at SHAPE_VERSION, not the pool's
// version: the version's own lines (package pins, repository) must not count; nor does
// the CA's hash (SHAPE_DISCOVERY_HASH).
import { createHash } from "node:crypto";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";

/** The instance tag carrying the digest (ECS tag keys: at most 128 characters). */
export const TEMPLATE_DIGEST_TAG = "kubeadm-alicloud.io/template";

/** Every pool's user data is rendered at this version for its digest. */
export const SHAPE_VERSION = "1.0.0";

/**
 * ...and with this CA hash: a node checks the CA only when it joins (kubeadm's
 * discovery-token-ca-cert-hash), so a node that runs needs no new one; and the digest
 * stays the same in every offline render, whose CA is drawn anew each time.
 */
export const SHAPE_DISCOVERY_HASH = `sha256:${"0".repeat(64)}`;

export interface PoolTemplateShape {
  readonly imageId: string;
  readonly instanceTypes: readonly string[];
  readonly systemDisk: NodePoolSpec["systemDisk"];
  readonly keyPairName?: string;
  readonly securityGroupId: string;
  readonly roleName: string;
  /** The pool's user data rendered at SHAPE_VERSION (components/user-data.ts poolShapeUserData). */
  readonly shapeUserData: string;
}

/** The spec and pool the digest's user data is rendered from: both at SHAPE_VERSION. */
export function atShapeVersion(spec: ClusterSpec, pool: NodePoolSpec): [ClusterSpec, NodePoolSpec] {
  return [
    { ...spec, kubernetesVersion: SHAPE_VERSION },
    { ...pool, kubernetesVersion: SHAPE_VERSION },
  ];
}

/**
 * 40 hexadecimal characters (an ECS tag value may hold 128: alibabacloud-go/ecs-20140526
 * create_launch_template_version_request_model.go Tag.Value), in a fixed key order.
 */
export function poolTemplateDigest(shape: PoolTemplateShape): string {
  const disk = shape.systemDisk;
  const fixed = [
    shape.imageId,
    [...shape.instanceTypes],
    [disk.category, disk.sizeGb, disk.performanceLevel ?? ""],
    shape.keyPairName ?? "",
    shape.securityGroupId,
    shape.roleName,
    shape.shapeUserData,
  ];
  return createHash("sha256").update(JSON.stringify(fixed)).digest("hex").slice(0, 40);
}

/**
 * What an adopted instance is bootstrapped from, apart from the version: its pool's user data
 * at SHAPE_VERSION alone (the operator owns its image, type and disk). Tagged on the instance
 * (plan/naming.ts BOOTSTRAP_TAG); components/adopt/refresh.ts bootstraps one tagged otherwise again.
 */
export function bootstrapDigest(shapeUserData: string): string {
  return createHash("sha256").update(shapeUserData).digest("hex").slice(0, 40);
}
