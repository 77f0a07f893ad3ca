// Kubelet serving certificates are approved on the control planes (plan/csr-approver.ts,
// bootstrap/approve-serving-csrs.py), with the checks of postfinance/kubelet-csr-approver
// v1.2.14 (internal/controller/csr_controller.go Reconcile, regex_ip_checks.go) and a few
// stricter ones. Here: real CSRs made by the real openssl, decided by the script, which
// calls the REAL kubectl against the fake Kubernetes API (test/harness/fake-kube.py, which
// reads kubectl's protobuf approval body); the files, units and limits it is installed
// with; and, under mocks, one installer per control plane and no approver chart.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { INSTALL_COMMAND_SECONDS, COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import {
  CSR_APPROVER_PATHS,
  CSR_KUBECTL_SECONDS,
  CSR_RUN_BUDGET_SECONDS,
  CSR_SERVICE_SECONDS,
  MAX_EXPIRATION_SECONDS,
  csrApproverFiles,
  csrApproverInstaller,
  nodeNameRegex,
  renderCsrApproverEnv,
  renderCsrApproverTimer,
} from "../plan/csr-approver";
import { haveKubectl, kubeconfig, startFake, stopFakes, type Scenario } from "./harness/kube";
import { declareCluster, installMocks, specFor } from "./kit";
import type { Recorder } from "../tools/render/mock-runtime";
import { openssl, opensslBytes } from "./openssl";
import { verifyUnits } from "./systemd";

const SCRIPT = join(__dirname, "..", "bootstrap", "approve-serving-csrs.py");
const NODE = "cn-hangzhou.i-bp1abc001";
const VPC = "10.0.0.0/16";

/** A CSR as a kubelet makes one (EC key, O=system:nodes, CN=system:node:<name>), base64 of its PEM. */
function request(cn: string, san: string | null, corrupt = false): string {
  const args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  args.push("-keyout", "/dev/null", "-subj", `/O=system:nodes/CN=${cn}`);
  if (san) args.push("-addext", `subjectAltName=${san}`);
  const pem = openssl(args);
  if (!corrupt) return Buffer.from(pem).toString("base64");
  // Flip the signature's last byte: still a well-formed request, no longer a valid one.
  const der = opensslBytes(["req", "-outform", "DER"], pem);
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return Buffer.from(
    `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`,
  ).toString("base64");
}

function csr(
  name: string,
  req: string,
  spec: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name, resourceVersion: "1" },
    spec: {
      signerName: "kubernetes.io/kubelet-serving",
      username: `system:node:${NODE}`,
      usages: ["digital signature", "server auth"],
      request: req,
      ...spec,
    },
    status,
  };
}

const good = (san = `DNS:${NODE},IP:10.0.3.7`) => request(`system:node:${NODE}`, san);

type Csr = { metadata: { name: string }; status?: { conditions?: { type: string }[] } };
const verdicts = (state: Scenario) =>
  Object.fromEntries(
    (state.csrs as Csr[]).map((c) => [
      c.metadata.name,
      (c.status?.conditions ?? []).map((x) => x.type).join(),
    ]),
  );

describe.skipIf(!haveKubectl)("deciding kubelet serving CSRs, with the real openssl and kubectl", () => {
  afterEach(stopFakes);
  let fake: Awaited<ReturnType<typeof startFake>>;
  let settings: string;
  const run = () =>
    spawnSync("python3", [SCRIPT, "--settings", settings], { encoding: "utf8", timeout: 120_000 });

  beforeAll(async () => {
    const csrs = [
      csr("good", good()),
      csr("good-ip-only", good(`IP:10.0.200.1`)),
      // Denied, as kubelet-csr-approver denies them:
      csr("not-a-node", good(), { username: "system:serviceaccount:kube-system:x" }),
      csr("cn-mismatch", request(`system:node:cn-hangzhou.i-bp1other`, `DNS:${NODE}`)),
      csr("dns-other-name", request(`system:node:${NODE}`, `DNS:cn-hangzhou.i-bp1other`)),
      // Each name alone would pass: only the count (allowed-dns-names 1) refuses it.
      csr("two-dns-names", request(`system:node:${NODE}`, `DNS:${NODE},DNS:${NODE}`)),
      csr("ip-outside-vpc", good(`DNS:${NODE},IP:192.168.1.5`)),
      csr("no-san", request(`system:node:${NODE}`, null)),
      csr("too-long", good(), { expirationSeconds: MAX_EXPIRATION_SECONDS + 1 }),
      // Denied here, stricter than upstream:
      csr("other-region", request(`system:node:cn-shanghai.i-bp1abc001`, `IP:10.0.3.7`), {
        username: "system:node:cn-shanghai.i-bp1abc001",
      }),
      csr("email-san", good(`DNS:${NODE},email:a@example.com`)),
      csr("bad-signature", request(`system:node:${NODE}`, `DNS:${NODE}`, true)),
      // Left alone:
      csr("client-cert", good(), { signerName: "kubernetes.io/kube-apiserver-client-kubelet" }),
      csr("decided", good(), {}, { conditions: [{ type: "Denied", status: "True" }] }),
      csr("garbage", Buffer.from("not a request").toString("base64")),
      csr("signed", good(), {}, { certificate: Buffer.from("issued").toString("base64") }),
    ];
    fake = await startFake({ nodes: [], pods: [], daemonsets: [], pdbs: [], csrs });
    settings = join(fake.dir, "csr-approver.env");
    writeFileSync(
      settings,
      renderCsrApproverEnv({ region: "cn-hangzhou", ipPrefixes: [VPC] })
        .replace(CSR_APPROVER_PATHS.kubeconfig, kubeconfig(fake.dir, fake.url))
        .replace(CSR_APPROVER_PATHS.log, join(fake.dir, "log", "approver.log")),
    );
  });

  it("approves the node's own names in the VPC, denies the rest with the reason, and leaves others alone", () => {
    const first = run();
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(verdicts(fake.state())).toEqual({
      good: "Approved",
      "good-ip-only": "Approved",
      "not-a-node": "Denied",
      "cn-mismatch": "Denied",
      "dns-other-name": "Denied",
      "two-dns-names": "Denied",
      "ip-outside-vpc": "Denied",
      "no-san": "Denied",
      "too-long": "Denied",
      "other-region": "Denied",
      "email-san": "Denied",
      "bad-signature": "Denied",
      "client-cert": "",
      decided: "Denied",
      garbage: "",
      signed: "",
    });
    const log = readFileSync(join(fake.dir, "log", "approver.log"), "utf8");
    expect(log).toMatch(/denied ip-outside-vpc: IP address 192\.168\.1\.5 lies outside 10\.0\.0\.0\/16/);
    expect(log).toMatch(/denied bad-signature: the request's signature does not verify/);
    expect(log).toMatch(/left garbage: unparseable request/);
    // Decided CSRs are not even attempted (kubectl would refuse, but the log would say otherwise).
    expect(log).not.toMatch(/ decided:/);
    // A second run (the timer, or another control plane) changes nothing.
    const puts = () =>
      fake
        .log()
        .split("\n")
        .filter((l) => l.includes('"PUT"')).length;
    const before = puts();
    expect(run().status).toBe(0);
    expect(puts()).toBe(before);
  });

  it("fails the run, saying why, when the API cannot be reached", () => {
    const unreachable = join(fake.dir, "unreachable.env");
    writeFileSync(
      unreachable,
      readFileSync(settings, "utf8").replace(
        /^KUBECONFIG=.*$/m,
        `KUBECONFIG=${kubeconfig(fake.dir, "http://127.0.0.1:1")}`,
      ),
    );
    const r = spawnSync("python3", [SCRIPT, "--settings", unreachable], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/cannot list CSRs: .*127\.0\.0\.1:1/);
  });
});

describe("the approver's name pattern, settings and units", () => {
  it("systemd-analyze verify accepts the units as a control plane gets them, and fails without the script", () => {
    const files = csrApproverFiles({ region: "cn-hangzhou", ipPrefixes: [VPC] });
    const units = [CSR_APPROVER_PATHS.service, CSR_APPROVER_PATHS.timer];
    expect(verifyUnits(files, units)).toEqual({ status: 0, output: "" });
    const missing = verifyUnits(files, units, CSR_APPROVER_PATHS.script);
    expect(missing.output).toContain(`Command ${CSR_APPROVER_PATHS.script} is not executable`);
  });

  it("accepts only names of this cluster's form in its region", () => {
    const re = new RegExp(nodeNameRegex("cn-hangzhou"));
    expect(re.test(NODE)).toBe(true);
    for (const bad of [
      "cn-shanghai.i-bp1stub0001",
      `${NODE}.evil.com`,
      "cnXhangzhou.i-bp1",
      "evil.example.com",
    ])
      expect(re.test(bad), bad).toBe(false);
  });

  it("settings carry the VPC, the pattern and kubelet-csr-approver's limits", () => {
    const env = renderCsrApproverEnv({ region: "cn-hangzhou", ipPrefixes: [VPC] });
    expect(env).toContain(`IP_PREFIXES=${VPC}\n`);
    expect(env).toContain(`NODE_NAME_REGEX=${nodeNameRegex("cn-hangzhou")}\n`);
    expect(env).toContain("ALLOWED_DNS_NAMES=1\n");
    // kubelet-csr-approver v1.2.14 internal/cmd/cmd.go: max-expiration-sec 367 days.
    expect(env).toContain(`MAX_EXPIRATION_SECONDS=${367 * 86400}\n`);
    expect(() => renderCsrApproverEnv({ region: "cn-hangzhou", ipPrefixes: [] })).toThrow();
  });

  it("nests its limits: kubectl request < kubectl call < run budget < unit < Cloud Assistant install", () => {
    expect(20).toBeLessThan(CSR_KUBECTL_SECONDS);
    expect(CSR_KUBECTL_SECONDS).toBeLessThan(CSR_RUN_BUDGET_SECONDS);
    expect(CSR_RUN_BUDGET_SECONDS + CSR_KUBECTL_SECONDS).toBeLessThan(CSR_SERVICE_SECONDS);
    const files = Object.fromEntries(
      csrApproverFiles({ region: "r", ipPrefixes: [VPC] }).map((f) => [f.path, f]),
    );
    expect(files[CSR_APPROVER_PATHS.service]?.content).toContain(`TimeoutStartSec=${CSR_SERVICE_SECONDS}\n`);
    expect(files[CSR_APPROVER_PATHS.service]?.content).toContain(
      `ExecStart=${CSR_APPROVER_PATHS.script} --settings ${CSR_APPROVER_PATHS.env}\n`,
    );
    expect(files[CSR_APPROVER_PATHS.env]?.content).toContain(
      `RUN_BUDGET_SECONDS=${CSR_RUN_BUDGET_SECONDS}\n`,
    );
    expect(files[CSR_APPROVER_PATHS.script]?.permissions).toBe("0755");
    // systemd.timer(5): without AccuracySec a 15 s timer may fire only once a minute.
    expect(renderCsrApproverTimer()).toMatch(/OnUnitActiveSec=15s\nAccuracySec=1s\n/);
    const installer = csrApproverInstaller({ region: "cn-hangzhou", ipPrefixes: [VPC] });
    expect(commandContentSize(installer)).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
    expect(installer).toContain("systemctl enable --now kubeadm-alicloud-csr-approver.timer");
    expect(INSTALL_COMMAND_SECONDS).toBeGreaterThan(0);
  });
});

describe("under mocks", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });

  it("installs the approver on every control plane after it serves, and no approver chart", async () => {
    const spec = specFor({ clusterName: "ap" });
    const declared = await declareCluster(recorder, spec);
    const installers = declared.filter((r) => r.name.endsWith("-csr-approver"));
    expect(installers).toHaveLength(spec.controlPlane.count);
    for (const [i, r] of installers.entries()) {
      const ready = declared.find((x) => x.name === `ap-cp-${i}-ready`);
      expect(r.dependsOn, r.name).toContain(ready?.urn);
      expect(r.inputs.script).toBe(
        csrApproverInstaller({ region: spec.region, ipPrefixes: [spec.network.vpc.cidr] }),
      );
    }
    expect(declared.filter((r) => String(r.inputs.chart ?? "").includes("csr-approver"))).toEqual([]);
  });
});
