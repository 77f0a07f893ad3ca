// nodes/<name>/user-data.yaml (the decoded cloud-init document of every control plane
// and pool), kubeadm/<name>.yaml (its JoinConfiguration) and, for the first control
// plane, kubeadm/<name>-init.yaml (what it runs while no cluster exists). User data holds no
// secret; the CA certificates in it and the discovery hash change with every emulated
// CA, so they are named instead of printed unless materialized.
import { parse, stringify } from "yaml";
import { NODE_PATHS, fileText, type WriteFile } from "../../plan/node-bootstrap";
import type { RecordedResource } from "./mock-runtime";

const INSTANCE = "alicloud:ecs/instance:Instance";
const TEMPLATE = "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate";
export const PKI_FILE_PLACEHOLDER =
  "[public cluster PKI file (CA certificate or sa.pub): made by Pulumi at deploy time]";
const HASH_RE = /sha256:[0-9a-f]{64}/g;
const HASH_PLACEHOLDER = "sha256:[discovery hash of the cluster CA]";

/** Every node document by bundle name: "cp-0", "pool-general", … */
export function nodeFiles(
  clusterName: string,
  resources: readonly RecordedResource[],
  materialize: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of resources) {
    if (r.type !== INSTANCE && r.type !== TEMPLATE) continue;
    const raw = r.inputs.userData;
    if (typeof raw !== "string") continue;
    const text = r.type === TEMPLATE ? Buffer.from(raw, "base64").toString("utf8") : raw;
    const doc = parse(text) as { write_files: WriteFile[]; runcmd: unknown };
    // Shown decoded for review; on the wire compressed files travel as gz+b64.
    const files = doc.write_files.map(({ encoding: _wire, ...f }) => {
      const text = fileText({ ...f, ...(_wire ? { encoding: _wire } : {}) });
      if (materialize) return { ...f, content: text };
      const pki = f.path.startsWith(`${NODE_PATHS.secrets}/pki/`);
      return { ...f, content: pki ? PKI_FILE_PLACEHOLDER : text.replace(HASH_RE, HASH_PLACEHOLDER) };
    });
    const name = r.name.startsWith(`${clusterName}-`) ? r.name.slice(clusterName.length + 1) : r.name;
    out[`nodes/${name}/user-data.yaml`] =
      `#cloud-config\n${stringify({ ...doc, write_files: files }, { lineWidth: 0 })}`;
    for (const [path, suffix] of [
      [NODE_PATHS.kubeadmJoin, ""],
      [NODE_PATHS.kubeadmInit, "-init"],
    ] as const) {
      const kubeadm = files.find((f) => f.path === path);
      if (kubeadm) out[`kubeadm/${name}${suffix}.yaml`] = kubeadm.content;
    }
  }
  return out;
}
