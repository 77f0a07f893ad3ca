// A bootstrapped control plane in a sandbox, for the settings change's tests
// (test/control-plane-settings.test.ts, test/control-plane-kubelet.test.ts): the static pods,
// API certificate and kubelet configuration kubeadm made at init (the same stubbed kubeadm
// phases, test/harness/stubs.sh), and the exact Cloud Assistant command Pulumi sends run on it.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify as yaml } from "yaml";
import type { ClusterSpec } from "../../config/spec";
import { CERT_RENEWAL_PATHS, CONTROL_PLANE_LIB } from "../../plan/cert-renewal";
import { controlPlaneSettingsCommand } from "../../plan/control-plane-settings";
import { renderKubeadmConfig, type ClusterFacts } from "../../plan/kubeadm";
import { read, runScript, sandbox, type Run, type Sandbox } from "./harness";
import { specFor } from "../kit";

export const NODE = "cn-hangzhou.i-bp1stub0001";
export const NODE_IP = "10.0.255.116";
export const FACTS: ClusterFacts = {
  loadBalancerAddress: "10.0.0.250",
  discoveryHash: `sha256:${"ab".repeat(32)}`,
  encryptionAlgorithm: "RSA-2048",
};
export const ALL_READY = {
  STUB_CP_NODES: [NODE, "cn-hangzhou.i-bp1stub0002", "cn-hangzhou.i-bp1stub0003"]
    .map((n) => `${n}:True`)
    .join(","),
};

export const spec = (
  apiServer: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): ClusterSpec =>
  specFor({ clusterName: "cps", ...(Object.keys(apiServer).length ? { apiServer } : {}), ...extra });

/** A bootstrapped control plane at `version`: static pods and certificate kubeadm made from `deployed`. */
export function controlPlane(deployed: ClusterSpec, version: string, facts: ClusterFacts = FACTS): Sandbox {
  const file = (path: string, content: string, permissions = "0644") => ({ path, content, permissions });
  const box = sandbox(
    `#cloud-config\n${yaml({
      write_files: [
        file(CERT_RENEWAL_PATHS.lib, CONTROL_PLANE_LIB),
        file("/var/lib/kubeadm-alicloud/done", "fingerprint\n"),
        file("/var/lib/kubeadm-alicloud/node-name", `${NODE}\n`),
        file("/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n", "0600"),
        file(
          "/etc/kubernetes/manifests/etcd.yaml",
          "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n",
          "0600",
        ),
      ],
    })}`,
    "ubuntu-24.04",
  );
  // What `kubeadm init` did at boot, from the same kubeadm phases, with the deployed config.
  const init = renderKubeadmConfig({
    spec: deployed,
    facts,
    role: "init",
    imageRepository: deployed.nodeSoftware.imageRepository,
    initToken: { ttl: "24h", groups: ["system:bootstrappers:kubeadm:default-node-token"] },
  })
    .replaceAll("__NODE_IP__", NODE_IP)
    .replaceAll("__NODE_NAME__", NODE)
    .replace(/kubernetesVersion: .*/, `kubernetesVersion: ${version}`);
  const config = join(box.state, "..", "init.yaml");
  writeFileSync(config, init);
  const seed = join(box.state, "..", "seed.sh");
  writeFileSync(
    seed,
    `set -e\nmkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/pki"\nkubeadm init phase certs apiserver --config ${config}\nkubeadm init phase control-plane all --config ${config}\nkubeadm init phase upload-config kubelet --config ${config}\nkubeadm upgrade node phase kubelet-config\n`,
  );
  const r = runScript(box, seed, []);
  if (r.status !== 0) throw new Error(r.output);
  return box;
}

export function apply(box: Sandbox, next: ClusterSpec, env: Record<string, string> = {}, facts = FACTS): Run {
  const script = join(box.state, "..", "command.sh");
  writeFileSync(script, controlPlaneSettingsCommand(next, facts));
  return runScript(box, script, [], {
    ...ALL_READY,
    STUB_KUBEADM_CONFIG: "kubernetesVersion: v1.36.5\n",
    ...env,
  });
}

export const manifest = (box: Sandbox, c: string) => read(box, `etc/kubernetes/manifests/${c}.yaml`);
export const restarted = (run: Run) =>
  run.calls.filter((c) => c.startsWith("crictl-saw ")).map((c) => c.split(" ").slice(1).join(" "));
export const sans = (box: Sandbox) =>
  spawnSync(
    "openssl",
    ["x509", "-in", join(box.root, "etc/kubernetes/pki/apiserver.crt"), "-noout", "-ext", "subjectAltName"],
    {
      encoding: "utf8",
    },
  ).stdout;
export const clusterConfig = (box: Sandbox) => readFileSync(join(box.state, "kubeadm-config"), "utf8");
