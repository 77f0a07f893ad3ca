// The CNI installation: one Kubernetes provider that waits for the control plane, and
// each CNI's pinned charts, namespace and values. Charts are remote components: Pulumi's
// mocks never render them, so values are checked here against what each chart declares.
import Ajv from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { compatibility } from "../addons/catalog";
import { chartSchema, undeclared } from "./chart-schema";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const CHART = "kubernetes:helm.sh/v4:Chart";
/** The CNI's charts (add-ons install charts too). */
const charts = (rs: RecordedResource[]) => rs.filter((r) => r.type === CHART && r.name.includes("-cni-"));
const providerUrn = (rs: RecordedResource[]) =>
  rs.find((r) => r.type === "pulumi:providers:kubernetes" && r.name.endsWith("-kubernetes"))?.urn;

describe("Kubernetes provider", () => {
  it("is built from the admin kubeconfig (a secret) against the load balancer, after every readiness check", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "kp" }));
    const provider = rs.find(
      (r) => r.type === "pulumi:providers:kubernetes" && r.name === "kp-kubernetes",
    ) as RecordedResource;
    expect(provider.secretPaths).toContain("kubeconfig");
    expect(String(provider.inputs.kubeconfig)).toMatch(/server: https:\/\/192\.0\.2\.\d+:6443/);
    const checks = rs
      .filter(
        (r) =>
          r.type === "pulumi-nodejs:dynamic/kubeadm-alicloud:ReadinessCheck" && r.name.endsWith("-ready"),
      )
      .map((r) => r.urn);
    expect(checks.length).toBe(1);
    for (const c of checks) expect(provider.dependsOn).toContain(c);
    // Every in-cluster resource goes through it, never an ambient kubeconfig; the join
    // tokens' Secrets through their own provider, with the same kubeconfig and waits.
    const tokens = rs.find(
      (r) => r.type === "pulumi:providers:kubernetes" && r.name === "kp-bootstrap-tokens",
    ) as RecordedResource;
    expect(tokens.inputs.kubeconfig).toBe(provider.inputs.kubeconfig);
    expect([...tokens.dependsOn].sort()).toEqual([...provider.dependsOn].sort());
    const inCluster = rs.filter((r) => r.type.startsWith("kubernetes:"));
    expect(inCluster.length).toBeGreaterThan(0);
    for (const r of inCluster) {
      const via =
        r.type === "kubernetes:core/v1:Secret" && r.name.startsWith("kp-token-") ? tokens : provider;
      expect(r.provider.startsWith(`${via.urn}::`), `${r.type} ${r.name}`).toBe(true);
    }
  });
});

describe("CNI charts", () => {
  it("Calico (default): CRDs chart, then the operator with a VXLAN pool on the pod CIDR, in a privileged namespace", async () => {
    const rs = await declareCluster(
      recorder,
      specFor({ clusterName: "cc", network: { podCidr: "10.200.0.0/16" } }),
    );
    const ns = rs.find((r) => r.type === "kubernetes:core/v1:Namespace");
    expect(ns?.inputs.metadata).toEqual({
      name: "tigera-operator",
      labels: { "pod-security.kubernetes.io/enforce": "privileged" },
    });
    const [crds, operator] = ["cc-cni-calico-crds", "cc-cni-calico"].map(
      (n) => charts(rs).find((c) => c.name === n) as RecordedResource,
    );
    expect(crds?.inputs).toMatchObject({
      chart: "crd.projectcalico.org.v1",
      version: "v3.32.1",
      repositoryOpts: { repo: "https://docs.tigera.io/calico/charts" },
    });
    expect(operator?.inputs).toMatchObject({
      chart: "tigera-operator",
      version: "v3.32.1",
      namespace: "tigera-operator",
    });
    expect(operator?.dependsOn).toEqual([crds?.urn]);
    expect(crds?.dependsOn).toEqual([ns?.urn]);
    expect(operator?.inputs.values).toEqual({
      installation: {
        kubernetesProvider: "",
        calicoNetwork: {
          bgp: "Disabled",
          ipPools: [
            {
              cidr: "10.200.0.0/16",
              encapsulation: "VXLAN",
              natOutgoing: "Enabled",
              blockSize: 26,
              nodeSelector: "all()",
            },
          ],
        },
      },
    });
    const ipip = await declareCluster(
      recorder,
      specFor({ clusterName: "cc2", cni: { name: "calico", encapsulation: "IPIP" } }),
    );
    const values = charts(ipip).find((c) => c.name === "cc2-cni-calico")?.inputs.values as {
      installation: { calicoNetwork: { bgp: string; ipPools: { encapsulation: string }[] } };
    };
    expect(values.installation.calicoNetwork.bgp).toBe("Enabled");
    expect(values.installation.calicoNetwork.ipPools[0]?.encapsulation).toBe("IPIP");
  });

  it("Flannel: its chart with podCidr equal to kubeadm's podSubnet", async () => {
    const rs = await declareCluster(recorder, specFor({ clusterName: "cf", cni: { name: "flannel" } }));
    const [flannel] = charts(rs);
    expect(charts(rs)).toHaveLength(1);
    expect(flannel?.inputs).toMatchObject({
      chart: "flannel",
      version: "v0.28.9",
      namespace: "kube-flannel",
      repositoryOpts: { repo: "https://flannel-io.github.io/flannel/" },
    });
    expect(flannel?.inputs.values).toEqual({ podCidr: "10.244.0.0/16", flannel: { backend: "vxlan" } });
    expect(providerUrn(rs)).toBeDefined();
  });

  it("Cilium: kube-proxy-free through the endpoint name, cluster-pool IPAM on the pod CIDR, values valid for the chart's schema", async () => {
    const rs = await declareCluster(
      recorder,
      specFor({ clusterName: "ci", kubernetesVersion: "1.35.2", cni: { name: "cilium", wireguard: true } }),
    );
    const [cilium] = charts(rs);
    expect(cilium?.inputs).toMatchObject({
      chart: "cilium",
      version: "1.19.6",
      namespace: "kube-system",
      repositoryOpts: { repo: "https://helm.cilium.io/" },
    });
    expect(rs.some((r) => r.type === "kubernetes:core/v1:Namespace")).toBe(false);
    const values = cilium?.inputs.values as Record<string, unknown>;
    expect(values).toMatchObject({
      kubeProxyReplacement: true,
      k8sServiceHost: "api.ci.k8s.internal",
      k8sServicePort: 6443,
      ipam: {
        mode: "cluster-pool",
        operator: { clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"], clusterPoolIPv4MaskSize: 24 },
      },
      encryption: { enabled: true, type: "wireguard" },
    });
    const schema = chartSchema("cilium");
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    expect(undeclared(values, schema)).toEqual([]);
  });

  it("the catalog refuses a CNI outside its supported range before anything is declared, and names what is unknown", () => {
    const at = (version: string, cni: string) =>
      compatibility(specFor({ clusterName: "cat", kubernetesVersion: version, cni: { name: cni } }));
    expect(at("1.34.2", "cilium").problems).toEqual([]);
    expect(at("1.35.2", "cilium").unknown).not.toContain(
      "cilium 1.19.6: no supported Kubernetes range recorded",
    );
    expect(() => specFor({ kubernetesVersion: "1.36.5", cni: { name: "cilium" } })).toThrow(
      "kubeadm-alicloud:cni.name: cilium 1.19.6 supports Kubernetes 1.32-1.35 (Cilium 1.19 compatibility.rst (e2e tested)), not 1.36: set kubernetesVersion to a release in that range, or change cni.name",
    );
    expect(at("1.36.5", "flannel").unknown).toContain(
      "flannel v0.28.9: no supported Kubernetes range recorded (Flannel publishes no Kubernetes support matrix)",
    );
    // Calico 3.32 is tested on 1.34 to 1.36: the default CNI refuses 1.37 and 1.33.
    expect(() => specFor({ kubernetesVersion: "1.33.0" })).toThrow(
      /kubeadm-alicloud:cni\.name: tigera-operator v3\.32\.1 supports Kubernetes 1\.34-1\.36/,
    );
  });

  it("the undeclared-key check catches a misspelt Cilium value", () => {
    const schema = chartSchema("cilium");
    expect(undeclared({ kubeProxyReplacment: true, ipam: { mod: "x" } }, schema)).toEqual([
      ".kubeProxyReplacment",
      ".ipam.mod",
    ]);
  });
});

describe("pods and the metadata service", () => {
  const CR = "kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy";

  it("Cilium also gets a cluster-wide deny to 100.100.100.200 (eBPF host routing skips the node's netfilter rule), after its chart", async () => {
    const rs = await declareCluster(
      recorder,
      specFor({ clusterName: "mg", kubernetesVersion: "1.35.2", cni: { name: "cilium" } }),
    );
    const policy = rs.find((r) => r.type === CR) as RecordedResource;
    expect(policy.inputs.metadata).toEqual({ name: "kubeadm-alicloud-metadata-guard" });
    expect(policy.inputs.spec).toMatchObject({
      // Every pod endpoint; host-network pods belong to the host endpoint, which this does not select.
      endpointSelector: {},
      // A deny-only policy must not switch pods into default-deny.
      enableDefaultDeny: { egress: false, ingress: false },
      egressDeny: [{ toCIDR: ["100.100.100.200/32"] }],
    });
    expect(policy.provider.startsWith(`${providerUrn(rs)}::`)).toBe(true);
    expect(policy.dependsOn).toEqual([charts(rs).find((c) => c.name === "mg-cni-cilium")?.urn]);
  });

  it.each(["flannel", "calico"])(
    "%s relies on the node rule alone: no extra in-cluster object",
    async (name) => {
      const rs = await declareCluster(recorder, specFor({ clusterName: "mg", cni: { name } }));
      expect(
        rs.filter((r) => r.type.startsWith("kubernetes:cilium.io") || r.type.includes("NetworkPolicy")),
      ).toEqual([]);
    },
  );
});
