// IPv4 CIDR arithmetic for planning. Thin, typed wrappers over ip-num so the rest
// of the code speaks in strings ("10.0.0.0/16") and never in library objects.
import { IPv4CidrRange, IPv4Prefix, Validator } from "ip-num";

/** Why a string is not a usable IPv4 network CIDR, or undefined when it is. */
export function cidrProblem(value: string): string | undefined {
  const [notationOk] = Validator.isValidIPv4CidrNotation(value);
  if (!notationOk) return `"${value}" is not IPv4 CIDR notation (a.b.c.d/n with n from 0 to 32)`;
  const [rangeOk] = Validator.isValidIPv4CidrRange(value);
  if (!rangeOk) {
    const canonical = canonicalCidr(value);
    return `"${value}" has host bits set; the network it names is ${canonical}`;
  }
  return undefined;
}

/** The network address form of a CIDR whose host bits may be set. */
export function canonicalCidr(value: string): string {
  const [ip, prefix] = value.split("/");
  const bits = Number(prefix);
  const octets = (ip ?? "").split(".").map(Number);
  const n =
    (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".")}/${bits}`;
}

function range(cidr: string): IPv4CidrRange {
  return IPv4CidrRange.fromCidr(cidr);
}

export function prefixLength(cidr: string): number {
  return Number(cidr.split("/")[1]);
}

export function overlaps(a: string, b: string): boolean {
  return range(a).isOverlapping(range(b));
}

/** True when `inner` lies entirely inside `outer` (equal counts as inside). */
export function contains(outer: string, inner: string): boolean {
  return range(inner).inside(range(outer));
}

/**
 * The first `count` consecutive subnets of length `prefix` inside `parent`.
 * Throws when they do not fit: callers validate first with `subnetsFit`.
 */
export function carveSubnets(parent: string, prefix: number, count: number): string[] {
  if (!subnetsFit(parent, prefix, count)) {
    throw new Error(`${count} subnets of /${prefix} do not fit in ${parent}`);
  }
  const out: string[] = [];
  let next: IPv4CidrRange | undefined = new IPv4CidrRange(
    range(parent).getFirst(),
    new IPv4Prefix(BigInt(prefix)),
  );
  while (out.length < count && next !== undefined) {
    out.push(next.toCidrString());
    next = next.nextRange();
  }
  return out;
}

export function subnetsFit(parent: string, prefix: number, count: number): boolean {
  const parentPrefix = prefixLength(parent);
  if (prefix < parentPrefix || prefix > 32) return false;
  return 2n ** BigInt(prefix - parentPrefix) >= BigInt(count);
}

/** The CIDRs of RFC 1918, the only ranges an Alibaba Cloud VPC is planned in here. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

/**
 * 100.64.0.0/10 is reserved by Alibaba Cloud for its own services: the metadata
 * service (100.100.100.200), the VPC DNS resolvers (100.100.2.136/138), the internal
 * package mirrors, and load-balancer health checks ("CLB uses the 100.64.0.0/10 CIDR
 * block for health checks", help.aliyun.com, CLB health checks). No cluster range may
 * overlap it, or nodes and pods lose those services.
 */
export const ALIBABA_RESERVED_CIDR = "100.64.0.0/10";

export const WORLD = "0.0.0.0/0";
