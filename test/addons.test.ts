// Add-ons: each module's pinned artefact and values for this cluster, the catalog that
// refuses known incompatibilities, and the Addons component under mocks (order,
// provider, RAM policies on the right roles). Charts and manifests are not rendered by
// Helm or applied to an API server here: their inputs are what is checked.
import * as pulumi from "@pulumi/pulumi";
import Ajv from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { cloudControllerManager, internetLoadBalancersAllowed, CCM_IMAGE } from "../addons/ccm";
import { catalogFor } from "../addons/catalog";
import { CLUSTER_AUTOSCALER_TAGS } from "../addons/cluster-autoscaler";
import { SWITCHABLE_ADDONS, addonPlan, selectedAddons } from "../addons/index";
import { secretProjectKeys } from "../config/load";
import { ADDON_NAMES } from "../config/schema";
import { validateStackConfig } from "../config/validate";
import type { AddonFacts, ManifestObject } from "../addons/types";
import { mergeValues } from "../addons/values";
import { chartSchema, undeclared } from "./chart-schema";
import {
  BASE_CONFIG,
  PROJECT,
  declareCluster,
  installMocks,
  specFor,
  type RecordedResource,
  type Recorder,
} from "./kit";
import { mockId } from "../tools/render/mock-runtime";

const FACTS: AddonFacts = {
  vpcId: "vpc-bp1test",
  vswitchIds: { "cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j" },
  scalingGroupIds: { default: "asg-default" },
};
const kind = (objects: readonly ManifestObject[], k: string) =>
  objects.find((o) => o.kind === k) as ManifestObject & Record<string, unknown>;

describe("values", () => {
  it("layer like Helm: maps merge, lists and scalars replace, null deletes", () => {
    expect(
      mergeValues({ a: { b: 1, c: [1, 2] }, d: 1, e: 2 }, { a: { c: [3] }, d: null, f: { g: 1 } }),
    ).toEqual({ a: { b: 1, c: [3] }, e: 2, f: { g: 1 } });
  });
});

describe("cloud-controller-manager and internet load balancers (audit addons-cni 3.7)", () => {
  const globalOf = (s: ReturnType<typeof specFor>) =>
    (
      JSON.parse(
        String(
          (
            kind(
              cloudControllerManager.install(s, FACTS, s.addons.cloudControllerManager.values ?? {}).manifest
                ?.objects ?? [],
              "ConfigMap",
            ).data as Record<string, string>
          )["cloud-config.conf"],
        ),
      ) as { Global: Record<string, unknown> }
    ).Global;

  it("refuses internet CLBs unless the stack sets disablePublicSLB: false (clbv1/service_controller.go:204-212 at v2.14.0)", () => {
    const closed = specFor({ clusterName: "lb" });
    expect(globalOf(closed).disablePublicSLB).toBe(true);
    expect(internetLoadBalancersAllowed(closed)).toBe(false);
    const open = specFor({
      clusterName: "lb",
      addons: {
        cloudControllerManager: {
          enabled: true,
          values: { cloudConfig: { Global: { disablePublicSLB: false } } },
        },
      },
    });
    expect(globalOf(open).disablePublicSLB).toBe(false);
    expect(internetLoadBalancersAllowed(open)).toBe(true);
  });
});

describe("cloud-controller-manager", () => {
  const spec = specFor({ clusterName: "ccm" });
  const install = cloudControllerManager.install(spec, FACTS, {});
  const objects = install.manifest?.objects ?? [];

  // kubernetes/cloud-provider-alibaba-cloud v2.14.0 pkg/provider/alibaba/base/metadata.go
  // VswitchIDs: `vswitchid` is "zone1:vsw1,zone2:vsw2"; an entry without its zone is
  // "malformed ... skip", and an intranet CLB then finds no vSwitch
  // (clbv1/loadbalancer.go RandomVswitchID). Every zone's nodes' vSwitch is listed, so
  // intranet load balancers are not all in one zone (audit addons-cni 4.11).
  it("is configured for this cluster's region, VPC and every zone's vSwitch as zone:id, with routes off (every CNI here encapsulates)", () => {
    const config = JSON.parse(
      String((kind(objects, "ConfigMap").data as Record<string, string>)["cloud-config.conf"]),
    ) as unknown;
    expect(config).toEqual({
      Global: {
        clusterID: "ccm",
        region: "cn-hangzhou",
        vpcid: "vpc-bp1test",
        zoneid: "cn-hangzhou-h",
        vswitchid: "cn-hangzhou-h:vsw-h,cn-hangzhou-i:vsw-i,cn-hangzhou-j:vsw-j",
        disablePublicSLB: true,
      },
    });
    const pod = (
      (kind(objects, "DaemonSet").spec as Record<string, unknown>).template as {
        spec: Record<string, unknown>;
      }
    ).spec;
    const [container] = pod.containers as {
      image: string;
      command: string[];
      volumeMounts: { mountPath: string }[];
    }[];
    expect(container?.image).toBe(CCM_IMAGE);
    expect(container?.command).toContain("--configure-cloud-routes=false");
    // The config file it reads is the one the ConfigMap is mounted as.
    const configFlag = container?.command.find((c) => c.startsWith("--cloud-config="))?.split("=")[1] ?? "";
    expect(configFlag.startsWith(`${container?.volumeMounts[0]?.mountPath}/`)).toBe(true);
  });

  // Audit addons-cni 3.1, 3.2, read at kubernetes/cloud-provider-alibaba-cloud v2.14.0: the
  // node and service controllers read no Secret (only the ALB ingress controller does,
  // which is not run); pkg/config/runtime_config.go serves metrics on :8080 and pprof on
  // :6060 unless told otherwise ("It can be set to '' or 0 to disable the pprof
  // serving"); deploy/v2/cloud-controller-manager.yaml passes --metrics-bind-addr=0 and
  // runs as user 1200, non-root, read-only root, no privilege escalation.
  // The service controller resolves the Pod behind every backend from its cache and
  // patches the readiness gate of Pods that use it (clbv1/service_controller.go,
  // vgroups.go, helper/pod_utils.go at v2.14.0): pods get/list/watch, pods/status patch.
  // Secrets, ConfigMaps and ServiceAccounts are read only by the ALB ingress controller,
  // which is not run; leader election uses Leases (runtime_config.go: "leases").
  it("reads no Secret, serves neither metrics nor pprof on the host, and runs unprivileged", () => {
    const role = kind(objects, "ClusterRole") as unknown as {
      rules: { resources: string[]; verbs: string[] }[];
    };
    const resources = role.rules.flatMap((r) => r.resources);
    for (const r of ["secrets", "configmaps", "serviceaccounts"]) expect(resources).not.toContain(r);
    expect(role.rules).toContainEqual({
      apiGroups: [""],
      resources: ["pods"],
      verbs: ["get", "list", "watch"],
    });
    expect(role.rules).toContainEqual({ apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] });
    const pod = (
      (kind(objects, "DaemonSet").spec as Record<string, unknown>).template as {
        spec: Record<string, unknown>;
      }
    ).spec;
    const [container] = pod.containers as { command: string[]; securityContext: Record<string, unknown> }[];
    expect(container?.command).toEqual(
      expect.arrayContaining(["--metrics-bind-addr=0", "--pprof-bind-addr=0"]),
    );
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1200,
    });
  });

  it("runs on control planes on the host network, tolerating the taint it exists to remove, with no access key anywhere", () => {
    const pod = (
      (kind(objects, "DaemonSet").spec as Record<string, unknown>).template as {
        spec: Record<string, unknown>;
      }
    ).spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.nodeSelector).toEqual({ "node-role.kubernetes.io/control-plane": "" });
    expect(pod.tolerations).toContainEqual({
      key: "node.cloudprovider.kubernetes.io/uninitialized",
      operator: "Exists",
      effect: "NoSchedule",
    });
    expect(JSON.stringify(objects)).not.toMatch(/ACCESS_KEY|AccessKey|keysecret/i);
    // Its RAM grant goes to the control planes' role only, and grants no write outside SLB.
    expect(install.ram?.scope).toBe("control-plane");
    const writes = (install.ram?.statements ?? [])
      .flatMap((s) => s.Action)
      .filter((a) => !/:Describe/.test(a));
    expect(writes).toEqual(["slb:*"]);
  });

  it("lets the stack override the image and the controllers", () => {
    const o =
      cloudControllerManager.install(spec, FACTS, {
        image: "registry.example/ccm:v2.14.0",
        controllers: "node,service,nlb",
      }).manifest?.objects ?? [];
    const pod = (
      (kind(o, "DaemonSet").spec as Record<string, unknown>).template as {
        spec: { containers: { image: string; command: string[] }[] };
      }
    ).spec;
    expect(pod.containers[0]?.image).toBe("registry.example/ccm:v2.14.0");
    expect(pod.containers[0]?.command).toContain("--controllers=node,service,nlb");
  });
});

describe("which add-ons, and the catalog", () => {
  it("the CCM first, then what is switched on; off means absent", () => {
    expect(selectedAddons(specFor({})).map((m) => m.name)).toEqual([
      "cloudControllerManager",
      "csiDisk",
      "metricsServer",
      "clusterAutoscaler",
    ]);
    // The CCM cannot be switched off (addons/rules.ts); the others can.
    const off = specFor({
      addons: {
        csiDisk: { enabled: false },
        metricsServer: { enabled: false },
        clusterAutoscaler: { enabled: false },
      },
    });
    expect(selectedAddons(off).map((m) => m.name)).toEqual(["cloudControllerManager"]);
  });

  it("accounts for every artefact any config can install: a sourced range, or why there is none", () => {
    const everything = specFor({
      addons: Object.fromEntries(ADDON_NAMES.map((n) => [n, { enabled: true }])),
    });
    const entries = [
      ...catalogFor(everything),
      ...catalogFor(specFor({ kubernetesVersion: "1.35.2", cni: { name: "cilium" } })),
      ...catalogFor(specFor({ cni: { name: "flannel" } })),
    ];
    expect(entries.length).toBeGreaterThanOrEqual(14);
    for (const e of entries) {
      expect(e.supported ?? e.noRange, e.artifact.name).toBeDefined();
      if (e.supported) expect(e.supported.source.length, e.artifact.name).toBeGreaterThan(10);
    }
  });

  it("every add-on switch in the config has a module: no switch silently does nothing", () => {
    expect(SWITCHABLE_ADDONS.map((m) => m.name).sort()).toEqual([...ADDON_NAMES].sort());
  });

  it("lists every chart and manifest the cluster installs, pinned, with the key that brings it in", () => {
    const entries = catalogFor(specFor({}));
    expect(entries.map((e) => [e.artifact.name, e.artifact.version, e.key])).toEqual([
      ["crd.projectcalico.org.v1", "v3.32.1", "cni.name"],
      ["tigera-operator", "v3.32.1", "cni.name"],
      ["cloud-controller-manager", "v2.14.0", "addons.cloudControllerManager.enabled"],
      ["alibaba-cloud-csi-driver", "1.36.2", "addons.csiDisk.enabled"],
      ["metrics-server", "3.13.1", "addons.metricsServer.enabled"],
      ["cluster-autoscaler", "9.56.0", "addons.clusterAutoscaler.enabled"],
    ]);
    for (const e of entries) expect(e.artifact.version).toMatch(/^v?\d+\.\d+\.\d+$/);
  });

  it("refuses metrics-server told to skip kubelet TLS verification, naming the key", () => {
    expect(() =>
      specFor({ addons: { metricsServer: { enabled: true, values: { args: ["--kubelet-insecure-tls"] } } } }),
    ).toThrow(/kubeadm-alicloud:addons\.metricsServer\.values: --kubelet-insecure-tls is refused/);
  });
});

describe("under mocks", () => {
  let recorder: Recorder;
  let rs: RecordedResource[];
  beforeAll(async () => {
    recorder = await installMocks();
    rs = await declareCluster(
      recorder,
      specFor({ clusterName: "ad", addons: { metricsServer: { enabled: true, values: { replicas: 3 } } } }),
    );
  });
  const byName = (n: string) => rs.find((r) => r.name === n) as RecordedResource;

  it("installs through the cluster's provider: the CCM without waiting for the CNI, the rest after the CNI and the CCM", () => {
    const provider = rs.find(
      (r) => r.type === "pulumi:providers:kubernetes" && r.name.endsWith("-kubernetes"),
    )?.urn;
    const ccm = byName("ad-addons-cloudControllerManager-manifest");
    const csiCredentials = byName("ad-addons-csiDisk-credentials");
    const metrics = byName("ad-addons-metricsServer-metrics-server");
    const csi = byName("ad-addons-csiDisk-csi");
    for (const r of [ccm, csiCredentials, metrics]) expect(r.provider.startsWith(`${provider}::`)).toBe(true);
    expect(ccm.dependsOn).toEqual([]);
    const cniLast = byName("ad-cni-calico").urn;
    expect([...csiCredentials.dependsOn].sort()).toEqual([cniLast, ccm.urn].sort());
    // Then one after the other, in the catalog's order.
    // The CSI driver: its credentials, then its StorageClass, then its chart.
    expect(byName("ad-addons-csiDisk-manifest").dependsOn).toEqual([
      byName("ad-addons-csiDisk-credentials").urn,
    ]);
    expect(csi.dependsOn).toEqual([byName("ad-addons-csiDisk-manifest").urn]);
    expect(metrics.dependsOn).toEqual([csi.urn]);
    expect(metrics.inputs).toMatchObject({
      chart: "metrics-server",
      version: "3.13.1",
      namespace: "kube-system",
      values: { replicas: 3 },
    });
  });

  it("the CCM's manifest carries the VPC and vSwitch the program created", () => {
    const objs = byName("ad-addons-cloudControllerManager-manifest").inputs.objs as ManifestObject[];
    const conf = JSON.parse(
      String((kind(objs, "ConfigMap").data as Record<string, string>)["cloud-config.conf"]),
    ) as { Global: { vpcid: string; vswitchid: string } };
    const vpc = rs.find((r) => r.type === "alicloud:vpc/network:Network");
    expect(conf.Global.vpcid.startsWith(`${vpc?.name}-`)).toBe(true);
    // The nodes' vSwitches, never the control planes' own.
    expect(conf.Global.vswitchid.split(",").map((e) => e.replace(/-[0-9a-f]{8}$/, ""))).toEqual(
      ["h", "i", "j"].map((l) => `cn-hangzhou-${l}:ad-vsw-cn-hangzhou-${l}`),
    );
  });

  it("no add-on may write outside the cluster's region", () => {
    const writes = (name: string) =>
      (
        JSON.parse(String(byName(name).inputs.policyDocument)) as {
          Statement: { Action: string[]; Resource: string[] }[];
        }
      ).Statement.filter((s) => s.Action.some((a) => !/^[a-z]+:(Describe|List)/.test(a)));
    for (const name of ["ad-addon-cloudControllerManager", "ad-addon-csiDisk"]) {
      const found = writes(name);
      expect(found.length, name).toBeGreaterThan(0);
      for (const s of found)
        for (const r of s.Resource) expect(r, name).toMatch(/^acs:[a-z]+:cn-hangzhou:\*:/);
    }
  });

  it("attaches the CCM's policy to the control planes' role only", () => {
    const policy = byName("ad-addon-cloudControllerManager");
    expect(JSON.parse(String(policy.inputs.policyDocument))).toMatchObject({
      Version: "1",
      Statement: expect.any(Array),
    });
    const attached = rs.filter(
      (r) =>
        r.type === "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment" &&
        r.inputs.policyName === policy.inputs.policyName,
    );
    expect(attached.map((a) => a.inputs.roleName)).toEqual(["ad-cn-hangzhou-nodes"]);
  });
});

describe("cluster-autoscaler", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });
  const pools = [
    { name: "general", instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 5 },
    { name: "batch", instanceTypes: ["ecs.c7.2xlarge"], minSize: 1, maxSize: 10 },
  ];

  it("gets one --nodes group per pool, with the pool's scaling group id and bounds", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "as", nodePools: pools }));
    const chart = rs.find(
      (r) => r.name === "as-addons-clusterAutoscaler-cluster-autoscaler",
    ) as RecordedResource;
    const groups = rs.filter((r) => r.type === "alicloud:ess/scalingGroup:ScalingGroup");
    const idOf = (pool: string) => groups.find((g) => g.inputs.scalingGroupName === `as-${pool}`)?.name ?? "";
    const values = chart.inputs.values as {
      autoscalingGroups: { name: string; minSize: number; maxSize: number }[];
      cloudProvider: string;
      image: { tag: string };
    };
    expect(values.cloudProvider).toBe("alicloud");
    // Mock ids are "<resource name>-<hash>": the id is the scaling group's.
    expect(
      values.autoscalingGroups.map((g) => [g.name.replace(/-[0-9a-f]{8}$/, ""), g.minSize, g.maxSize]),
    ).toEqual([
      [idOf("general"), 1, 5],
      [idOf("batch"), 1, 10],
    ]);
    expect(values.image.tag).toBe("v1.36.1");
  });

  it("follows the cluster's minor with its image, and is refused on a minor without a release", () => {
    const tagAt = (v: string) =>
      addonPlan(specFor({ kubernetesVersion: v }), FACTS).find((a) => a.name === "clusterAutoscaler")?.install
        .charts[0]?.values.image;
    expect(tagAt("1.35.2")).toEqual({
      repository: "registry.k8s.io/autoscaling/cluster-autoscaler",
      tag: "v1.35.2",
    });
    // The newest patch per minor promoted to registry.k8s.io: kubernetes/k8s.io#9760 (merged,
    // 1.33.6, 1.34.5, 1.35.2, 1.36.1) and #8623 (merged, 1.31.5); 1.32.7 is the last 1.32 tag.
    expect(tagAt("1.34.2")).toMatchObject({ tag: "v1.34.5" });
    expect(CLUSTER_AUTOSCALER_TAGS).toEqual({
      31: "v1.31.5",
      32: "v1.32.7",
      33: "v1.33.6",
      34: "v1.34.5",
      35: "v1.35.2",
      36: "v1.36.1",
    });
    expect(() => specFor({ kubernetesVersion: "1.37.0" })).toThrow(
      /kubeadm-alicloud:addons\.clusterAutoscaler\.enabled: cluster-autoscaler 9\.56\.0 supports Kubernetes 1\.31-1\.36/,
    );
    // Switched off, it no longer stands in the way (Flannel: Calico 3.32 stops at 1.36 too).
    expect(() =>
      specFor({
        kubernetesVersion: "1.37.0",
        cni: { name: "flannel" },
        addons: { clusterAutoscaler: { enabled: false } },
      }),
    ).not.toThrow();
  });

  // Least privilege that names this cluster's resources (issue: cloud resources, item 5).
  // ESS authorizes the scaling calls on the group: the RAM tables of ScaleWithAdjustment,
  // RemoveInstances (authorized as ess:DetachInstances), ExecuteScalingRule,
  // CreateScalingRule and DescribeScalingGroups list
  // acs:ess:{#regionId}:{#accountId}:scalinggroup/{#ScalingGroupId} (ESS API reference,
  // 2014-08-28 and 2022-02-22). cluster-autoscaler 1.32 and later scale with
  // ScaleWithAdjustment (kubernetes/autoscaler commit 825d5253c8,
  // cloudprovider/alicloud), earlier ones with scaling rules.
  it("may change only this cluster's scaling groups, with the calls cluster-autoscaler makes", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "ak" }));
    const policy = rs.find((r) => r.name === "ak-addon-clusterAutoscaler") as RecordedResource;
    const statements = (
      JSON.parse(String(policy.inputs.policyDocument)) as {
        Statement: { Action: string[]; Resource: string[] }[];
      }
    ).Statement;
    const groups = rs
      .filter((r) => r.type === "alicloud:ess/scalingGroup:ScalingGroup")
      .map((g) => `acs:ess:cn-hangzhou:*:scalinggroup/${mockId(g.type, g.name)}`);
    const writes = statements.filter((s) => s.Action.some((a) => /^ess:(?!Describe)/.test(a)));
    expect(writes.flatMap((s) => s.Action)).toEqual(
      expect.arrayContaining([
        "ess:ScaleWithAdjustment",
        "ess:RemoveInstances",
        "ess:DetachInstances",
        "ess:ExecuteScalingRule",
      ]),
    );
    expect(writes.map((s) => s.Resource)).toEqual([groups]);
    expect(groups).toHaveLength(1);
    // Reads stay in the cluster's region; nothing is granted on every resource but the
    // one call RAM publishes no resource for (ecs:DescribeInstanceTypes).
    for (const s of statements.filter((st) => !writes.includes(st))) {
      expect(s.Resource, s.Action.join(",")).toEqual(
        s.Action.includes("ecs:DescribeInstanceTypes") ? ["*"] : ["acs:ess:cn-hangzhou:*:*"],
      );
    }
  });

  it("calls ESS with a RAM user of its own (its provider cannot use token-protected role credentials), its key a secret in a Secret", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "ak" }));
    const user = rs.find(
      (r) => r.type === "alicloud:ram/user:User" && r.inputs.name === "ak-cn-hangzhou-clusterAutoscaler",
    );
    expect(user).toBeDefined();
    const policy = rs.find((r) => r.name === "ak-addon-clusterAutoscaler") as RecordedResource;
    const actions = (
      JSON.parse(String(policy.inputs.policyDocument)) as { Statement: { Action: string[] }[] }
    ).Statement.flatMap((s) => s.Action);
    expect(actions.every((a) => a.startsWith("ess:") || a === "ecs:DescribeInstanceTypes")).toBe(true);
    const onUser = rs.filter(
      (r) =>
        r.type === "alicloud:ram/userPolicyAttachment:UserPolicyAttachment" &&
        r.inputs.userName === "ak-cn-hangzhou-clusterAutoscaler",
    );
    expect(onUser.map((a) => [a.inputs.userName, a.inputs.policyName])).toEqual([
      ["ak-cn-hangzhou-clusterAutoscaler", "ak-cn-hangzhou-addon-clusterAutoscaler"],
    ]);
    // Not on any node role.
    expect(
      rs.filter(
        (r) =>
          r.type === "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment" &&
          r.inputs.policyName === "ak-cn-hangzhou-addon-clusterAutoscaler",
      ),
    ).toEqual([]);
    const secret = rs.find((r) => r.name === "ak-addons-clusterAutoscaler-credentials") as RecordedResource;
    expect(secret.secretPaths).toContain("stringData");
    expect(Object.keys(secret.inputs.stringData as object).sort()).toEqual([
      "ACCESS_KEY_ID",
      "ACCESS_KEY_SECRET",
      "REGION_ID",
    ]);
    const chart = rs.find(
      (r) => r.name === "ak-addons-clusterAutoscaler-cluster-autoscaler",
    ) as RecordedResource;
    expect((chart.inputs.values as { envFromSecret: string }).envFromSecret).toBe(
      (secret.inputs.metadata as { name: string }).name,
    );
    expect(chart.dependsOn).toEqual([secret.urn]);
  });
});

describe("the other add-ons", () => {
  let recorder: Recorder;
  let rs: RecordedResource[];
  beforeAll(async () => {
    recorder = await installMocks();
    const on = { enabled: true };
    rs = await declareCluster(
      recorder,
      specFor({
        clusterName: "all",
        addons: { certManager: on, nodeProblemDetector: on, monitoring: on, gateway: on },
      }),
    );
  });
  const chart = (n: string) =>
    rs.find(
      (r) =>
        (r.type === "kubernetes:helm.sh/v4:Chart" || r.type === "kubernetes:helm.sh/v3:Release") &&
        r.name === n,
    ) as RecordedResource;

  it("installs every switched-on add-on, each through the cluster's provider, one after the other", () => {
    const provider = rs.find(
      (r) => r.type === "pulumi:providers:kubernetes" && r.name.endsWith("-kubernetes"),
    )?.urn;
    const addonCharts = rs.filter(
      (r) =>
        (r.type === "kubernetes:helm.sh/v4:Chart" || r.type === "kubernetes:helm.sh/v3:Release") &&
        r.name.startsWith("all-addons-"),
    );
    expect(addonCharts.map((c) => c.inputs.chart)).toEqual([
      "alibaba-cloud-csi-driver",
      "metrics-server",
      "cluster-autoscaler",
      "cert-manager",
      "oci://ghcr.io/deliveryhero/helm-charts/node-problem-detector",
      "kube-prometheus-stack",
      "oci://docker.io/envoyproxy/gateway-helm",
    ]);
    for (const c of addonCharts) expect(c.provider.startsWith(`${provider}::`), c.name).toBe(true);
    expect(
      rs
        .filter((r) => r.type === "kubernetes:core/v1:Namespace")
        .map((n) => (n.inputs.metadata as { name: string }).name)
        .sort(),
    ).toEqual(["cert-manager", "envoy-gateway-system", "monitoring", "tigera-operator"]);
  });

  it("cert-manager's values are valid for its chart's own schema and declare nothing it does not know", () => {
    const values = chart("all-addons-certManager-cert-manager").inputs.values;
    const schema = chartSchema("cert-manager");
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    expect(undeclared(values, schema)).toEqual([]);
    // Negative control: the checks see a misspelt key and a wrong type.
    expect(undeclared({ ...(values as object), crd: { enabled: true } }, schema)).toEqual([".crd"]);
    expect(validate({ ...(values as object), replicaCount: "two" })).toBe(false);
  });

  it("the Gateway chart comes from its OCI registry, named in full", () => {
    const g = chart("all-addons-gateway-envoy-gateway");
    expect(g.inputs).toMatchObject({
      chart: "oci://docker.io/envoyproxy/gateway-helm",
      version: "v1.9.0",
      namespace: "envoy-gateway-system",
    });
    expect(g.inputs.repositoryOpts).toBeUndefined();
  });

  it("monitoring runs in a privileged namespace and does not scrape what kubeadm binds to localhost", () => {
    const ns = rs.find(
      (r) =>
        r.type === "kubernetes:core/v1:Namespace" &&
        (r.inputs.metadata as { name: string }).name === "monitoring",
    );
    expect((ns?.inputs.metadata as { labels: Record<string, string> }).labels).toEqual({
      "pod-security.kubernetes.io/enforce": "privileged",
    });
    expect(chart("all-addons-monitoring-kube-prometheus-stack").inputs.values).toMatchObject({
      kubeControllerManager: { enabled: false },
      kubeScheduler: { enabled: false },
      kubeEtcd: { enabled: false },
      kubeProxy: { enabled: false },
    });
  });

  // alibaba-cloud-csi-driver 1.36.2: the chart reads the key names `idKey` and `secretKey`
  // (templates/_utils.tpl akEnv: `default "secret" .secretKey`; values.yaml's
  // `secretkey` is a typo it ignores), and injects the key into the privileged node
  // plugin on every node unless deploy.labeler.enabled (templates/plugin.yaml:137-139);
  // the labeler sidecar in the controller then calls DescribeInstances,
  // DescribeInstanceTypes, DescribeDisks, DescribeAvailableResource and EFLO
  // DescribeNode(Type) (pkg/labeler/reconcile.go). Audit addons-cni 3.3, 4.1.
  it("the CSI driver's key stays in its controller (labeler on), under the key names the chart reads, with the calls it makes", () => {
    const values = chart("all-addons-csiDisk-csi").inputs.values as {
      deploy: {
        ack: boolean;
        regionID: string;
        labeler: { enabled: boolean };
        accessKey: { enabled: boolean; secretName: string; idKey: string; secretKey: string };
      };
      defaultStorageClass: { enabled: boolean };
    };
    expect(values.deploy).toMatchObject({ ack: false, regionID: "cn-hangzhou", labeler: { enabled: true } });
    // The chart's own classes are unencrypted and some bind immediately: ours is the default.
    expect(values.defaultStorageClass.enabled).toBe(false);
    const secret = rs.find((r) => r.name === "all-addons-csiDisk-credentials") as RecordedResource;
    expect((secret.inputs.metadata as { name: string }).name).toBe(values.deploy.accessKey.secretName);
    expect(Object.keys(secret.inputs.stringData as object).sort()).toEqual(
      [values.deploy.accessKey.idKey, values.deploy.accessKey.secretKey].sort(),
    );
    expect(secret.secretPaths).toContain("stringData");
    const policy = rs.find((r) => r.name === "all-addon-csiDisk") as RecordedResource;
    const actions = (
      JSON.parse(String(policy.inputs.policyDocument)) as { Statement: { Action: string[] }[] }
    ).Statement.flatMap((s) => s.Action);
    expect(actions.every((a) => a.startsWith("ecs:") || a.startsWith("eflo:"))).toBe(true);
    expect(actions).toEqual(
      expect.arrayContaining([
        "ecs:AttachDisk",
        "ecs:DescribeAvailableResource",
        "ecs:DescribeInstanceTypes",
        "eflo:DescribeNode",
        "eflo:DescribeNodeType",
      ]),
    );
  });

  // Audit addons-cni 2.3, 3.4: the chart's classes are not default, unencrypted, and some
  // bind before the pod's zone is known. Parameters as pkg/disk/utils.go
  // getDiskVolumeOptions reads them at 1.36.2: type (tried in order), encrypted,
  // volumeSizeAutoAvailable (raises requests under a type's minimum of 20 GiB).
  it("a default StorageClass of our own: encrypted, bound where the pod lands, sizes the driver accepts", () => {
    const manifest = rs.find((r) => r.name === "all-addons-csiDisk-manifest") as RecordedResource;
    const objs = (manifest.inputs.objs as Record<string, unknown>[]).filter((o) => o.kind === "StorageClass");
    expect(objs).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({
          name: "alicloud-disk-encrypted",
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        }),
        provisioner: "diskplugin.csi.alibabacloud.com",
        parameters: {
          type: "cloud_essd,cloud_ssd,cloud_efficiency",
          encrypted: "true",
          volumeSizeAutoAvailable: "true",
        },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
      }),
    ]);
  });

  it("the catalog refuses cert-manager and the Gateway outside their supported Kubernetes range", () => {
    const at132 = {
      kubernetesVersion: "1.32.0",
      addons: { certManager: { enabled: true }, gateway: { enabled: true } },
    };
    let message = "";
    try {
      specFor(at132);
    } catch (e) {
      message = String(e);
    }
    expect(message).toContain(
      "kubeadm-alicloud:addons.certManager.enabled: cert-manager v1.21.1 supports Kubernetes 1.33-1.36",
    );
    expect(message).toContain(
      "kubeadm-alicloud:addons.gateway.enabled: gateway-helm v1.9.0 supports Kubernetes 1.33-1.36",
    );
  });
});

describe("add-on values from encrypted config", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });

  it("the loader learns from the runtime which keys the stack keeps encrypted", () => {
    pulumi.runtime.setAllConfig(
      { "kubeadm-alicloud:region": "cn-hangzhou", "kubeadm-alicloud:addons": "{}" },
      ["kubeadm-alicloud:addons"],
    );
    try {
      expect(secretProjectKeys(pulumi.runtime.allConfig(), "kubeadm-alicloud")).toEqual(["addons"]);
    } finally {
      pulumi.runtime.setAllConfig({}, []);
    }
  });

  it("keep an add-on's values secret when the stack encrypts `addons`, and only that add-on's", async () => {
    const config = {
      ...BASE_CONFIG,
      clusterName: "sv",
      addons: { monitoring: { enabled: true, values: { grafana: { adminPassword: "hunter2-hunter2" } } } },
    };
    const chartOf = (rs: RecordedResource[], n: string) => rs.find((r) => r.name === n) as RecordedResource;
    const encrypted = await declareCluster(
      recorder,
      validateStackConfig(config, { project: PROJECT, stack: "dev", secretKeys: ["addons"] }),
    );
    expect(chartOf(encrypted, "sv-addons-monitoring-kube-prometheus-stack").secretPaths).toContain("values");
    // Add-ons without overrides stay readable in a preview.
    expect(chartOf(encrypted, "sv-addons-metricsServer-metrics-server").secretPaths).not.toContain("values");
    const plain = await declareCluster(
      recorder,
      validateStackConfig(config, { project: PROJECT, stack: "dev" }),
    );
    expect(chartOf(plain, "sv-addons-monitoring-kube-prometheus-stack").secretPaths).not.toContain("values");
  });
});
