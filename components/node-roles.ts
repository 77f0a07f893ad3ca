import * as alicloud from "@pulumi/alicloud";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import { RAM_NAMES, resourceName } from "../plan/naming";

/**
 * The nodes' RAM roles, declared as children of `parent` (the cluster: their identities
 * are those they had when the cluster declared them itself).
 */
export function nodeRoles(
  spec: Pick<ClusterSpec, "clusterName" | "ram" | "nodePools" | "region">,
  parent: pulumi.Resource,
): {
  role: alicloud.ram.Role;
  bootstrapRole: alicloud.ram.Role;
  poolRoles: Record<string, alicloud.ram.Role>;
} {
  // One RAM role for the control planes and one per pool, so that each reads only its
  // own secrets. The control planes' keeps the name and logical name it had when it
  // served every node: renaming a role attached to running instances replaces both.
  const ecsTrust = JSON.stringify({
    Version: "1",
    Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: ["ecs.aliyuncs.com"] } }],
  });
  const role = new alicloud.ram.Role(
    resourceName(spec.clusterName, "node-role"),
    {
      roleName: RAM_NAMES.controlPlaneRole(spec),
      description: `Control-plane nodes of Kubernetes cluster ${spec.clusterName}`,
      assumeRolePolicyDocument: ecsTrust,
    },
    { parent },
  );
  // The control planes read the CA keys with this role only while they bootstrap
  // (components/role-handover.ts); their steady role above has no grant on secrets.
  const bootstrapRole = new alicloud.ram.Role(
    resourceName(spec.clusterName, "cp-bootstrap-role"),
    {
      roleName: RAM_NAMES.bootstrapRole(spec),
      description: `Control planes of Kubernetes cluster ${spec.clusterName} while they bootstrap (reads the cluster CA keys)`,
      assumeRolePolicyDocument: ecsTrust,
    },
    { parent },
  );
  const poolRoles: Record<string, alicloud.ram.Role> = {};
  for (const pool of spec.nodePools) {
    poolRoles[pool.name] = new alicloud.ram.Role(
      resourceName(spec.clusterName, "pool", pool.name, "role"),
      {
        roleName: RAM_NAMES.poolRole(spec, pool.name),
        description: `Nodes of pool ${pool.name} in Kubernetes cluster ${spec.clusterName}`,
        assumeRolePolicyDocument: ecsTrust,
      },
      { parent },
    );
  }

  return { role, bootstrapRole, poolRoles };
}
