// The kubelets' configuration in the control planes' settings change: kubeadm's documented way
// (kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure.md,
// "Applying kubelet configuration changes": kube-system/kubelet-config, then `kubeadm upgrade
// node phase kubelet-config` and a kubelet restart on each node, one at a time). The ConfigMap
// is written by `kubeadm init phase upload-config kubelet` (cmd/kubeadm/app/phases/kubelet/
// config.go CreateConfigMap: create or update, defaulted as at init), never by hand. Run with
// real bash in the sandbox of test/harness/settings-box.ts; the stubbed kubeadm moves the
// KubeletConfiguration document as the two phases do (and adds one field kubeadm defaults), and
// the kubelet's health endpoint answers from its config.yaml. What the stubs do not show: the
// kubelet's own defaulting and restart, kubeadm's CRI-socket annotation.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { SETTINGS_PATHS, renderControlPlaneSettings } from "../plan/control-plane-settings";
import { kubeletConfiguration } from "../plan/kubeadm";
import { read } from "./harness/harness";
import { FACTS, apply, controlPlane, spec } from "./harness/settings-box";

const CONFIG = "var/lib/kubelet/config.yaml";
/** What an older release's kubelets ran with: the read-only port open, no serving-certificate CSRs. */
const OLD = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n";
const ours = () => `${stringify(kubeletConfiguration())}staticPodPath: /etc/kubernetes/manifests\n`;

/** A control plane whose kubelet, and the cluster's kubelet-config, still hold OLD. */
function outdated() {
  const box = controlPlane(spec(), "v1.36.5");
  writeFileSync(join(box.root, CONFIG), OLD);
  writeFileSync(join(box.state, "kubelet-config"), OLD);
  return box;
}

const step = (c: string) =>
  c.startsWith("kubeadm init phase upload-config")
    ? "upload"
    : c === "kubeadm upgrade node phase kubelet-config"
      ? "download"
      : c === "systemctl restart kubelet"
        ? "restart"
        : c.includes("delete lease")
          ? "release"
          : "";

describe("the kubelets' configuration on a running control plane", () => {
  it("unchanged: uploaded and downloaded by kubeadm, the kubelet not restarted", () => {
    const box = controlPlane(spec(), "v1.36.5");
    const run = apply(box, spec());
    expect(run.status, run.output).toBe(0);
    expect(run.calls.map(step).filter(Boolean)).toEqual(["upload", "download", "release"]);
    expect(read(box, CONFIG)).toBe(ours());
  });

  it("changed: the cluster's copy replaced through kubeadm, this node's written, the kubelet restarted and healthy, under the Lease", () => {
    const box = outdated();
    const run = apply(box, spec());
    expect(run.status, run.output).toBe(0);
    expect(run.calls.map(step).filter(Boolean)).toEqual(["upload", "download", "restart", "release"]);
    expect(readFileSync(join(box.state, "kubelet-config"), "utf8")).toBe(ours());
    expect(read(box, CONFIG)).toBe(ours());
    expect(run.output).toContain("kubelet runs with the new configuration and is healthy");
    // The health checks: the kubelet's own endpoint, then this Node Ready.
    expect(run.calls.some((c) => c.includes("http://127.0.0.1:10248/healthz"))).toBe(true);
    expect(read(box, SETTINGS_PATHS.applied.slice(1)).trim()).toBe(
      renderControlPlaneSettings(spec(), FACTS).digest,
    );
  });

  it("a kubelet that is not healthy with the new configuration gets its previous one back and the run fails; the next run tries again", () => {
    const box = outdated();
    const run = apply(box, spec(), { STUB_KUBELET_UNHEALTHY_MATCH: "serverTLSBootstrap" });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("the kubelet did not take the new configuration");
    expect(run.output).toContain("serverTLSBootstrap: true");
    expect(read(box, CONFIG)).toBe(OLD);
    expect(run.calls.filter((c) => c === "systemctl restart kubelet")).toHaveLength(2);
    // Not recorded as applied: a rerun does it again.
    expect(() => read(box, SETTINGS_PATHS.applied.slice(1))).toThrow();
    const again = apply(box, spec());
    expect(again.status, again.output).toBe(0);
    expect(read(box, CONFIG)).toBe(ours());
  });

  it("a failed download leaves this node's configuration as it was", () => {
    const box = outdated();
    const run = apply(box, spec(), { STUB_FAIL_MATCH: "upgrade node phase kubelet-config" });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("kubeadm upgrade node phase kubelet-config failed");
    expect(read(box, CONFIG)).toBe(OLD);
    expect(run.calls).not.toContain("systemctl restart kubelet");
  });
});
