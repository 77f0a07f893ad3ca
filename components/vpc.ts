// The one VPC call the staged rollout makes: how many addresses a pool's vSwitches have
// free, before a wave asks ESS for more instances (the plan's surge-addresses preflight:
// plan/upgrade/preflight.ts). VPC 2016-04-28 DescribeVSwitches (components/openapi-rpc.ts);
// the response field
// VSwitches.VSwitch[].AvailableIpAddressCount is aliyun/alibaba-cloud-sdk-go
// services/vpc/struct_v_switch.go's. Endpoint: that SDK's services/vpc/endpoint.go maps
// these public regions to the central vpc.aliyuncs.com, every other to vpc.<region>.
import { rpcClient } from "./openapi-rpc";

export const VPC_ENDPOINT_ENV = "KUBEADM_ALICLOUD_VPC_ENDPOINT";
const CENTRAL = new Set(["cn-hangzhou", "cn-wuhan", "cn-zhangbei", "cn-fujian"]);

export function vpcPublicEndpoint(region: string): string {
  return CENTRAL.has(region) ? "vpc.aliyuncs.com" : `vpc.${region}.aliyuncs.com`;
}

export interface VpcApi {
  /** Free addresses per vSwitch id. */
  freeAddresses(vswitchIds: readonly string[]): Promise<Record<string, number>>;
}

export function vpcClient(regionId: string, endpoint?: string): VpcApi {
  const call = rpcClient(
    regionId,
    endpoint ?? process.env[VPC_ENDPOINT_ENV] ?? vpcPublicEndpoint(regionId),
    "2016-04-28",
  );
  return {
    freeAddresses: async (ids) => {
      const out: Record<string, number> = {};
      for (const id of ids) {
        const body = (await call("DescribeVSwitches", { VSwitchId: id })) as {
          VSwitches?: { VSwitch?: { VSwitchId?: string; AvailableIpAddressCount?: number }[] };
        };
        const v = (body.VSwitches?.VSwitch ?? []).find((x) => x.VSwitchId === id);
        if (!v) throw new Error(`VPC has no vSwitch ${id} in ${regionId}`);
        out[id] = Number(v.AvailableIpAddressCount ?? 0);
      }
      return out;
    },
  };
}
