import { describe, expect, it } from "vitest";
import { canonicalCidr, carveSubnets, cidrProblem, contains, overlaps, subnetsFit } from "../plan/cidr";

describe("CIDR maths", () => {
  it("accepts canonical CIDRs and explains the rest", () => {
    expect(cidrProblem("10.0.0.0/16")).toBeUndefined();
    expect(cidrProblem("0.0.0.0/0")).toBeUndefined();
    expect(cidrProblem("10.0.0.0")).toMatch(/not IPv4 CIDR notation/);
    expect(cidrProblem("256.0.0.0/8")).toMatch(/not IPv4 CIDR notation/);
    expect(cidrProblem("192.168.7.9/20")).toBe(
      '"192.168.7.9/20" has host bits set; the network it names is 192.168.0.0/20',
    );
  });

  it("finds the network of a CIDR with host bits", () => {
    expect(canonicalCidr("10.1.2.3/8")).toBe("10.0.0.0/8");
    expect(canonicalCidr("172.31.255.255/12")).toBe("172.16.0.0/12");
    expect(canonicalCidr("1.2.3.4/32")).toBe("1.2.3.4/32");
    expect(canonicalCidr("1.2.3.4/0")).toBe("0.0.0.0/0");
  });

  it("detects overlap and containment at the edges", () => {
    expect(overlaps("10.0.0.0/16", "10.0.255.0/24")).toBe(true);
    expect(overlaps("10.0.0.0/16", "10.1.0.0/16")).toBe(false);
    expect(overlaps("10.96.0.0/12", "10.111.255.0/24")).toBe(true);
    expect(overlaps("10.96.0.0/12", "10.112.0.0/24")).toBe(false);
    expect(contains("10.0.0.0/16", "10.0.0.0/16")).toBe(true);
    expect(contains("10.0.0.0/16", "10.0.0.0/15")).toBe(false);
  });

  it("carves consecutive subnets from the start of the parent", () => {
    expect(carveSubnets("10.0.0.0/16", 20, 3)).toEqual(["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]);
    expect(carveSubnets("192.168.0.0/24", 26, 4)).toEqual([
      "192.168.0.0/26",
      "192.168.0.64/26",
      "192.168.0.128/26",
      "192.168.0.192/26",
    ]);
    // Only as many ranges as asked for are made, even from a /8.
    expect(carveSubnets("10.0.0.0/8", 29, 2)).toEqual(["10.0.0.0/29", "10.0.0.8/29"]);
  });

  it("knows when subnets do not fit", () => {
    expect(subnetsFit("10.0.0.0/24", 26, 4)).toBe(true);
    expect(subnetsFit("10.0.0.0/24", 26, 5)).toBe(false);
    expect(subnetsFit("10.0.0.0/24", 23, 1)).toBe(false);
    expect(() => carveSubnets("10.0.0.0/24", 26, 5)).toThrow(/do not fit/);
  });
});
