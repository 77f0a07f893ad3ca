// Control-plane certificate renewal: bootstrap/renew-certs.sh run with real bash in a
// sandbox holding what a bootstrapped control plane has (its user-data files for the
// renewal, kubeadm's static pod manifests, the bootstrap's state), with stubbed kubeadm,
// kubectl, crictl and curl (test/harness/stubs.sh); the systemd units checked by the
// real systemd-analyze; the script by shellcheck.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify as yaml } from "yaml";
import { verifyUnits } from "./systemd";
import {
  CERT_EXPIRY_LABEL,
  CERT_RENEWAL_PATHS,
  CERT_RENEWAL_SECONDS,
  COMPONENT_READY_SECONDS,
  KUBEADM_SECONDS,
  LEASE_STALE_SECONDS,
  LOCK_WAIT_SECONDS,
  POLL_SECONDS,
  RENEW_BEFORE_DAYS,
  RENEW_CERTS_SCRIPT,
  RENEW_CERTS_SCRIPT_PATH,
  STATIC_POD_WAIT_SECONDS,
  certRenewalFiles,
  renderRenewCertsEnv,
  renderRenewCertsService,
  renderRenewCertsTimer,
} from "../plan/cert-renewal";
import { exists, read, runScript, sandbox, type Run, type Sandbox } from "./harness/harness";

const NODE = "cn-hangzhou.i-bp1stub0001";
const PEERS = ["cn-hangzhou.i-bp1stub0002", "cn-hangzhou.i-bp1stub0003"];
const STATIC_PODS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** A bootstrapped control plane: the renewal's user-data files plus what kubeadm and the bootstrap left. */
function controlPlane(
  opts: { bootstrapped?: boolean; held?: string[]; settings?: Record<string, number> } = {},
): Sandbox {
  const files = certRenewalFiles().map((f) => ({
    path: f.path,
    content: f.content,
    permissions: f.permissions,
    owner: "root:root",
  }));
  // Shorter waits where a test waits them out (the count of tries is what is checked).
  const env = files.find((f) => f.path === CERT_RENEWAL_PATHS.env);
  if (env && opts.settings)
    env.content += Object.entries(opts.settings)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("");
  for (const c of STATIC_PODS) {
    const dir = opts.held?.includes(c)
      ? "/etc/kubernetes/kubeadm-alicloud-restarting"
      : "/etc/kubernetes/manifests";
    files.push({
      path: `${dir}/${c}.yaml`,
      content: `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${c}\n`,
      permissions: "0600",
      owner: "root:root",
    });
  }
  files.push({
    path: "/etc/kubernetes/admin.conf",
    content: "apiVersion: v1\nkind: Config\n",
    permissions: "0600",
    owner: "root:root",
  });
  files.push({
    path: CERT_RENEWAL_PATHS.nodeNameFile,
    content: `${NODE}\n`,
    permissions: "0644",
    owner: "root:root",
  });
  if (opts.bootstrapped !== false)
    files.push({
      path: "/var/lib/kubeadm-alicloud/done",
      content: "fingerprint\n",
      permissions: "0644",
      owner: "root:root",
    });
  return sandbox(`#cloud-config\n${yaml({ write_files: files })}`, "ubuntu-24.04");
}

const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
const day = (iso: string) => iso.slice(0, 10);
const ALL_READY = { STUB_CP_NODES: [NODE, ...PEERS].map((n) => `${n}:True`).join(",") };

function renew(box: Sandbox, env: Record<string, string> = {}, args: string[] = []): Run {
  return runScript(box, join(box.root, CERT_RENEWAL_PATHS.script), args, { ...ALL_READY, ...env });
}

/** What the script did, in order, without polling noise. */
function events(run: Run): string[] {
  const out: string[] = [];
  for (const c of run.calls) {
    const words = c.split(" ");
    if (c.startsWith("crictl-saw ")) out.push(`${words[1]} ${words[2]}`);
    else if (c.startsWith("curl ")) out.push(`health ${words[words.length - 1]}`);
    else if (c.startsWith("kubeadm certs renew")) out.push("kubeadm renew");
    else if (c.startsWith("kubeadm certs check-expiration")) out.push("kubeadm check");
    else if (c.startsWith("kubectl ")) {
      if (c.includes("--raw=/readyz")) out.push("readyz");
      else if (c.includes(" label node "))
        out.push(`label ${words.find((w) => w.startsWith(CERT_EXPIRY_LABEL)) ?? "?"}`);
      else if (c.includes("create -f -")) out.push("lease create");
      else if (c.includes("replace -f -")) out.push("lease replace");
      else if (c.includes("delete lease")) out.push("lease delete");
      else if (c.includes("get nodes -l")) out.push("check nodes");
      else if (c.includes("get pods -l component=etcd")) out.push("check etcd pods");
    }
  }
  // A wait that passed at once reads as one event; repeats are polling.
  return out.filter((e, i) => e !== out[i - 1]);
}

const restartOf = (c: string): string[] => {
  const health: Record<string, string[]> = {
    etcd: ["health http://127.0.0.1:2381/readyz"],
    "kube-controller-manager": ["health https://127.0.0.1:10257/healthz"],
    "kube-scheduler": ["health https://127.0.0.1:10259/healthz"],
  };
  return [`${c} stopped`, `${c} started`, ...(health[c] ?? []), "readyz"];
};
const leaseFile = (box: Sandbox) => join(box.state, "lease");
const everyManifestInPlace = (box: Sandbox) =>
  STATIC_PODS.every(
    (c) =>
      exists(box, `etc/kubernetes/manifests/${c}.yaml`) &&
      !exists(box, `etc/kubernetes/kubeadm-alicloud-restarting/${c}.yaml`),
  );

describe("renew-certs.sh in a sandbox", () => {
  it("far from expiry: renews nothing, restarts nothing, publishes the earliest expiry kubeadm manages", () => {
    const box = controlPlane();
    const expires = inDays(200);
    const run = renew(box, { STUB_CERT_EXPIRES: expires });
    expect(run.status, run.output).toBe(0);
    // etcd-peer is the earliest managed leaf; the externally managed leaf, the CA and the missing file do not
    // count.
    expect(events(run)).toEqual(["kubeadm check", `label ${CERT_EXPIRY_LABEL}=${day(expires)}`]);
    expect(run.calls).toContain(
      `kubectl --kubeconfig ${box.root}/etc/kubernetes/admin.conf --request-timeout=30s label node ${NODE} ${CERT_EXPIRY_LABEL}=${day(expires)} --overwrite`,
    );
    expect(read(box, "var/lib/kubeadm-alicloud/certificates-expire")).toBe(`${day(expires)}\n`);
    expect(read(box, "var/log/kubeadm-alicloud/renew-certs.log")).toMatch(
      /etcd-peer\) expires in (199|200) days; renewal starts at 60 days; nothing to do/,
    );
    // Idempotent: a second run does the same and nothing more.
    expect(events(renew(box, { STUB_CERT_EXPIRES: expires }))).toEqual(events(run));
  });

  it("near expiry: takes the lease, checks the other control planes, renews, restarts each static pod alone with a health wait, publishes, releases", () => {
    const box = controlPlane();
    const before = inDays(20);
    const after = inDays(365);
    const run = renew(box, { STUB_CERT_EXPIRES: before, STUB_CERT_RENEWED_EXPIRES: after });
    expect(run.status, run.output).toBe(0);
    expect(events(run)).toEqual([
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(before)}`,
      "readyz",
      "lease create",
      "check nodes",
      "check etcd pods",
      "kubeadm renew",
      ...STATIC_PODS.flatMap(restartOf),
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(after)}`,
      "lease delete",
    ]);
    expect(readFileSync(join(box.state, "lease-request"), "utf8")).toMatch(
      new RegExp(
        `name: kubeadm-alicloud-cert-renewal\\n  namespace: kube-system\\nspec:\\n  holderIdentity: ${NODE.replace(/\./g, "\\.")}\\n  acquireTime: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.000000Z\\n  leaseDurationSeconds: ${LEASE_STALE_SECONDS}\\n`,
      ),
    );
    expect(existsSync(leaseFile(box))).toBe(false);
    expect(everyManifestInPlace(box)).toBe(true);
    expect(exists(box, "var/lib/kubeadm-alicloud/renew-certs.pending")).toBe(false);
    expect(read(box, "var/lib/kubeadm-alicloud/certificates-expire")).toBe(`${day(after)}\n`);
    // The next day: nothing to do.
    expect(events(renew(box, { STUB_CERT_EXPIRES: before }))).toEqual([
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(after)}`,
    ]);
  });

  it("the argument overrides RENEW_BEFORE_DAYS", () => {
    const box = controlPlane();
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(200) }, ["250"]);
    expect(run.status, run.output).toBe(0);
    expect(events(run)).toContain("kubeadm renew");
    expect(renew(controlPlane(), {}, ["soon"]).output).toContain(
      "RENEW_BEFORE_DAYS must be a positive whole number, not 'soon'",
    );
  });

  it.each([
    [
      "another control-plane node is not Ready",
      { STUB_CP_NODES: `${NODE}:True,${PEERS[0]}:False,${PEERS[1]}:True` },
      `node ${PEERS[0]} is not Ready`,
    ],
    [
      "another control plane's etcd member is not Ready",
      { STUB_ETCD_PODS: `${NODE}:True,${PEERS[0]}:True,${PEERS[1]}:False` },
      `the etcd member on ${PEERS[1]} is not Ready`,
    ],
  ])("%s: refuses, renews and restarts nothing, releases the lease", (_, env, reason) => {
    const box = controlPlane();
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(20), ...env });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`FAILED: refusing to restart this control plane: ${reason}`);
    expect(events(run)).toEqual([
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(inDays(20))}`,
      "readyz",
      "lease create",
      "check nodes",
      "check etcd pods",
      "lease delete",
    ]);
    expect(existsSync(leaseFile(box))).toBe(false);
    expect(everyManifestInPlace(box)).toBe(true);
  });

  it("lease held by another control plane: waits a bounded time, then gives up without renewing or touching its lease", () => {
    const box = controlPlane({ settings: { LOCK_WAIT_SECONDS: 60 } });
    const holder = "cn-hangzhou.i-bp1stub0002";
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(20), STUB_LEASE_HOLDER: holder });
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      `another control plane is being changed (lease kube-system/kubeadm-alicloud-cert-renewal held by ${holder} since`,
    );
    expect(run.output).toContain(
      "gave up waiting for the lease kube-system/kubeadm-alicloud-cert-renewal after 60s",
    );
    const creates = run.calls.filter((c) => c.includes("create -f -")).length;
    expect(creates).toBe(60 / POLL_SECONDS);
    expect(run.calls.filter((c) => c.startsWith("sleep")).length).toBe(creates - 1);
    expect(events(run)).not.toContain("kubeadm renew");
    expect(events(run)).not.toContain("lease delete");
    expect(events(run)).not.toContain("lease replace");
    expect(run.calls.some((c) => c.startsWith("crictl"))).toBe(false);
    expect(readFileSync(leaseFile(box), "utf8")).toMatch(new RegExp(`^${holder} `));
  });

  it("a lease older than LEASE_STALE_SECONDS is taken over at the version read, then released", () => {
    const box = controlPlane();
    const stale = new Date(Date.now() - (LEASE_STALE_SECONDS + 60) * 1000)
      .toISOString()
      .replace(/\.(\d+)Z$/, ".000000Z");
    const run = renew(box, {
      STUB_CERT_EXPIRES: inDays(20),
      STUB_LEASE_HOLDER: "cn-hangzhou.i-gone",
      STUB_LEASE_ACQUIRED: stale,
    });
    expect(run.status, run.output).toBe(0);
    expect(events(run).slice(2, 5)).toEqual(["readyz", "lease create", "lease replace"]);
    expect(run.output).toContain("took over the lease from cn-hangzhou.i-gone");
    expect(readFileSync(join(box.state, "lease-request"), "utf8")).toContain('resourceVersion: "7"');
    expect(events(run)).toContain("kubeadm renew");
    expect(existsSync(leaseFile(box))).toBe(false);
  });

  it("failure mid-way (kube-apiserver does not come back): exits non-zero, manifests in place, lease released; the next run redoes the restarts", () => {
    const box = controlPlane();
    const run = renew(box, {
      STUB_CERT_EXPIRES: inDays(20),
      STUB_CERT_RENEWED_EXPIRES: inDays(365),
      STUB_CRICTL_NEVER_STARTS: "kube-apiserver",
    });
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      `FAILED: kube-apiserver did not start again within ${STATIC_POD_WAIT_SECONDS}s`,
    );
    expect(events(run)).toEqual([
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(inDays(20))}`,
      "readyz",
      "lease create",
      "check nodes",
      "check etcd pods",
      "kubeadm renew",
      ...restartOf("etcd"),
      "kube-apiserver stopped",
      "lease delete",
    ]);
    expect(existsSync(leaseFile(box))).toBe(false);
    expect(everyManifestInPlace(box)).toBe(true);
    expect(exists(box, "var/lib/kubeadm-alicloud/renew-certs.pending")).toBe(true);

    // The certificates are new now, but the restarts are still owed: the next run does them, without
    // renewing again. Meanwhile the kubelet got kube-apiserver running (the stub reports it as started).
    const again = renew(box, {});
    expect(again.status, again.output).toBe(0);
    expect(events(again)).toEqual([
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(inDays(365))}`,
      "readyz",
      "lease create",
      "check nodes",
      "check etcd pods",
      ...restartOf("etcd"),
      "kube-apiserver started",
      ...STATIC_PODS.slice(1).flatMap(restartOf),
      "kubeadm check",
      `label ${CERT_EXPIRY_LABEL}=${day(inDays(365))}`,
      "lease delete",
    ]);
    expect(exists(box, "var/lib/kubeadm-alicloud/renew-certs.pending")).toBe(false);
  });

  it("kubeadm certs renew fails: exits non-zero, restarts nothing, releases the lease", () => {
    const box = controlPlane();
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(20), STUB_KUBEADM_RENEW_FAIL: "1" });
    expect(run.status).toBe(1);
    expect(run.output).toContain("FAILED: kubeadm certs renew all failed");
    expect(events(run).slice(-2)).toEqual(["kubeadm renew", "lease delete"]);
    expect(run.calls.some((c) => c.startsWith("crictl"))).toBe(false);
    expect(existsSync(leaseFile(box))).toBe(false);
  });

  it("the local API is not ready: touches nothing", () => {
    const box = controlPlane({ settings: { COMPONENT_READY_SECONDS: 30 } });
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(20), STUB_READYZ_FAIL_TIMES: "1000" });
    expect(run.status).toBe(1);
    expect(run.output).toContain("FAILED: the local API is not ready");
    expect(run.output).toContain("gave up waiting for the local API's /readyz after 30s");
    expect(run.calls.filter((c) => c.includes("--raw=/readyz")).length).toBe(30 / POLL_SECONDS);
    expect(events(run)).not.toContain("lease create");
  });

  it("a manifest left outside the manifest folder by a killed run is put back first", () => {
    const box = controlPlane({ held: ["kube-apiserver"] });
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(200) });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain("put kube-apiserver.yaml back into");
    expect(everyManifestInPlace(box)).toBe(true);
  });

  it("before the bootstrap finished: does nothing, says so, exits 0", () => {
    const box = controlPlane({ bootstrapped: false });
    const run = renew(box, { STUB_CERT_EXPIRES: inDays(20) });
    expect(run.status, run.output).toBe(0);
    expect(run.calls).toEqual([]);
    expect(read(box, "var/log/kubeadm-alicloud/renew-certs.log")).toContain(
      "this node has not finished bootstrapping",
    );
  });
});

describe("renewal units and settings", () => {
  it("the script's defaults are the plan's constants, and the env file sets them all", () => {
    const defaults = Object.fromEntries(
      [...RENEW_CERTS_SCRIPT.matchAll(/^([A-Z_]+)="\$\{(?:1:-\$\{)?\1:-(\d+)\}\}?"$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    const planned = {
      RENEW_BEFORE_DAYS,
      LOCK_WAIT_SECONDS,
      LEASE_STALE_SECONDS,
      STATIC_POD_WAIT_SECONDS,
      COMPONENT_READY_SECONDS,
      KUBEADM_SECONDS,
      POLL_SECONDS,
    };
    expect(defaults).toEqual(planned);
    expect(renderRenewCertsEnv()).toBe(
      `${Object.entries(planned)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    );
    expect(() => renderRenewCertsEnv({ renewBeforeDays: 365 })).toThrow(/1 to 300/);
  });

  it("every wait of one run fits in the unit's time limit, and a live run's lease is never stale", () => {
    const worst =
      COMPONENT_READY_SECONDS +
      LOCK_WAIT_SECONDS +
      3 * KUBEADM_SECONDS +
      STATIC_PODS.length * (2 * STATIC_POD_WAIT_SECONDS + COMPONENT_READY_SECONDS);
    expect(CERT_RENEWAL_SECONDS).toBeGreaterThan(worst);
    expect(renderRenewCertsService()).toContain(`TimeoutStartSec=${CERT_RENEWAL_SECONDS}\n`);
    // After TimeoutStartSec systemd stops the run (SIGTERM, then SIGKILL after DefaultTimeoutStopSec, 90 s).
    expect(LEASE_STALE_SECONDS).toBeGreaterThan(CERT_RENEWAL_SECONDS + 90);
    expect(renderRenewCertsTimer()).toMatch(/OnCalendar=daily\nRandomizedDelaySec=4h\nPersistent=true\n/);
  });

  it("systemd-analyze verify accepts both units, installed as a control plane gets them", () => {
    // Checked, not skipped: this machine has it (README prerequisites); a missing tool fails here.
    const units = [CERT_RENEWAL_PATHS.service, CERT_RENEWAL_PATHS.timer];
    expect(verifyUnits(certRenewalFiles(), units)).toEqual({ status: 0, output: "" });
    // And it does check: a unit whose command is absent fails.
    const missing = verifyUnits(certRenewalFiles(), units, CERT_RENEWAL_PATHS.script);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toContain(`Command ${CERT_RENEWAL_PATHS.script} is not executable`);
  });

  it("shellcheck passes the script and the stubs", () => {
    for (const f of [RENEW_CERTS_SCRIPT_PATH, join(__dirname, "harness", "stubs.sh")]) {
      const r = spawnSync("shellcheck", ["-x", f], { encoding: "utf8" });
      expect(r.status, `${f}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
