// A settings change on a running control plane: the exact Cloud Assistant command Pulumi sends
// (plan/control-plane-settings.ts) run with real bash in a sandbox holding what a bootstrapped
// control plane has, with stubbed kubeadm, kubectl, crictl and curl (test/harness/stubs.sh: the
// kubeadm phases write manifests and sign the API certificate with the real openssl from the
// config they are given; crictl restarts a static pod whose manifest changed) and the real
// openssl reading the certificate. What the stubs do not show: kubeadm's own manifests (only
// their flags, image and address), the kubelet's restart timing, a real API server taking the
// flags. Upstream: kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/
// kubeadm-reconfigure.md (the ConfigMap, then `kubeadm init phase control-plane` and `certs
// apiserver` per control plane).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { LEASE_STALE_SECONDS } from "../plan/cert-renewal";
import {
  RECONFIGURE_SCRIPT_PATH,
  RECONFIGURE_COMMAND_SECONDS,
  RECONFIGURE_SECONDS,
  SETTINGS_PATHS,
  STATIC_POD_WAIT_SECONDS,
  VERSION_PLACEHOLDER,
  controlPlaneSettingsCommand,
  renderControlPlaneSettings,
  renderReconfigureEnv,
} from "../plan/control-plane-settings";
import { AUDIT_POLICY_FILE, AUTH_CONFIG_FILE, renderAuditPolicy } from "../plan/hardening";
import { renderKubeadmConfig } from "../plan/kubeadm";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import { exists, read } from "./harness/harness";
import {
  FACTS,
  NODE,
  NODE_IP,
  apply,
  clusterConfig,
  controlPlane,
  manifest,
  restarted,
  sans,
  spec,
} from "./harness/settings-box";

describe("a control plane's settings change, in a sandbox", () => {
  it("unchanged settings restart nothing; the cluster's copy becomes ours at its own version; a rerun does nothing", () => {
    const s = spec();
    const box = controlPlane(s, "v1.36.5");
    const before = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((c) =>
      manifest(box, c),
    );
    const run = apply(box, s);
    expect(run.status, run.output).toBe(0);
    expect(restarted(run)).toEqual([]);
    expect(
      ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((c) => manifest(box, c)),
    ).toEqual(before);
    const ours = renderControlPlaneSettings(s, FACTS).files.find(
      (f) => f.path === SETTINGS_PATHS.clusterConfiguration,
    );
    expect(clusterConfig(box)).toBe(ours?.content.replace(VERSION_PLACEHOLDER, "v1.36.5"));
    expect(read(box, SETTINGS_PATHS.applied.slice(1)).trim()).toBe(
      renderControlPlaneSettings(s, FACTS).digest,
    );
    const again = apply(box, s);
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("nothing to do");
    expect(again.calls.filter((c) => c.startsWith("kubectl") || c.startsWith("kubeadm"))).toEqual([]);
  });

  it("a new audit setting restarts the API server alone, under the Lease, at the version it runs; kubeadm-config keeps its own", () => {
    const deployed = spec({ audit: { enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMb: 100 } });
    const next = spec({ audit: { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 } });
    // A rollout under way: kubeadm-config already says 1.36.5, this node still runs 1.35.2.
    const box = controlPlane(deployed, "v1.35.2");
    const run = apply(box, next);
    expect(run.status, run.output).toBe(0);
    expect(restarted(run)).toEqual(["kube-apiserver restarted"]);
    expect(manifest(box, "kube-apiserver")).toContain("--audit-log-maxage=7");
    expect(manifest(box, "kube-apiserver")).toContain("kube-apiserver:v1.35.2");
    expect(clusterConfig(box)).toContain("kubernetesVersion: v1.36.5");
    expect(clusterConfig(box)).toMatch(/name: audit-log-maxage\n\s+value: "7"/);
    // The Lease was taken before the first change and given back; the other control planes were checked.
    const order = run.calls
      .map((c) =>
        c.includes("create -f -")
          ? "lease"
          : c.includes("get nodes -l")
            ? "others"
            : c.startsWith("kubeadm init phase")
              ? c.split(" ").slice(3, 5).join(" ")
              : c.includes("patch configmap kubeadm-config")
                ? "kubeadm-config"
                : c.includes("delete lease")
                  ? "release"
                  : "",
      )
      .filter(Boolean);
    expect(order).toEqual([
      "lease",
      "others",
      "kubeadm-config",
      "control-plane all",
      "upload-config kubelet",
      "release",
    ]);
    expect(existsSync(join(box.state, "lease"))).toBe(false);
  });

  it("a public endpoint's address missing from the API certificate: a new one is signed and the API server restarted", () => {
    const s = spec();
    const box = controlPlane(s, "v1.36.5");
    expect(sans(box)).not.toContain("203.0.113.9");
    const run = apply(box, s, {}, { ...FACTS, publicLoadBalancerAddress: "203.0.113.9" });
    expect(run.status, run.output).toBe(0);
    // The real openssl reads the new certificate: the new address, and the names it had.
    expect(sans(box)).toContain("IP Address:203.0.113.9");
    expect(sans(box)).toContain(`DNS:${s.apiEndpoint.dnsName}`);
    expect(sans(box)).toContain(`IP Address:${NODE_IP}`);
    expect(run.calls.filter((c) => c.startsWith("kubeadm init phase certs apiserver"))).toHaveLength(1);
    // The manifest is the same: the API server is restarted to serve the new certificate.
    expect(restarted(run)).toEqual(["kube-apiserver stopped", "kube-apiserver started"]);
    // Named already: a rerun with new settings signs nothing.
    const again = apply(
      box,
      spec({ audit: { enabled: true, maxAgeDays: 9, maxBackups: 10, maxSizeMb: 100 } }),
      {},
      {
        ...FACTS,
        publicLoadBalancerAddress: "203.0.113.9",
      },
    );
    expect(again.status, again.output).toBe(0);
    expect(again.calls.filter((c) => c.startsWith("kubeadm init phase certs"))).toEqual([]);
  });

  it("turning the audit log on writes its policy before the manifest names it", () => {
    const box = controlPlane(
      spec({ audit: { enabled: false, reason: "a test of the settings" } }),
      "v1.36.5",
    );
    expect(exists(box, AUDIT_POLICY_FILE.slice(1))).toBe(false);
    const run = apply(
      box,
      spec({ audit: { enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMb: 100 } }),
    );
    expect(run.status, run.output).toBe(0);
    expect(read(box, AUDIT_POLICY_FILE.slice(1))).toBe(renderAuditPolicy());
    expect(manifest(box, "kube-apiserver")).toContain(`--audit-policy-file=${AUDIT_POLICY_FILE}`);
    const log = run.output;
    expect(log.indexOf(`wrote ${box.root}${AUDIT_POLICY_FILE}`)).toBeGreaterThan(-1);
    expect(log.indexOf(`wrote ${box.root}${AUDIT_POLICY_FILE}`)).toBeLessThan(
      log.indexOf("kube-apiserver: new manifest"),
    );
  });

  it("the anonymous-access file in the form the node's API server reads: v1beta1 before 1.34, v1 after", () => {
    const off = spec({ anonymousHealthOnly: { enabled: false, reason: "a test of the settings" } });
    const on = spec();
    for (const [version, form] of [
      ["v1.33.7", "apiserver.config.k8s.io/v1beta1"],
      ["v1.36.5", "apiserver.config.k8s.io/v1"],
    ] as const) {
      const box = controlPlane(off, version);
      const run = apply(box, on);
      expect(run.status, run.output).toBe(0);
      expect(read(box, AUTH_CONFIG_FILE.slice(1))).toContain(`apiVersion: ${form}\n`);
      expect(manifest(box, "kube-apiserver")).toContain(`--authentication-config=${AUTH_CONFIG_FILE}`);
    }
  });

  it("refuses while another control plane holds the Lease, or while no other control plane is Ready, changing nothing", () => {
    const deployed = spec();
    const next = spec({ audit: { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 } });
    const held = controlPlane(deployed, "v1.36.5");
    const before = manifest(held, "kube-apiserver");
    const busy = apply(held, next, {
      STUB_LEASE_HOLDER: "cn-hangzhou.i-bp1stub0002",
    });
    expect(busy.status).not.toBe(0);
    expect(busy.output).toContain(
      "another control plane is being changed (lease kube-system/kubeadm-alicloud-cert-renewal held by cn-hangzhou.i-bp1stub0002",
    );
    expect(manifest(held, "kube-apiserver")).toBe(before);
    expect(exists(held, SETTINGS_PATHS.applied.slice(1))).toBe(false);

    const down = controlPlane(deployed, "v1.36.5");
    const noneReady = apply(down, next, {
      STUB_CP_NODES: `${NODE}:True,cn-hangzhou.i-bp1stub0002:False,cn-hangzhou.i-bp1stub0003:False`,
    });
    expect(noneReady.status).not.toBe(0);
    expect(noneReady.output).toContain(
      "no other control plane is Ready (cn-hangzhou.i-bp1stub0002 cn-hangzhou.i-bp1stub0003)",
    );
    expect(noneReady.calls.filter((c) => c.startsWith("kubeadm") || c.includes("patch configmap"))).toEqual(
      [],
    );
    expect(manifest(down, "kube-apiserver")).toBe(before);
  });

  // This script restarts no etcd member, only the node's API server and its two clients: a
  // dead peer (the one a `pulumi up --replace` is about to replace, say) must not block the
  // chain that replaces it, as long as another control plane serves the API meanwhile.
  it("goes on, saying so, while one other control plane is down and another serves", () => {
    const box = controlPlane(spec(), "v1.36.5");
    const run = apply(
      box,
      spec({ audit: { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 } }),
      {
        STUB_CP_NODES: `${NODE}:True,cn-hangzhou.i-bp1stub0002:False,cn-hangzhou.i-bp1stub0003:True`,
      },
    );
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain("not Ready: cn-hangzhou.i-bp1stub0002; going on");
    expect(manifest(box, "kube-apiserver")).toContain("--audit-log-maxage=7");
  });

  it("an API server that does not come back with the new flags gets its previous manifest back; the next run tries again", () => {
    const deployed = spec();
    const next = spec({ audit: { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 } });
    const box = controlPlane(deployed, "v1.36.5");
    const before = manifest(box, "kube-apiserver");
    const run = apply(box, next, {
      STUB_CRICTL_NEVER_STARTS: "kube-apiserver",
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      `kube-apiserver did not take the new settings (it did not restart within ${STATIC_POD_WAIT_SECONDS}s)`,
    );
    expect(run.output).toContain("--audit-log-maxage=7");
    expect(manifest(box, "kube-apiserver")).toBe(before);
    expect(exists(box, SETTINGS_PATHS.applied.slice(1))).toBe(false);
    expect(existsSync(join(box.state, "lease"))).toBe(false);
    const fixed = apply(box, next);
    expect(fixed.status, fixed.output).toBe(0);
    expect(manifest(box, "kube-apiserver")).toContain("--audit-log-maxage=7");
  });

  it("a failed kubeadm phase leaves the previous manifests and certificate", () => {
    const box = controlPlane(spec(), "v1.36.5");
    const before = manifest(box, "kube-apiserver");
    const cert = sans(box);
    const next = spec({ audit: { enabled: true, maxAgeDays: 7, maxBackups: 10, maxSizeMb: 100 } });
    const facts = { ...FACTS, publicLoadBalancerAddress: "203.0.113.9" };
    const certs = apply(box, next, { STUB_KUBEADM_PHASE_FAIL: "certs apiserver" }, facts);
    expect(certs.status).not.toBe(0);
    expect(certs.output).toContain(
      "kubeadm init phase certs apiserver failed; the previous certificate is back",
    );
    expect(sans(box)).toBe(cert);
    const manifests = apply(box, next, { STUB_KUBEADM_PHASE_FAIL: "control-plane all" }, facts);
    expect(manifests.status).not.toBe(0);
    expect(manifests.output).toContain(
      "kubeadm init phase control-plane failed; the previous manifests are back",
    );
    expect(manifest(box, "kube-apiserver")).toBe(before);
  });

  it("the command fits Cloud Assistant's limit with every option on, and the script passes shellcheck", () => {
    const all = spec({}, { apiEndpoint: { public: true, allowedCidrs: ["203.0.113.0/24"] } });
    const command = controlPlaneSettingsCommand(all, { ...FACTS, publicLoadBalancerAddress: "203.0.113.9" });
    expect(commandContentSize(command)).toBeLessThan(COMMAND_CONTENT_LIMIT - 512);
    const r = spawnSync("shellcheck", ["-x", RECONFIGURE_SCRIPT_PATH], { encoding: "utf8" });
    expect(r.error, "shellcheck is missing (bash .ci/run installs it)").toBeUndefined();
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("the ClusterConfiguration it puts in the cluster is the one kubeadm init runs with, but for the version", () => {
    const s = spec({}, { apiEndpoint: { public: true, allowedCidrs: ["203.0.113.0/24"] } });
    const facts = { ...FACTS, publicLoadBalancerAddress: "203.0.113.9" };
    const init = parseAllDocuments(
      renderKubeadmConfig({
        spec: s,
        facts,
        role: "init",
        imageRepository: s.nodeSoftware.imageRepository,
        initToken: { ttl: "24h", groups: ["g"] },
      }),
    )
      .map((d) => d.toJS() as { kind: string })
      .find((d) => d.kind === "ClusterConfiguration");
    const ours = renderControlPlaneSettings(s, facts).files.find(
      (f) => f.path === SETTINGS_PATHS.clusterConfiguration,
    );
    expect(parseAllDocuments(ours?.content ?? "")[0]?.toJS()).toEqual({
      ...init,
      kubernetesVersion: VERSION_PLACEHOLDER,
    });
  });

  it("its time limits nest: the script's waits inside Cloud Assistant's Timeout, a run inside the Lease's staleness", () => {
    expect(RECONFIGURE_COMMAND_SECONDS).toBeGreaterThan(RECONFIGURE_SECONDS);
    // Another control plane takes a Lease over only once it is stale: never while this run holds it.
    expect(RECONFIGURE_SECONDS).toBeLessThan(LEASE_STALE_SECONDS);
    // The script reads every wait from the file Pulumi writes beside it.
    const env = renderReconfigureEnv();
    for (const [k, v] of Object.entries({ LEASE_STALE_SECONDS, STATIC_POD_WAIT_SECONDS }))
      expect(env).toContain(`${k}=${v}\n`);
  });
});
