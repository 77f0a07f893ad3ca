// The offline render, run as users run it (a separate process per render).
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONTROL_PLANE_FILES } from "../plan/pki";
import { openssl } from "./openssl";

const run = promisify(execFile);
const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

interface Rendered {
  readonly dir: string;
  readonly resources: {
    type: string;
    name: string;
    parent: string | null;
    provider: string | null;
    dependsOn: string[];
    inputs: Record<string, unknown>;
    secretInputs: string[];
  }[];
  readonly summary: string;
  readonly pki: {
    certificateAuthorities: { subject: string; isCA: boolean; files: string[] }[];
    clientCertificates: { subject: string; issuer: string; extendedKeyUsage: string[] }[];
  };
  readonly raw: { resources: string; summary: string; pki: string };
}

/** Every file below `dir`, relative to it. */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

async function render(args: string[]): Promise<Rendered> {
  const dir = mkdtempSync(join(tmpdir(), "render-"));
  await run(TSX, [join(ROOT, "tools/render/cli.ts"), ...args, "--out", dir], { cwd: ROOT });
  const resources = readFileSync(join(dir, "resources.json"), "utf8");
  const summary = readFileSync(join(dir, "summary.txt"), "utf8");
  const pki = readFileSync(join(dir, "pki.json"), "utf8");
  return {
    dir,
    resources: JSON.parse(resources) as Rendered["resources"],
    summary,
    pki: JSON.parse(pki) as Rendered["pki"],
    raw: { resources, summary, pki },
  };
}

describe("npm run render", () => {
  it("is deterministic: the same stack renders to the same bytes, every file", async () => {
    const [a, b] = await Promise.all([render(["--stack", "prod"]), render(["--stack", "prod"])]);
    const files = filesUnder(a.dir).sort();
    expect(filesUnder(b.dir).sort()).toEqual(files);
    for (const f of files)
      expect(readFileSync(join(a.dir, f), "utf8"), f).toBe(readFileSync(join(b.dir, f), "utf8"));
  });

  it.each(["dev", "staging", "prod"])(
    "renders %s: every resource parented, on the explicit provider, in tree order",
    async (stack) => {
      const { resources, summary } = await render(["--stack", stack]);
      const refs = new Set(resources.map((r) => `${r.type}::${r.name}`));
      const seen = new Set<string>();
      for (const r of resources) {
        if (r.parent !== null) {
          expect(refs.has(r.parent)).toBe(true);
          expect(seen.has(r.parent), `${r.name} listed before its parent`).toBe(true);
        }
        if (r.type.startsWith("alicloud:")) expect(r.provider).toMatch(/^pulumi:providers:alicloud::/);
        for (const d of r.dependsOn) expect(refs.has(d)).toBe(true);
        seen.add(`${r.type}::${r.name}`);
      }
      expect(
        resources
          .filter((r) => r.parent === null)
          .map((r) => r.type)
          .sort(),
      ).toEqual(["kubeadm-alicloud:index:Cluster", "pulumi:providers:alicloud"]);
      expect(summary).toContain(`stack ${stack} (${stack})`);
      const counted = /Resources \((\d+)\)/.exec(summary)?.[1];
      expect(Number(counted)).toBe(resources.length);
    },
  );

  it("the default bundle holds no key material and no token", async () => {
    const { dir } = await render(["--stack", "staging"]);
    expect(filesUnder(dir).sort()).toEqual([
      "addons.json",
      "kubeadm/cp-0-init.yaml",
      "kubeadm/cp-0.yaml",
      "kubeadm/cp-1.yaml",
      "kubeadm/cp-2.yaml",
      "kubeadm/pool-general.yaml",
      "nodes/cp-0/user-data.yaml",
      "nodes/cp-1/user-data.yaml",
      "nodes/cp-2/user-data.yaml",
      "nodes/pool-general/user-data.yaml",
      "pki.json",
      "resources.json",
      "summary.txt",
    ]);
    for (const file of filesUnder(dir)) {
      const text = readFileSync(join(dir, file), "utf8");
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|BEGIN CERTIFICATE REQUEST/);
      expect(text).not.toMatch(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);
    }
  });

  it("pki.json describes the CAs and the admin certificate as read back from them", async () => {
    const { pki } = await render(["--stack", "dev"]);
    expect(pki.certificateAuthorities.map((c) => [c.subject, c.isCA, c.files[0]])).toEqual([
      ["CN=kubernetes", true, "ca.crt"],
      ["CN=etcd-ca", true, "etcd/ca.crt"],
      ["CN=front-proxy-ca", true, "front-proxy-ca.crt"],
    ]);
    expect(pki.clientCertificates).toMatchObject([
      {
        subject: "CN=kubernetes-admin, O=kubeadm:cluster-admins",
        issuer: "CN=kubernetes",
        extendedKeyUsage: ["clientAuth"],
      },
    ]);
  });

  it("every rendered node document passes cloud-init's schema", async () => {
    const { dir } = await render(["--stack", "prod"]);
    const docs = filesUnder(dir).filter((f) => f.endsWith("user-data.yaml"));
    expect(docs).toHaveLength(5);
    for (const doc of docs) {
      const r = spawnSync("cloud-init", ["schema", "--config-file", join(dir, doc)], { encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`, doc).toContain("Valid cloud-config");
    }
  });

  it("--materialize writes kubeadm's file layout and admin.conf, owner-only, and they verify", async () => {
    const { dir } = await render(["--stack", "dev", "--materialize"]);
    const pkiFiles = filesUnder(join(dir, "pki")).sort();
    expect(pkiFiles).toEqual([...CONTROL_PLANE_FILES, "admin.conf"].sort());
    for (const file of pkiFiles) expect(statSync(join(dir, "pki", file)).mode & 0o777).toBe(0o600);
    const conf = parse(readFileSync(join(dir, "pki", "admin.conf"), "utf8")) as {
      users: { user: { "client-certificate-data": string } }[];
    };
    const cert = join(dir, "admin.crt");
    writeFileSync(cert, Buffer.from(conf.users[0]?.user["client-certificate-data"] ?? "", "base64"));
    expect(openssl(["verify", "-CAfile", join(dir, "pki", "ca.crt"), cert]).trim()).toBe(`${cert}: OK`);
  });

  it("summarises zones, CIDRs, node counts and exposure for prod", async () => {
    const { summary, resources } = await render(["--stack", "prod"]);
    expect(summary).toContain("zones        cn-shanghai-e, cn-shanghai-f, cn-shanghai-g");
    expect(summary).toMatch(/vSwitch\s+cn-shanghai-e\s+10\.30\.64\.0\/20/);
    expect(summary).toMatch(/vSwitch\s+cn-shanghai-e\s+10\.30\.255\.64\/28\s+control planes only/);
    expect(summary).toContain("control plane  3 x ecs.g7.xlarge");
    expect(summary).toContain("deletion protection on");
    expect(summary).toContain("total          7 min / 7 desired / 33 max");
    expect(summary).toContain("Kubernetes API  private");
    expect(summary).toContain(
      "LoadBalancers   intranet only: the CCM refuses internet CLBs (disablePublicSLB); Services that do not choose are made intranet (admission policy)",
    );
    expect(summary).toContain("no security-group rule admits a non-private address");
    expect(summary).toContain("Guardrails (policy/): all pass");
    // What this render could not know about the scale-in hooks and the backup bucket.
    expect(summary).toContain("the scale-in hooks' notification ARN carries ACCOUNT_ID");
    expect(summary).toContain(
      "report pool instances Unhealthy to ESS (nodeHealth): at most 0.1 of a pool per 60 min",
    );
    expect(summary).toMatch(
      /etcd backup bucket prod-cn-shanghai-etcd-[0-9a-f]{8}: names are unique across all of OSS/,
    );
    // Where each add-on's images come from, and through which mirror (cn-shanghai: mainland defaults).
    expect(summary).toMatch(/cni calico\s+quay\.io via https:\/\/quay\.m\.daocloud\.io/);
    expect(summary).toMatch(/csiDisk\s+registry-cn-shanghai-vpc\.ack\.aliyuncs\.com directly/);
    // No image from postfinance, which no default mainland mirror serves (DaoCloud allows.txt):
    // serving certificates are approved on the control planes (plan/csr-approver.ts).
    expect(summary).not.toMatch(/postfinance|kubeletCsrApprover/);
    const addons = /Add-ons\n((?: {2}.*\n)+)/
      .exec(summary)?.[1]
      ?.split("\n")
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(addons).toEqual(["cloudControllerManager", "csiDisk", "metricsServer", "clusterAutoscaler"]);
    const rules = resources.filter((r) => r.type === "alicloud:ecs/securityGroupRule:SecurityGroupRule");
    expect(summary).toContain(`Security-group rules (${rules.length})`);
  });

  it("lists a public API's allowed range under what is exposed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stack-"));
    const file = join(dir, "Pulumi.public.yaml");
    writeFileSync(
      file,
      [
        "config:",
        "  kubeadm-alicloud:environment: dev",
        "  kubeadm-alicloud:region: cn-hangzhou",
        "  kubeadm-alicloud:zones: [cn-hangzhou-h]",
        "  kubeadm-alicloud:apiEndpoint: { public: true, allowedCidrs: [198.51.100.0/24] }",
        "  kubeadm-alicloud:tags: { owner: { secure: v1:abcdef } }",
      ].join("\n"),
    );
    const { summary, resources } = await render(["--stack-file", file]);
    expect(summary).toContain("Kubernetes API  public, from 198.51.100.0/24");
    expect(summary).toMatch(/rule\s+control-plane in\s+accept tcp 6443\s+from 198\.51\.100\.0\/24/);
    expect(summary).toContain(
      "kubeadm-alicloud:tags is encrypted in the stack file; the render used a placeholder",
    );
    expect(resources.length).toBeGreaterThan(0);
  });

  it("fails with every config problem and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stack-"));
    const file = join(dir, "Pulumi.broken.yaml");
    writeFileSync(
      file,
      "config:\n  kubeadm-alicloud:environment: prod\n  kubeadm-alicloud:region: cn-hangzhou\n  kubeadm-alicloud:zones: [cn-hangzhou-h]\n  kubeadm-alicloud:controlPlane: { count: 2 }\n",
    );
    const out = join(dir, "out");
    const err = await run(TSX, [join(ROOT, "tools/render/cli.ts"), "--stack-file", file, "--out", out], {
      cwd: ROOT,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('stack "broken" has 2 configuration problems; nothing was created');
    expect(err?.stderr).toContain("kubeadm-alicloud:zones: prod must survive the loss of a zone");
    expect(err?.stderr).toContain("kubeadm-alicloud:controlPlane.count: 2 is even");
    expect(() => readFileSync(join(out, "resources.json"))).toThrow();
  });

  it("--deployed-version adds the upgrade plan, and a skipped minor fails naming the key and the chain", async () => {
    const { dir } = await render(["--stack", "prod", "--deployed-version", "v1.35.2"]);
    const plan = JSON.parse(readFileSync(join(dir, "upgrade-plan.json"), "utf8")) as {
      from: string;
      to: string;
      stages: { kind: string; name: string; waves?: number[] }[];
    };
    expect([plan.from, plan.to]).toEqual(["1.35.2", "1.36.5"]);
    expect(plan.stages.map((s) => s.kind)).toEqual([
      "preflight",
      "etcd-snapshot",
      "control-plane",
      "control-plane",
      "control-plane",
      "pool",
      "pool",
    ]);
    // stacks/Pulumi.prod.yaml: general has maxSize 20, batch 10; no wave above a fifth.
    expect(plan.stages.find((s) => s.name === "general")?.waves).toEqual([1, 4, 4, 4, 4, 3]);
    expect(readFileSync(join(dir, "upgrade-plan.md"), "utf8")).toContain("`kubeadm upgrade apply`");
    expect(readFileSync(join(dir, "upgrade-plan.md"), "utf8")).toContain("each node drained within 600 s");

    const out = mkdtempSync(join(tmpdir(), "refused-"));
    const cli = [join(ROOT, "tools/render/cli.ts"), "--stack", "prod", "--out", out, "--deployed-version"];
    const refused = await run(TSX, [...cli, "1.34.0"], { cwd: ROOT }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain("kubeadm-alicloud:kubernetesVersion: is 1.36.5, 2 minors past 1.34.0");
    expect(refused?.stderr).toContain("a 1.35 release, then 1.36.5");
    expect(() => readFileSync(join(out, "upgrade-plan.json"))).toThrow();
    const bad = await run(TSX, [...cli, "latest"], { cwd: ROOT }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain("--deployed-version:");
  });
});
