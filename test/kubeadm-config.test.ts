// The kubeadm configuration per role: v1beta4 only, list-form extraArgs, and no field
// kubeadm's strict decoder would refuse (allowed fields: ../shared reference kubeadm.md,
// from cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go).
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import type { ClusterSpec } from "../config/spec";
import { renderAuthenticationConfig } from "../plan/hardening";
import { NODE_PLACEHOLDERS, renderKubeadmConfig, type ClusterFacts } from "../plan/kubeadm";
import { specFor } from "./kit";

const FACTS: ClusterFacts = {
  loadBalancerAddress: "10.0.0.250",
  discoveryHash: `sha256:${"ab".repeat(32)}`,
  encryptionAlgorithm: "RSA-2048",
};
const IMAGES = "registry.k8s.io";

type Doc = Record<string, unknown> & { kind: string; apiVersion: string };
function docs(yaml: string): Doc[] {
  return parseAllDocuments(yaml).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJSON() as Doc;
  });
}
const byKind = (ds: Doc[], kind: string) => {
  const found = ds.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Doc & Record<string, never>;
};

/** Fields of each v1beta4 kind and nested struct that this project may write. */
const ALLOWED: Record<string, readonly string[]> = {
  InitConfiguration: [
    "apiVersion",
    "kind",
    "bootstrapTokens",
    "nodeRegistration",
    "localAPIEndpoint",
    "certificateKey",
    "skipPhases",
    "patches",
    "timeouts",
  ],
  ClusterConfiguration: [
    "apiVersion",
    "kind",
    "etcd",
    "networking",
    "kubernetesVersion",
    "controlPlaneEndpoint",
    "apiServer",
    "controllerManager",
    "scheduler",
    "dns",
    "proxy",
    "certificatesDir",
    "imageRepository",
    "featureGates",
    "clusterName",
    "encryptionAlgorithm",
    "certificateValidityPeriod",
    "caCertificateValidityPeriod",
  ],
  JoinConfiguration: [
    "apiVersion",
    "kind",
    "nodeRegistration",
    "caCertPath",
    "discovery",
    "controlPlane",
    "skipPhases",
    "patches",
    "timeouts",
  ],
  NodeRegistrationOptions: [
    "name",
    "criSocket",
    "taints",
    "kubeletExtraArgs",
    "ignorePreflightErrors",
    "imagePullPolicy",
    "imagePullSerial",
  ],
  BootstrapToken: ["token", "description", "ttl", "expires", "usages", "groups"],
  Timeouts: [
    "controlPlaneComponentHealthCheck",
    "kubeletHealthCheck",
    "kubernetesAPICall",
    "etcdAPICall",
    "tlsBootstrap",
    "discovery",
    "upgradeManifests",
  ],
};

function onlyAllowed(obj: object, kind: string) {
  for (const key of Object.keys(obj)) expect(ALLOWED[kind], `${kind}.${key}`).toContain(key);
}

/** Every extraArgs / kubeletExtraArgs anywhere is a list of {name, value} (v1beta4). */
function argsAreLists(value: unknown) {
  if (Array.isArray(value)) return value.forEach(argsAreLists);
  if (typeof value !== "object" || value === null) return;
  for (const [k, v] of Object.entries(value)) {
    if (k === "extraArgs" || k === "kubeletExtraArgs") {
      expect(Array.isArray(v), k).toBe(true);
      for (const a of v as unknown[]) expect(Object.keys(a as object).sort()).toEqual(["name", "value"]);
    }
    argsAreLists(v);
  }
}

function render(spec: ClusterSpec, role: "init" | "control-plane" | "worker", pool = 0) {
  const p = spec.nodePools[pool];
  return docs(
    renderKubeadmConfig({
      spec,
      facts: FACTS,
      role,
      imageRepository: IMAGES,
      ...(role === "worker" && p ? { pool: p } : {}),
      ...(role === "init"
        ? { initToken: { ttl: "720h0m0s", groups: ["system:bootstrappers:kubeadm:default-node-token"] } }
        : {}),
    }),
  );
}

describe("kubeadm configuration (v1beta4)", () => {
  const spec = specFor({
    clusterName: "kc",
    nodePools: [
      {
        name: "general",
        instanceTypes: ["ecs.g7.large"],
        minSize: 1,
        maxSize: 3,
        labels: { "example.com/tier": "web", "node.kubernetes.io/pool": "general" },
      },
      {
        name: "gpu",
        instanceTypes: ["ecs.gn7i-c8g1.2xlarge"],
        minSize: 1,
        maxSize: 2,
        taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }],
      },
    ],
  });

  it("init: InitConfiguration, ClusterConfiguration, KubeletConfiguration and KubeProxyConfiguration, nothing else", () => {
    const d = render(spec, "init");
    expect(d.map((x) => `${x.apiVersion} ${x.kind}`)).toEqual([
      "kubeadm.k8s.io/v1beta4 InitConfiguration",
      "kubeadm.k8s.io/v1beta4 ClusterConfiguration",
      "kubelet.config.k8s.io/v1beta1 KubeletConfiguration",
      "kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration",
    ]);
    for (const x of d) argsAreLists(x);
  });

  it("init installs exactly the control planes' token (pools' come from Pulumi) and names the node from the metadata service", () => {
    const init = byKind(render(spec, "init"), "InitConfiguration") as unknown as {
      bootstrapTokens: { token: string; ttl: string }[];
      nodeRegistration: {
        name: string;
        criSocket: string;
        kubeletExtraArgs: { name: string; value: string }[];
        taints?: unknown;
      };
      localAPIEndpoint: { advertiseAddress: string; bindPort: number };
      timeouts: object;
      skipPhases?: string[];
    };
    onlyAllowed(init, "InitConfiguration");
    onlyAllowed(init.nodeRegistration, "NodeRegistrationOptions");
    onlyAllowed(init.timeouts, "Timeouts");
    for (const t of init.bootstrapTokens) onlyAllowed(t, "BootstrapToken");
    // One token, never none: with none kubeadm's defaults would add a random one
    // (v1beta4 defaults.go SetDefaults_BootstrapTokens).
    expect(init.bootstrapTokens.map((t) => [t.token, t.ttl])).toEqual([
      [NODE_PLACEHOLDERS.token, "720h0m0s"],
    ]);
    expect(() => renderKubeadmConfig({ spec, facts: FACTS, role: "init", imageRepository: IMAGES })).toThrow(
      /needs the control planes' join token/,
    );
    expect(init.nodeRegistration.name).toBe(NODE_PLACEHOLDERS.nodeName);
    expect(init.nodeRegistration.criSocket).toBe("unix:///run/containerd/containerd.sock");
    expect(init.nodeRegistration.kubeletExtraArgs).toEqual([
      { name: "cloud-provider", value: "external" },
      { name: "provider-id", value: NODE_PLACEHOLDERS.providerId },
      { name: "node-ip", value: NODE_PLACEHOLDERS.nodeIp },
    ]);
    // No taints key: kubeadm keeps the control-plane taint.
    expect(init.nodeRegistration.taints).toBeUndefined();
    expect(init.localAPIEndpoint).toEqual({ advertiseAddress: NODE_PLACEHOLDERS.nodeIp, bindPort: 6443 });
    expect(init.skipPhases).toBeUndefined();
  });

  it("the cluster configuration carries the spec's version, endpoint, networks and SANs", () => {
    const cc = byKind(render(spec, "init"), "ClusterConfiguration") as unknown as Record<string, unknown> & {
      networking: object;
      apiServer: { certSANs: string[] };
      controllerManager: { extraArgs: { name: string; value: string }[] };
    };
    onlyAllowed(cc, "ClusterConfiguration");
    expect(cc.kubernetesVersion).toBe(`v${spec.kubernetesVersion}`);
    expect(cc.controlPlaneEndpoint).toBe("api.kc.k8s.internal:6443");
    expect(cc.clusterName).toBe("kc");
    expect(cc.encryptionAlgorithm).toBe("RSA-2048");
    expect(cc.imageRepository).toBe(IMAGES);
    expect(cc.networking).toEqual({
      podSubnet: "10.244.0.0/16",
      serviceSubnet: "10.96.0.0/12",
      dnsDomain: "cluster.local",
    });
    expect(cc.apiServer.certSANs).toEqual(["api.kc.k8s.internal", "10.0.0.250"]);
    expect(cc.controllerManager.extraArgs).toContainEqual({ name: "cloud-provider", value: "external" });
  });

  it("the API server encrypts Secrets at rest, keeps a rotated audit log and admits anonymous requests to health endpoints only, by default", () => {
    const cc = byKind(render(spec, "init"), "ClusterConfiguration") as unknown as {
      apiServer: { extraArgs: { name: string; value: string }[]; extraVolumes: Record<string, unknown>[] };
    };
    expect(cc.apiServer.extraArgs).toEqual([
      { name: "profiling", value: "false" },
      { name: "encryption-provider-config", value: "/etc/kubernetes/enc/encryption-config.yaml" },
      { name: "audit-policy-file", value: "/etc/kubernetes/audit/policy.yaml" },
      { name: "audit-log-path", value: "/var/log/kubernetes/audit/audit.log" },
      { name: "audit-log-maxage", value: "30" },
      { name: "audit-log-maxbackup", value: "10" },
      { name: "audit-log-maxsize", value: "100" },
      { name: "authentication-config", value: "/etc/kubernetes/auth/authentication-config.yaml" },
    ]);
    for (const v of cc.apiServer.extraVolumes)
      expect(Object.keys(v).sort()).toEqual(["hostPath", "mountPath", "name", "pathType", "readOnly"]);
    expect(cc.apiServer.extraVolumes.map((v) => [v.name, v.readOnly])).toEqual([
      ["encryption-config", true],
      ["audit-policy", true],
      ["audit-log", false],
      ["authentication-config", true],
    ]);
    const off = specFor({
      clusterName: "kc3",
      apiServer: {
        encryptionAtRest: { enabled: false, reason: "etcd disks are encrypted by KMS" },
        audit: { enabled: false, reason: "audit shipped by a sidecar" },
        anonymousHealthOnly: { enabled: false, reason: "an external authenticating proxy" },
      },
    });
    const plain = byKind(render(off, "init"), "ClusterConfiguration") as unknown as {
      apiServer: { extraArgs: unknown[]; extraVolumes?: unknown };
    };
    expect(plain.apiServer.extraArgs).toEqual([{ name: "profiling", value: "false" }]);
    expect(plain.apiServer.extraVolumes).toBeUndefined();
  });

  it("the anonymous allow-list is the health endpoints and kubeadm's discovery ConfigMap, in the config API of the cluster's minor", () => {
    const doc = (minor: number) =>
      parse(renderAuthenticationConfig(minor)) as {
        apiVersion: string;
        kind: string;
        jwt: unknown[];
        anonymous: { enabled: boolean; conditions: { path: string }[] };
      };
    expect(doc(36)).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "AuthenticationConfiguration",
      jwt: [],
      anonymous: {
        enabled: true,
        conditions: [
          { path: "/livez" },
          { path: "/readyz" },
          { path: "/healthz" },
          { path: "/api/v1/namespaces/kube-public/configmaps/cluster-info" },
        ],
      },
    });
    expect(doc(34).apiVersion).toBe("apiserver.config.k8s.io/v1");
    expect(doc(33).apiVersion).toBe("apiserver.config.k8s.io/v1beta1");
  });

  it("the kubelet uses systemd cgroups, CA-signed serving certificates, and no read-only port", () => {
    const kc = byKind(render(spec, "init"), "KubeletConfiguration");
    expect(kc).toMatchObject({
      cgroupDriver: "systemd",
      serverTLSBootstrap: true,
      readOnlyPort: 0,
      authentication: { anonymous: { enabled: false } },
    });
  });

  it("a kube-proxy-free CNI skips kubeadm's kube-proxy phase and config", () => {
    const d = render(
      specFor({ clusterName: "kc2", kubernetesVersion: "1.35.2", cni: { name: "cilium" } }),
      "init",
    );
    expect(byKind(d, "InitConfiguration").skipPhases).toEqual(["addon/kube-proxy"]);
    expect(d.some((x) => x.kind === "KubeProxyConfiguration")).toBe(false);
  });

  it("a worker joins its pool: token discovery pinned to the CA hash, labels and exactly its taints", () => {
    const general = render(spec, "worker", 0);
    expect(general.map((x) => x.kind)).toEqual(["JoinConfiguration"]);
    const join = general[0] as unknown as {
      discovery: { bootstrapToken: object };
      nodeRegistration: { kubeletExtraArgs: { name: string; value: string }[]; taints: unknown[] };
      controlPlane?: unknown;
    };
    onlyAllowed(join, "JoinConfiguration");
    onlyAllowed(join.nodeRegistration, "NodeRegistrationOptions");
    expect(join.discovery.bootstrapToken).toEqual({
      token: NODE_PLACEHOLDERS.token,
      apiServerEndpoint: "api.kc.k8s.internal:6443",
      caCertHashes: [FACTS.discoveryHash],
    });
    expect(join.nodeRegistration.kubeletExtraArgs).toContainEqual({
      name: "node-labels",
      value: "example.com/tier=web,node.kubernetes.io/pool=general",
    });
    expect(join.nodeRegistration.kubeletExtraArgs).toContainEqual({
      name: "provider-id",
      value: NODE_PLACEHOLDERS.providerId,
    });
    // An empty list, not an absent key: workers get no control-plane taint.
    expect(join.nodeRegistration.taints).toEqual([]);
    expect(join.controlPlane).toBeUndefined();
    const gpu = render(spec, "worker", 1)[0] as unknown as {
      nodeRegistration: { taints: unknown[]; kubeletExtraArgs: { name: string }[] };
    };
    expect(gpu.nodeRegistration.taints).toEqual([
      { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
    ]);
    expect(gpu.nodeRegistration.kubeletExtraArgs.some((a) => a.name === "node-labels")).toBe(false);
  });

  it("a joining control plane advertises itself and takes no certificate key (CAs are pre-distributed)", () => {
    const d = render(spec, "control-plane");
    expect(d.map((x) => x.kind)).toEqual(["JoinConfiguration"]);
    const join = d[0] as unknown as {
      controlPlane: Record<string, unknown>;
      nodeRegistration: { taints?: unknown };
    };
    expect(join.controlPlane).toEqual({
      localAPIEndpoint: { advertiseAddress: NODE_PLACEHOLDERS.nodeIp, bindPort: 6443 },
    });
    expect(join.controlPlane.certificateKey).toBeUndefined();
    expect(join.nodeRegistration.taints).toBeUndefined();
  });

  it("refuses to render a worker without its pool", () => {
    expect(() =>
      renderKubeadmConfig({ spec, facts: FACTS, role: "worker", imageRepository: IMAGES }),
    ).toThrow(/needs its pool/);
  });
});
