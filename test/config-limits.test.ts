// Provider and API limits checked with the config: what is accepted at each boundary,
// what is only warned about, and that every limit is reported together.
import { describe, expect, it } from "vitest";
import { ConfigError, formatPath, validateStackConfig, type ValidationContext } from "../config/validate";
import { instanceShape } from "../config/instance-types";
import { ALIBABA_REGIONS } from "../config/regions";
import { plainForeignConfig } from "../config/plain-secrets";
import { BASE_CONFIG, PROJECT } from "./kit";

const pool = (over: Record<string, unknown> = {}) => ({
  name: "p",
  instanceTypes: ["ecs.g7.large"],
  minSize: 1,
  maxSize: 3,
  ...over,
});

function outcome(
  config: Record<string, unknown>,
  context: Partial<ValidationContext> = {},
): { problems: string[]; warnings: string[] } {
  const warnings: string[] = [];
  try {
    validateStackConfig(
      { ...BASE_CONFIG, ...config },
      { project: PROJECT, stack: "dev", warn: (m) => warnings.push(m), ...context },
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problems: err.problems.map((p) => `${formatPath(PROJECT, p.path)}: ${p.message}`), warnings };
  }
  return { problems: [], warnings };
}

describe("limits: accepted at the boundary", () => {
  it.each([
    [
      "a scaling group of 0 to 2000 instances (ESS IntBetween(0, 2000))",
      {
        nodePools: [pool({ minSize: 1, maxSize: 2000, desiredCapacity: 2000 })],
        network: {
          vpcCidr: "10.0.0.0/8",
          podCidr: "172.16.0.0/12",
          serviceCidr: "192.168.0.0/16",
          vswitchPrefixLength: 16,
        },
      },
    ],
    [
      "PL2 at 461 GiB",
      { controlPlane: { systemDisk: { category: "cloud_essd", sizeGb: 461, performanceLevel: "PL2" } } },
    ],
    [
      "PL3 at 1261 GiB",
      { controlPlane: { systemDisk: { category: "cloud_essd", sizeGb: 1261, performanceLevel: "PL3" } } },
    ],
    [
      "PL1 at 20 GiB",
      { nodePools: [pool({ systemDisk: { category: "cloud_essd", sizeGb: 20, performanceLevel: "PL1" } })] },
    ],
    [
      "an EIP of 200 Mbit/s billed by traffic",
      { network: { natGateway: { enabled: true, eipBandwidthMbps: 200 } } },
    ],
    [
      "every category the launch template accepts, on pools",
      {
        nodePools: ["cloud_essd", "cloud_efficiency", "cloud_ssd"].map((category, i) =>
          pool({ name: `p${i}`, systemDisk: { category, sizeGb: 40 } }),
        ),
      },
    ],
    [
      "ESSD AutoPL on control planes, pools on their own ESSD",
      {
        controlPlane: { systemDisk: { category: "cloud_auto", sizeGb: 80 } },
        nodePools: [pool({ systemDisk: { category: "cloud_essd", sizeGb: 80 } })],
      },
    ],
    [
      "ESSD Entry on a u1 control plane",
      {
        controlPlane: {
          instanceType: "ecs.u1-c1m2.large",
          systemDisk: { category: "cloud_essd_entry", sizeGb: 40 },
        },
        nodePools: [pool({ systemDisk: { category: "cloud_essd", sizeGb: 40 } })],
      },
    ],
    [
      "2 vCPUs and 2 GiB on the control plane (kubeadm: 2 CPUs, 1700 MB)",
      { controlPlane: { instanceType: "ecs.t6-c1m1.large" } },
    ],
    ["2 vCPUs and 4 GiB on the control plane", { controlPlane: { instanceType: "ecs.c7.large" } }],
  ])("%s", (_why, config) => {
    expect(outcome(config)).toEqual({ problems: [], warnings: [] });
  });

  it("accepts every region the provider accepts", () => {
    for (const region of ALIBABA_REGIONS) {
      const { problems } = outcome({ region, zones: [/\d$/.test(region) ? `${region}a` : `${region}-a`] });
      expect(
        problems.filter((p) => p.startsWith(`${PROJECT}:region:`)),
        region,
      ).toEqual([]);
    }
  });

  it("accepts credentials and secret-looking values the stack keeps encrypted", () => {
    const secretLooking = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy";
    expect(
      outcome(
        { tags: { team: secretLooking } },
        { secretKeys: ["tags"], plainForeignConfig: { "alicloud:region": "cn-hangzhou" } },
      ).problems,
    ).toEqual([]);
    // A 30-character tag that is not shaped like a secret (no digit) stays allowed.
    expect(outcome({ tags: { team: "PlatformEngineeringAndOpsTeamX" } }).problems).toEqual([]);
  });
});

describe("limits: warned, not guessed", () => {
  it.each(["ecs.hfg7.large", "ecs.gn7i-c8g1.2xlarge", "ecs.n1.medium"])(
    "%s: the name does not tell its memory or vCPUs",
    (instanceType) => {
      const { problems, warnings } = outcome({ controlPlane: { instanceType } });
      expect(problems).toEqual([]);
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${PROJECT}:controlPlane\\.instanceType: cannot tell the .* of ${instanceType.replace(/\./g, "\\.")} from its name`,
          ),
        ),
      ]);
    },
  );

  it("reads vCPUs from the size and memory from the family where the rule holds", () => {
    expect(instanceShape("ecs.g7.large")).toEqual({ vcpus: 2, memoryGib: 8 });
    expect(instanceShape("ecs.c8i.xlarge")).toEqual({ vcpus: 4, memoryGib: 8 });
    expect(instanceShape("ecs.r7.2xlarge")).toEqual({ vcpus: 8, memoryGib: 64 });
    expect(instanceShape("ecs.g7.16xlarge")).toEqual({ vcpus: 64, memoryGib: 256 });
    expect(instanceShape("ecs.t5-lc2m1.nano")).toEqual({ vcpus: 1, memoryGib: 0.5 });
    expect(instanceShape("ecs.e-c1m4.xlarge")).toEqual({ vcpus: 4, memoryGib: 16 });
    expect(instanceShape("ecs.re6.large")).toEqual({ vcpus: 2 });
    expect(instanceShape("ecs.ebmg7.metal")).toEqual({});
  });
});

describe("limits: all reported at once", () => {
  it("names every broken limit in one error", () => {
    const { problems } = outcome(
      {
        region: "cn-hangzou",
        zones: ["cn-hangzou-h"],
        controlPlane: {
          instanceType: "ecs.t5-lc1m1.small",
          systemDisk: { category: "cloud_essd", sizeGb: 100, performanceLevel: "PL3" },
        },
        nodePools: [pool({ maxSize: 3000, systemDisk: { category: "cloud_auto", sizeGb: 40 } })],
        network: { natGateway: { enabled: true, eipBandwidthMbps: 500 } },
      },
      { plainForeignConfig: { "alicloud:accessKey": "LTAI5tAbCdEfGhIjKlMnOpQr" } },
    );
    const keys = problems.map((p) => p.slice(0, p.indexOf(": ")));
    expect(keys).toEqual(
      expect.arrayContaining([
        `${PROJECT}:region`,
        `${PROJECT}:controlPlane.instanceType`,
        `${PROJECT}:controlPlane.systemDisk.sizeGb`,
        `${PROJECT}:nodePools[0].maxSize`,
        `${PROJECT}:nodePools[0].systemDisk.category`,
        `${PROJECT}:network.natGateway.eipBandwidthMbps`,
        "alicloud:accessKey",
      ]),
    );
  });
});

describe("plainForeignConfig: what the program hands to the check", () => {
  it("keeps other namespaces' plain values and drops the project's and the encrypted", () => {
    const all = {
      "kubeadm-alicloud:region": "cn-hangzhou",
      "alicloud:region": "cn-hangzhou",
      "alicloud:secretKey": "s3cr3t",
      "alicloud:accessKey": "LTAI…",
    };
    expect(plainForeignConfig(all, PROJECT, (k) => k === "alicloud:secretKey")).toEqual({
      "alicloud:region": "cn-hangzhou",
      "alicloud:accessKey": "LTAI…",
    });
  });
});
