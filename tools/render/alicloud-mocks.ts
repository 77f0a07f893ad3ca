// What the offline render pretends Alibaba Cloud answered. Only outputs that other
// resources consume are synthesized; everything is deterministic and obviously fake
// (public addresses come from 203.0.113.0/24, the documentation range).
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export function documentationIp(name: string): string {
  return `203.0.113.${((digest(name)[0] ?? 0) % 254) + 1}`;
}

export function alicloudOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  switch (args.type) {
    case "alicloud:vpc/network:Network":
      return { routeTableId: `vtb-${args.name}`, routerId: `vrt-${args.name}` };
    case "alicloud:vpc/natGateway:NatGateway":
      return { snatTableIds: `stb-${args.name}`, forwardTableIds: `ftb-${args.name}` };
    case "alicloud:ecs/eipAddress:EipAddress":
      return { ipAddress: documentationIp(args.name) };
    default:
      return {};
  }
}

/**
 * The render cannot look up an adopted VPC. It answers with the CIDR the stack
 * declares, and the summary says the adoption was not verified.
 */
export function alicloudCalls(adopted: { id: string; cidr: string } | undefined) {
  return (args: pulumi.runtime.MockCallArgs): Record<string, unknown> => {
    if (args.token === "alicloud:vpc/getNetworks:getNetworks" && adopted) {
      return { ids: [adopted.id], vpcs: [{ id: adopted.id, cidrBlock: adopted.cidr }] };
    }
    return {};
  };
}
