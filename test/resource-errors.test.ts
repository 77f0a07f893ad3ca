// Errors raised while declaring resources name the resource (issue: architecture, item
// 4): they are Pulumi ResourceErrors carrying the component that found the problem, so
// the CLI prints them under that resource, as it does warnings.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { Recorder } from "../tools/render/mock-runtime";
import { answerCalls, installMocks, resolved, specFor } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

async function failureOf(output: pulumi.Output<unknown>): Promise<unknown> {
  // An Output's other promises (known, secret, resources) reject with its value: observe
  // them too, or they surface as unhandled rejections.
  const inner = output as unknown as {
    isKnown: Promise<boolean>;
    isSecret: Promise<boolean>;
    allResources?: () => Promise<unknown>;
  };
  for (const p of [inner.isKnown, inner.isSecret, inner.allResources?.()]) p?.catch(() => undefined);
  try {
    await resolved(output);
  } catch (e) {
    return e;
  }
  throw new Error("expected the output to fail");
}

describe("errors while declaring", () => {
  it("an adopted VPC whose CIDR differs: a ResourceError on the network component", async () => {
    recorder.reset();
    answerCalls((args) =>
      args.token === "alicloud:vpc/getNetworks:getNetworks"
        ? { vpcs: [{ id: "vpc-bp1adopted", cidrBlock: "10.9.0.0/16" }] }
        : undefined,
    );
    const { adoptVpc } = await import("../components/network");
    const network = new pulumi.ComponentResource("kubeadm-alicloud:network:Network", "re-a-network");
    const err = await failureOf(adoptVpc("vpc-bp1adopted", "10.8.0.0/16", network));
    answerCalls(undefined);
    expect(err).toBeInstanceOf(pulumi.ResourceError);
    expect((err as pulumi.ResourceError).resource).toBe(network);
    expect(String((err as Error).message)).toContain("set network.vpcCidr to 10.9.0.0/16");
  });

  it("a region that offers no CLB in our zones: a ResourceError on the load-balancer component", async () => {
    recorder.reset();
    answerCalls((args) =>
      args.token === "alicloud:slb/getZones:getZones"
        ? { zones: [{ id: "cn-hangzhou-b", masterZoneId: "cn-hangzhou-b", slaveZoneId: "" }] }
        : undefined,
    );
    const { clbZonesOutput } = await import("../components/api-load-balancer");
    const lb = new pulumi.ComponentResource("kubeadm-alicloud:network:ApiLoadBalancer", "re-b-api");
    const spec = specFor({ clusterName: "re-b" });
    const zones = { preferred: spec.controlPlane.zones[0] as string, ours: spec.zones };
    const err = await failureOf(clbZonesOutput(zones, "intranet", "re-b-api-private", lb));
    answerCalls(undefined);
    expect(err).toBeInstanceOf(pulumi.ResourceError);
    expect((err as pulumi.ResourceError).resource).toBe(lb);
    expect(String((err as Error).message)).toContain("master zone in cn-hangzhou-b");
  });
});
