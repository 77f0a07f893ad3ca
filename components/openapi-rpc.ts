// One signed RPC-style call of an Alibaba Cloud API for which this project has no
// generated SDK (ESS, VPC): @alicloud/openapi-core's generic callApi, with the params the
// generated clients pass (@alicloud/ecs20140526 7.11.6 dist/client.js
// runCommandWithOptions) and the credential chain of components/cloud-assistant.ts.
// Loaded lazily: it runs inside the rollout's dynamic provider.
import { credentialEnvironment, parseEndpoint } from "./cloud-assistant";

export type RpcBody = Record<string, unknown>;
export type RpcCall = (action: string, query: Record<string, string>) => Promise<RpcBody>;

/** A caller of `version` of a product at `endpoint` (host or URL) in `regionId`. */
export function rpcClient(regionId: string, endpoint: string, version: string): RpcCall {
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
      ...parseEndpoint(endpoint),
    }),
  );
  return async (action, query) => {
    const params = new core.$OpenApiUtil.Params({
      action,
      version,
      protocol: "HTTPS",
      pathname: "/",
      method: "POST",
      authType: "AK",
      style: "RPC",
      reqBodyType: "formData",
      bodyType: "json",
    });
    const request = new core.$OpenApiUtil.OpenApiRequest({ query: { RegionId: regionId, ...query } });
    const r = (await client.callApi(params, request, new dara.RuntimeOptions({}))) as { body?: RpcBody };
    return r.body ?? {};
  };
}
