// Where the rollout, which runs where `pulumi up` runs (outside the VPC), calls ESS:
// the public endpoint the ESS SDK resolves for the region. Alibaba's generated client
// (alibabacloud-go/ess-20220222 client/client.go at 873842a, Init's EndpointMap and
// GetEndpoint) maps these regions to the central ess.aliyuncs.com and every other region
// to ess.<region>.aliyuncs.com (openapiutil.GetEndpointRules, the "regional" rule).
const CENTRAL = new Set([
  "cn-qingdao",
  "cn-beijing",
  "cn-hangzhou",
  "cn-shanghai",
  "cn-shenzhen",
  "cn-hongkong",
  "ap-southeast-1",
  "us-east-1",
  "us-west-1",
  "cn-shanghai-finance-1",
  "cn-shenzhen-finance-1",
  "cn-north-2-gov-1",
  "cn-beijing-gov-1",
  "cn-beijing-finance-1",
  "cn-hangzhou-finance",
  "cn-nanjing",
  "cn-wuhan",
  "cn-fujian",
  "cn-zhangbei",
  "cn-edge-1",
]);

export function essPublicEndpoint(region: string): string {
  return CENTRAL.has(region) ? "ess.aliyuncs.com" : `ess.${region}.aliyuncs.com`;
}
