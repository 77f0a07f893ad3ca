// The one VPC call the staged rollout makes: how many addresses a pool's vSwitches have
// free, before a wave asks ESS for more instances (the plan's surge-addresses preflight:
// plan/upgrade/preflight.ts). VPC 2016-04-28 DescribeVSwitches through @alicloud/
// openapi-core callApi, as components/ess.ts calls ESS; the response field
// VSwitches.VSwitch[].AvailableIpAddressCount is aliyun/alibaba-cloud-sdk-go
// services/vpc/struct_v_switch.go's. Endpoint: that SDK's services/vpc/endpoint.go maps
// these public regions to the central vpc.aliyuncs.com, every other to vpc.<region>.
import { credentialEnvironment, parseEndpoint } from "./cloud-assistant";

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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require("@alicloud/openapi-core") as typeof import("@alicloud/openapi-core");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dara = require("@darabonba/typescript") as typeof import("@darabonba/typescript");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const credentials = require("@alicloud/credentials") as typeof import("@alicloud/credentials");
  Object.assign(process.env, credentialEnvironment(process.env));
  const client = new core.default(
    new core.$OpenApiUtil.Config({
      credential: new credentials.default(),
      regionId,
      ...parseEndpoint(endpoint ?? process.env[VPC_ENDPOINT_ENV] ?? vpcPublicEndpoint(regionId)),
    }),
  );
  return {
    freeAddresses: async (ids) => {
      const out: Record<string, number> = {};
      for (const id of ids) {
        const params = new core.$OpenApiUtil.Params({
          action: "DescribeVSwitches",
          version: "2016-04-28",
          protocol: "HTTPS",
          pathname: "/",
          method: "POST",
          authType: "AK",
          style: "RPC",
          reqBodyType: "formData",
          bodyType: "json",
        });
        const request = new core.$OpenApiUtil.OpenApiRequest({
          query: { RegionId: regionId, VSwitchId: id },
        });
        const r = (await client.callApi(params, request, new dara.RuntimeOptions({}))) as {
          body?: { VSwitches?: { VSwitch?: { VSwitchId?: string; AvailableIpAddressCount?: number }[] } };
        };
        const v = (r.body?.VSwitches?.VSwitch ?? []).find((x) => x.VSwitchId === id);
        if (!v) throw new Error(`VPC has no vSwitch ${id} in ${regionId}`);
        out[id] = Number(v.AvailableIpAddressCount ?? 0);
      }
      return out;
    },
  };
}
