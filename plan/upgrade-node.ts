// The Cloud Assistant command that upgrades one node in place (bootstrap/upgrade-node.sh):
// it first installs the current packages.sh and upgrade-node.sh beside the node's
// bootstrap libraries (a node bootstrapped by an earlier release has older ones), then
// runs the upgrade. Pure: nothing here calls Alibaba Cloud.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NODE_LIB } from "./node-paths";
import { renderFileInstaller } from "./node-commands";

const bootstrapFile = (name: string) => join(__dirname, "..", "bootstrap", name);
export const UPGRADE_NODE_SCRIPT_PATH = bootstrapFile("upgrade-node.sh");

/**
 * Cloud Assistant's Timeout for the upgrade: kubeadm's own 20 minutes
 * (KUBEADM_UPGRADE_SECONDS in the script) plus two package installs, each a repository
 * switch and an apt or dnf run with up to 5 tries (apt waits at most 10 minutes for the
 * dpkg lock).
 */
export const UPGRADE_NODE_COMMAND_SECONDS = 3600;

/**
 * The Kubernetes package repository of a minor, as bootstrap/packages.sh sets K8S_REPO
 * for each nodeSoftware.packageSource (test/upgrade-node.test.ts holds them equal).
 */
export function kubernetesRepository(source: "aliyun-mirror" | "upstream", minor: string): string {
  return source === "aliyun-mirror"
    ? `https://mirrors.aliyun.com/kubernetes-new/core/stable/v${minor}`
    : `https://pkgs.k8s.io/core:/stable:/v${minor}`;
}

export function upgradeNodeCommand(kind: "apply" | "node", target: string): string {
  if (!/^1\.\d+\.\d+$/.test(target)) throw new Error(`"${target}" is not an exact Kubernetes version`);
  const files = ["packages.sh", "upgrade-node.sh"].map((name) => ({
    path: `${NODE_LIB}/${name}`,
    content: readFileSync(bootstrapFile(name), "utf8"),
    permissions: name === "upgrade-node.sh" ? "0755" : "0644",
  }));
  return renderFileInstaller(
    `the upgrade to ${target}`,
    files,
    [`bash "$ROOT${NODE_LIB}/upgrade-node.sh" ${kind} ${target}`],
    `node upgraded to ${target}`,
  );
}
