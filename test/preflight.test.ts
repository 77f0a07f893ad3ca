// The upgrade's preflight as code (plan/upgrade/preflight.ts): each check of the plan
// fails on the observation that should stop a rollout, and names what to fix. The
// deprecated-API metric is parsed in its exposition format, labels as kubernetes/apiserver
// v0.36.0 pkg/endpoints/metrics/metrics.go:64-72 declares them.
import { describe, expect, it } from "vitest";
import { PREFLIGHT_CHECKS } from "../plan/upgrade/plan";
import { preflight, requestedDeprecatedApis, type PreflightObservation } from "../plan/upgrade/preflight";

const cp0 = {
  name: "cp-0",
  ready: true,
  cordoned: false,
  kubeletVersion: "1.36.5",
  apiServerVersion: "1.36.5",
};
const w1 = { name: "w-1", ready: true, cordoned: false, kubeletVersion: "1.35.2" };
const healthy: PreflightObservation = {
  target: "1.37.1",
  nodes: [cp0, w1],
  etcdMembers: [{ name: "cp-0", healthy: true, learner: false }],
  controlPlaneCount: 1,
  apiServerMetrics: [
    "# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested",
    "# TYPE apiserver_requested_deprecated_apis gauge",
    'apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.39",resource="flowschemas",subresource="",version="v1beta3"} 1',
    'apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1',
    'apiserver_request_total{code="200",verb="GET"} 12',
  ].join("\n"),
  replacedPools: [{ name: "general", freeAddresses: 200, surge: 100 }],
  packageRepository: {
    url: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.37/deb/",
    reachable: true,
  },
};

describe("upgrade preflight", () => {
  it("passes a healthy cluster (a deprecated API removed after the target does not block)", () => {
    expect(preflight(healthy)).toEqual([]);
  });

  it("reads the deprecated-API gauge with its labels", () => {
    expect(requestedDeprecatedApis(healthy.apiServerMetrics)).toEqual([
      {
        group: "flowcontrol.apiserver.k8s.io",
        version: "v1beta3",
        resource: "flowschemas",
        removedRelease: "1.39",
      },
      { group: "", version: "v1", resource: "componentstatuses", removedRelease: "" },
    ]);
  });

  it("each check fails on what should stop a rollout, naming it", () => {
    const cases: [Partial<PreflightObservation>, string, string][] = [
      [{ nodes: [{ ...cp0, ready: false }] }, "nodes-ready", "not Ready: cp-0"],
      [{ nodes: [{ ...w1, cordoned: true }, cp0] }, "nodes-ready", "cordoned"],
      [
        { etcdMembers: [{ name: "cp-0", healthy: false, learner: false }] },
        "etcd-healthy",
        "unhealthy members: cp-0",
      ],
      [{ controlPlaneCount: 3 }, "etcd-healthy", "1 members for 3 control planes"],
      [
        {
          nodes: [...healthy.nodes, { name: "old", ready: true, cordoned: false, kubeletVersion: "1.33.9" }],
        },
        "version-skew",
        "old: 1.33.9 is 4 minors behind",
      ],
      [
        {
          nodes: [...healthy.nodes, { name: "new", ready: true, cordoned: false, kubeletVersion: "1.37.0" }],
        },
        "version-skew",
        "new: 1.37.0 is newer than the control plane (1.36.5)",
      ],
      [
        {
          apiServerMetrics:
            'apiserver_requested_deprecated_apis{group="storage.k8s.io",removed_release="1.37",resource="volumeattributesclasses",subresource="",version="v1beta1"} 1',
        },
        "removed-apis",
        "storage.k8s.io/v1beta1 volumeattributesclasses was requested and is removed in 1.37",
      ],
      [
        { replacedPools: [{ name: "general", freeAddresses: 40, surge: 100 }] },
        "surge-addresses",
        "pool general: 40 free addresses",
      ],
      [
        { packageRepository: { url: "https://x/v1.37/", reachable: false } },
        "package-repository",
        "https://x/v1.37/ did not answer",
      ],
    ];
    for (const [change, check, text] of cases) {
      const failures = preflight({ ...healthy, ...change });
      expect(
        failures.map((f) => f.check),
        text,
      ).toEqual([check]);
      expect(failures[0]?.message).toContain(text);
    }
    // Every check the plan names can fail here.
    expect(new Set(cases.map((c) => c[1]))).toEqual(new Set(PREFLIGHT_CHECKS.map((c) => c.name)));
  });
});
