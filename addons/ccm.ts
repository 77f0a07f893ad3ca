// Alibaba Cloud's cloud-controller-manager. Kubelets run with `cloud-provider: external`,
// so every node starts tainted `node.cloudprovider.kubernetes.io/uninitialized` until the
// CCM's node controller has matched it to its ECS instance (provider id
// `<region>.<instance-id>`), set its addresses and zone labels and removed the taint:
// without it, ordinary pods never schedule. Its service controller turns Services of
// type LoadBalancer into CLBs.
//
// There is no upstream chart: the objects follow kubernetes/cloud-provider-alibaba-cloud
// docs/examples/cloud-controller-manager.yml, updated to the v2 binary's flags (JSON
// cloud config, `--configure-cloud-routes`, `--health-probe-bind-addr`; RAM-role
// credentials from the metadata service with tokens, the v2 default). Version v2.14.0 is
// the upstream release of that name (its release notes give the image below).
import type { types } from "@pulumi/kubernetes";
import type { ClusterSpec } from "../config/spec";
import { parseKubernetesVersion } from "../config/versions";
import { INTRANET_POLICY_MIN_MINOR, intranetDefaultObjects } from "./intranet-default";
import type { AddonModule, ManifestObject } from "./types";
import { mergeValues } from "./values";

export const CCM_VERSION = "v2.14.0";
export const CCM_IMAGE = `registry-cn-hangzhou.ack.aliyuncs.com/acs/cloud-controller-manager:${CCM_VERSION}`;
const NAME = "cloud-controller-manager";
const NS = "kube-system";
const CONFIG_DIR = "/etc/kubernetes/config";

export const cloudControllerManager: AddonModule = {
  name: "cloudControllerManager",
  description:
    "Alibaba Cloud cloud-controller-manager: initializes nodes, serves LoadBalancer Services with CLB",
  // Images: the manifest names the ACK registry in Hangzhou (CCM_IMAGE).
  imageRegistries: () => [CCM_IMAGE.split("/")[0] as string],
  artifacts: [
    {
      kind: "manifest",
      name: "cloud-controller-manager",
      source: "registry-cn-hangzhou.ack.aliyuncs.com/acs/cloud-controller-manager",
      version: CCM_VERSION,
    },
  ],
  install(spec, facts, overrides) {
    const [zone] = spec.zones;
    const missing = spec.zones.filter((z) => facts.vswitchIds[z] === undefined);
    if (zone === undefined || missing.length > 0)
      throw new Error(
        `the cloud-controller-manager needs every zone's vSwitch (missing: ${missing.join(", ")})`,
      );
    // "zone1:vsw1,zone2:vsw2" (pkg/provider/alibaba/base/metadata.go VswitchIDs at
    // v2.14.0: an entry without its zone is skipped as malformed, and an intranet CLB then
    // finds no vSwitch); every zone's, so intranet CLBs spread (RandomVswitchID).
    const vswitchId = spec.zones.map((z) => `${z}:${facts.vswitchIds[z] ?? ""}`).join(",");
    // Routes stay off: every CNI here encapsulates pod traffic, so the VPC needs no pod routes.
    const settings = mergeValues(
      {
        image: CCM_IMAGE,
        controllers: "node,service",
        logLevel: 2,
        cloudConfig: {
          Global: {
            clusterID: spec.clusterName,
            region: spec.region,
            vpcid: facts.vpcId,
            zoneid: zone,
            vswitchid: vswitchId,
            // LoadBalancer Services get no internet CLB unless the stack allows them
            // (audit addons-cni 3.7). At v2.14.0 an unannotated Service defaults to an
            // internet CLB (pkg/controller/service/reconcile/annotation/annotations.go:137),
            // and with disablePublicSLB the service controller refuses a Service that is
            // unannotated or asks for internet, with the Warning event "create public
            // address slb is not allowed" (clbv1/service_controller.go:204-212). So a
            // Service must be intranet: from Kubernetes 1.36 the admission policy of
            // ./intranet-default.ts annotates new Services that do not choose; before 1.36
            // they must carry `alibaba-cloud-loadbalancer-address-type: intranet` themselves.
            disablePublicSLB: true,
          },
        },
      },
      overrides,
    );
    const labels = { app: NAME, tier: "control-plane" };
    // Typed with the Kubernetes API's own input types: a misspelt field does not compile.
    const serviceAccount: types.input.core.v1.ServiceAccount = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: NAME, namespace: NS },
    };
    const clusterRole: types.input.rbac.v1.ClusterRole = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: `system:${NAME}` },
      rules: [
        {
          apiGroups: [""],
          resources: ["nodes"],
          verbs: ["get", "list", "watch", "update", "patch", "delete"],
        },
        { apiGroups: [""], resources: ["nodes/status", "services/status"], verbs: ["patch", "update"] },
        {
          apiGroups: [""],
          resources: ["services", "endpoints"],
          verbs: ["get", "list", "watch", "update", "patch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "update"] },
        // The service controller resolves the Pod behind each backend from its cache and
        // patches the readiness gate of Pods that use it (clbv1/service_controller.go,
        // vgroups.go, helper/pod_utils.go at v2.14.0). No Secrets, ConfigMaps or
        // ServiceAccounts: only the ALB ingress controller reads them (git grep over pkg/
        // outside pkg/controller/ingress), and only node and service run here.
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
      ],
    };
    const binding: types.input.rbac.v1.ClusterRoleBinding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `system:${NAME}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `system:${NAME}` },
      subjects: [{ kind: "ServiceAccount", name: NAME, namespace: NS }],
    };
    const configMap: types.input.core.v1.ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cloud-config", namespace: NS },
      data: { "cloud-config.conf": JSON.stringify(settings.cloudConfig) },
    };
    const daemonSet: types.input.apps.v1.DaemonSet = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: NAME, namespace: NS, labels },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: "system-cluster-critical",
            // On the host network: it runs before any CNI is ready, and reaches the
            // metadata service for its role's credentials (pods cannot).
            hostNetwork: true,
            nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
            tolerations: [
              { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
              {
                key: "node.cloudprovider.kubernetes.io/uninitialized",
                operator: "Exists",
                effect: "NoSchedule",
              },
              { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" },
            ],
            containers: [
              {
                name: NAME,
                image: String(settings.image),
                command: [
                  "/cloud-controller-manager",
                  `--cloud-config=${CONFIG_DIR}/cloud-config.conf`,
                  `--controllers=${String(settings.controllers)}`,
                  "--configure-cloud-routes=false",
                  "--leader-elect=true",
                  "--health-probe-bind-addr=127.0.0.1:10258",
                  // Metrics (default :8080) and pprof (default :6060, unauthenticated) would
                  // listen on every host address: off (pkg/config/runtime_config.go v2.14.0,
                  // "It can be set to '' or 0 to disable the pprof serving";
                  // deploy/v2/cloud-controller-manager.yaml passes --metrics-bind-addr=0).
                  "--metrics-bind-addr=0",
                  "--pprof-bind-addr=0",
                  `--v=${String(settings.logLevel)}`,
                ],
                livenessProbe: {
                  httpGet: { host: "127.0.0.1", port: 10258, path: "/healthz" },
                  initialDelaySeconds: 15,
                  timeoutSeconds: 15,
                  failureThreshold: 8,
                },
                resources: { requests: { cpu: "100m", memory: "200Mi" } },
                // As upstream's deploy/v2/cloud-controller-manager.yaml:166-170.
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  runAsUser: 1200,
                },
                volumeMounts: [{ name: "cloud-config", mountPath: CONFIG_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: "cloud-config", configMap: { name: "cloud-config" } }],
          },
        },
      },
    };
    const minor = parseKubernetesVersion(spec.kubernetesVersion)?.minor ?? 0;
    const objects = [
      ...([serviceAccount, clusterRole, binding, configMap, daemonSet] as ManifestObject[]),
      ...intranetDefaultObjects(minor),
    ];
    return {
      namespace: NS,
      charts: [],
      manifest: {
        source:
          "kubernetes/cloud-provider-alibaba-cloud docs/examples/cloud-controller-manager.yml (v2 flags)",
        version: CCM_VERSION,
        objects,
      },
      ram: {
        scope: "control-plane",
        // Exactly the calls node and the CLB service controller make at v2.14.0 (recorded,
        // with call sites, in test/ccm-ram.test.ts): DescribeInstances (node/manager.go,
        // node_controller.go: ListInstances, GetInstancesByIP) and DescribeNetworkInterfaces
        // (node_controller.go:502, on each new node, fatal to its reconcile if refused);
        // their RAM tables name no resource. Not granted, conditional: the source/dest
        // check switch-off (ecs:ModifyNetworkInterfaceAttribute, node_controller.go:521,
        // only for an ENI with the check on, which this project never sets, and a refusal is
        // only a Warning event) and EIP lookups (vpc:DescribeEipAddresses, only with the
        // external-ip-type: eip annotation). Security groups, vSwitches and route tables
        // are read only by NLB, ALB and the route controller, none of which runs here.
        statements: [
          {
            Effect: "Allow",
            Action: ["ecs:DescribeInstances", "ecs:DescribeNetworkInterfaces"],
            Resource: ["*"],
          },
          // Writes held to the cluster's region. SLB authorizes per load balancer
          // (acs:slb:{#regionId}:{#accountId}:loadbalancer/{#LoadBalancerId}, SLB RAM
          // authorization), and AddBackendServers on the backend instances as well, so
          // the region's ECS instances are named too. Reads above stay account-wide:
          // their RAM tables name no resource.
          {
            Effect: "Allow",
            Action: ["slb:*"],
            Resource: [`acs:slb:${spec.region}:*:*`, `acs:ecs:${spec.region}:*:instance/*`],
          },
        ],
      },
    };
  },
};

/** One line for the render summary: which CLBs LoadBalancer Services get. */
export function loadBalancerExposure(spec: Pick<ClusterSpec, "addons" | "kubernetesVersion">): string {
  const minor = parseKubernetesVersion(spec.kubernetesVersion)?.minor ?? 0;
  const unannotated =
    minor >= INTRANET_POLICY_MIN_MINOR
      ? "Services that do not choose are made intranet (admission policy)"
      : `Services must set the intranet address-type annotation (no admission policy before 1.${INTRANET_POLICY_MIN_MINOR})`;
  return internetLoadBalancersAllowed(spec)
    ? // Layer-4 CLB listeners hand backends the client's own address (Alibaba Cloud CLB doc
      // "Obtaining client IP addresses through a CLB Layer 4 listener"), and the node security
      // groups admit NodePorts only from the VPC and its peers (plan/security-rules.ts).
      `internet CLBs for Services that ask (disablePublicSLB: false), reachable only by clients the node security groups admit (NodePorts: VPC and peers); ${unannotated}`
    : `intranet only: the CCM refuses internet CLBs (disablePublicSLB); ${unannotated}`;
}

/** Whether the CCM may create internet-facing CLBs (the stack set disablePublicSLB: false). */
export function internetLoadBalancersAllowed(spec: Pick<ClusterSpec, "addons">): boolean {
  const values = spec.addons.cloudControllerManager.values as
    { cloudConfig?: { Global?: { disablePublicSLB?: unknown } } } | undefined;
  return values?.cloudConfig?.Global?.disablePublicSLB === false;
}
