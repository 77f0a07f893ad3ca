// wait-ready.sh's last step with the REAL kubectl against test/harness/fake-kube.py: a
// control plane drained before its restart (components/control-plane-drain.ts) is put back
// into scheduling once it serves again, and only one drain.sh recorded as drained.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { haveKubectl, kubeconfig, startFake, stopFakes } from "./harness/kube";

afterEach(stopFakes);
const NODE = "cn-hangzhou.i-cp1";
const WAIT_READY = join(__dirname, "..", "bootstrap", "wait-ready.sh");

async function afterRestart(annotations: Record<string, string>) {
  const fake = await startFake({
    nodes: [{ name: NODE, unschedulable: true, annotations }],
    pods: [],
    daemonsets: [],
    pdbs: [],
  });
  const root = join(fake.dir, "root");
  mkdirSync(join(root, "var/lib/kubeadm-alicloud"), { recursive: true });
  mkdirSync(join(root, "var/log/kubeadm-alicloud"), { recursive: true });
  mkdirSync(join(root, "etc/kubernetes"), { recursive: true });
  writeFileSync(join(root, "var/lib/kubeadm-alicloud/status"), "ok\n");
  writeFileSync(join(root, "var/lib/kubeadm-alicloud/node-name"), `${NODE}\n`);
  copyFileSync(kubeconfig(fake.dir, fake.url), join(root, "etc/kubernetes/admin.conf"));
  const r = spawnSync("bash", [WAIT_READY, "30"], {
    encoding: "utf8",
    env: { ...process.env, KUBEADM_ALICLOUD_ROOT: root },
  });
  const node = fake.state().nodes[0];
  return { status: r.status, output: `${r.stdout}${r.stderr}`, node };
}

describe.skipIf(!haveKubectl)(
  "wait-ready.sh after a drained control plane's restart, with the real kubectl",
  () => {
    it("uncordons a node drain.sh recorded as drained, and drops the record", async () => {
      const r = await afterRestart({ "kubeadm-alicloud.io/drained": "true" });
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain(`kubeadm-alicloud: ${NODE} uncordoned after its drain`);
      expect(r.node?.unschedulable).toBe(false);
      expect(r.node?.annotations ?? {}).toEqual({});
    });

    it("leaves a node cordoned by hand cordoned", async () => {
      const r = await afterRestart({});
      expect(r.status, r.output).toBe(0);
      expect(r.output).not.toContain("uncordoned");
      expect(r.node?.unschedulable).toBe(true);
    });
  },
);
