// The regions the alicloud provider accepts, and the nearest one to a mistyped name.
import { distance } from "fastest-levenshtein";

/**
 * The provider refuses any other region unless `skip_region_validation` is set:
 * aliyun/terraform-provider-alicloud alicloud/connectivity/regions.go `ValidRegions`,
 * checked by `validateRegion` in alicloud/connectivity/config.go (commit 81c43b6; the
 * newest additions, ap-southeast-8 and na-south-1, are in v1.288.0, older than the
 * provider versions the installed @pulumi/alicloud 3.108.0 documents). Alibaba's
 * "Regions and zones" page lists the public ones. Kept in the provider's order.
 */
export const ALIBABA_REGIONS: readonly string[] = [
  "cn-hangzhou",
  "cn-qingdao",
  "cn-beijing",
  "cn-shenzhen",
  "cn-hongkong",
  "cn-shanghai",
  "cn-zhangjiakou",
  "cn-huhehaote",
  "cn-chengdu",
  "cn-heyuan",
  "cn-wulanchabu",
  "cn-guangzhou",
  "cn-nanjing",
  "cn-fuzhou",
  "cn-zhongwei",
  "us-west-1",
  "us-east-1",
  "us-southeast-1",
  "na-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ap-southeast-8",
  "ap-south-1",
  "me-east-1",
  "me-central-1",
  "eu-central-1",
  "eu-west-1",
  "rus-west-1",
  "cn-north-2-gov-1",
  "cn-shenzhen-finance-1",
  "cn-szfinance",
  "cn-shenzhen-finance",
  "cn-shanghai-finance-1-pub",
  "cn-shanghai-finance-1",
  "cn-hangzhou-finance",
  "cn-hzfinance",
  "cn-hzjbp",
  "cn-beijing-finance-1",
  "cn-beijing-finance-1-pub",
];

/** The region id nearest to a mistyped one, when it is near enough to be a typo. */
export function nearestRegion(given: string): string | undefined {
  const typed = given.trim().toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const r of ALIBABA_REGIONS) {
    const d = distance(typed, r);
    if (d < bestDistance) [best, bestDistance] = [r, d];
  }
  // A few edits, or the city alone ("hangzhou" for cn-hangzhou: 3 edits).
  return best !== undefined && bestDistance <= Math.max(3, Math.floor(best.length / 4)) ? best : undefined;
}

export function regionProblem(region: string): string | undefined {
  if (ALIBABA_REGIONS.includes(region)) return undefined;
  const near = nearestRegion(region);
  const wellFormed = /^[a-z]{2,3}(-[a-z0-9]+)+$/.test(region);
  const what = wellFormed
    ? `"${region}" is not a region the alicloud provider accepts (its ValidRegions list)`
    : `"${region}" is not an Alibaba Cloud region id`;
  if (near) return `${what}; did you mean "${near}"?`;
  return `${what}; use an id from Alibaba Cloud's "Regions and zones" list, e.g. cn-hangzhou, cn-shanghai, ap-southeast-1, eu-central-1`;
}
