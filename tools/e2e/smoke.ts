// The end-to-end run's smoke test, as one manifest: a Deployment behind a LoadBalancer
// Service (an intranet CLB: the CCM runs with disablePublicSLB, README "LoadBalancer
// Services are intranet only"), reached from a client pod inside the VPC, and a
// PersistentVolumeClaim of the default StorageClass (alicloud-disk-encrypted,
// WaitForFirstConsumer: addons/csi-disk.ts) mounted by a pod so that it binds.
import { stringify } from "yaml";

// The e2e image Kubernetes' own tests use (registry.k8s.io/e2e-test-images, kubernetes/
// kubernetes test/utils/image/manifest.go); 2.42 is test/images/agnhost/VERSION at
// kubernetes/kubernetes 00053643. Serves HTTP with `netexec --http-port`, connects with
// `connect <host>:<port>`, idles with `pause` (test/images/agnhost/README.md).
const AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.42";

export const SMOKE = {
  namespace: "kubeadm-alicloud-e2e",
  service: "web",
  claim: "data",
  client: "client",
  image: AGNHOST,
} as const;

export function smokeManifest(): string {
  const ns = SMOKE.namespace;
  const labels = { app: "web" };
  const docs = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "web",
                image: AGNHOST,
                args: ["netexec", "--http-port=8080"],
                ports: [{ containerPort: 8080 }],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: SMOKE.service,
        namespace: ns,
        annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" },
      },
      spec: { type: "LoadBalancer", selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: SMOKE.claim, namespace: ns },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "writer", namespace: ns },
      spec: {
        containers: [
          {
            name: "writer",
            image: AGNHOST,
            args: ["pause"],
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
        ],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: SMOKE.claim } }],
      },
    },
  ];
  return docs.map((d) => stringify(d)).join("---\n");
}
