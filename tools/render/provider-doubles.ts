// What the offline render and the tests get back from providers: a tls/random double
// that issues real material (tls-double.ts), and for Alibaba Cloud what the render
// pretends it answered: only outputs other resources consume, deterministic and
// obviously fake (public addresses come from 203.0.113.0/24, the documentation range).
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { unwrapSecrets } from "./mock-runtime";
import { tlsAndRandomOutputs } from "./tls-double";

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
    case "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate":
      // A new template's only version; the real provider reports the newest after each change.
      return { latestVersionNumber: 1 };
    case "alicloud:ram/accessKey:AccessKey":
      // RAM issues the secret half; the render never sees a real one.
      return { secret: `placeholder-secret-of-${args.name}` };
    case "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer":
      // Placeholders from the documentation ranges: 192.0.2.0/24 private, 203.0.113.0/24 public.
      return {
        address:
          args.inputs.addressType === "internet"
            ? documentationIp(args.name)
            : documentationIp(args.name).replace("203.0.113.", "192.0.2."),
      };
    case "pulumi-nodejs:dynamic/kubeadm-alicloud:ControlPlaneRollout":
    case "pulumi-nodejs:dynamic/kubeadm-alicloud:PoolRollout":
      // A finished rollout confirms the version it brought the nodes to (components/rollout/resources.ts).
      return { confirmedVersion: args.inputs.version };
    default:
      return {};
  }
}

/**
 * The render cannot look anything up. An adopted VPC is answered with the CIDR the
 * stack declares, an unpinned image with a name saying what deploy will resolve, and
 * the CLB's zone pairs with every pair of the stack's zones; the summary says none of
 * these was verified.
 */
export function alicloudCalls(
  adopted: { id: string; cidr: string } | undefined,
  zones: readonly string[] = [],
) {
  return (args: pulumi.runtime.MockCallArgs): Record<string, unknown> => {
    if (args.token === "alicloud:vpc/getNetworks:getNetworks" && adopted) {
      return { ids: [adopted.id], vpcs: [{ id: adopted.id, cidrBlock: adopted.cidr }] };
    }
    if (args.token === "alicloud:slb/getZones:getZones") {
      // Not looked up: every pair of the stack's zones is answered as offered, so the
      // render shows the choice plan/zones.ts makes when the region offers them all.
      const sameRegion = (a: string, b: string) => a !== b && a.slice(0, -1) === b.slice(0, -1);
      const pairs = (m: string) => {
        const slaves = zones.filter((z) => sameRegion(m, z));
        return (slaves.length > 0 ? slaves : [""]).map((s) => ({ id: m, masterZoneId: m, slaveZoneId: s }));
      };
      return { zones: zones.flatMap(pairs) };
    }
    if (args.token === "alicloud:index/getCallerIdentity:getCallerIdentity") {
      // Not looked up: the account of the credentials `pulumi up` runs with.
      return { accountId: "ACCOUNT_ID", arn: "acs:ram::ACCOUNT_ID:root", identityType: "Account" };
    }
    if (args.token === "alicloud:ecs/getImages:getImages") {
      return { images: [{ id: `newest-public-image-matching:${String(args.inputs.nameRegex)}` }] };
    }
    return {};
  };
}

/** Every provider double the render and the tests use: tls and random first, then Alibaba Cloud. */
export async function providerOutputs(
  args: pulumi.runtime.MockResourceArgs,
): Promise<Record<string, unknown>> {
  // The mock engine hands inputs over with secrets still in their envelopes; a real
  // provider sees the values.
  const inputs = unwrapSecrets(args.inputs, "", []) as Record<string, unknown>;
  return (await tlsAndRandomOutputs(args.type, args.name, inputs)) ?? alicloudOutputs(args);
}
