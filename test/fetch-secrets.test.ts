// bootstrap/fetch-secrets.py, the only code that touches a node's secrets, run for real
// against a local stand-in for the metadata service and OOS (harness/fake-cloud.py).
// The request signature is checked two ways: the fetcher reproduces the worked example
// in Alibaba Cloud's V3 signature documentation, and every request it sends is
// re-signed here by an independent implementation (node:crypto) and compared.
import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FETCHER_PATH } from "../plan/node-bootstrap";
import { startFakeCloud, type FakeCloud, type LoggedRequest } from "./harness/harness";

const ENCODE = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** ACS3-HMAC-SHA256, written from the documentation independently of the fetcher. */
function acs3(
  method: string,
  query: URLSearchParams,
  headers: Record<string, string>,
  signed: string[],
  secret: string,
): string {
  const canonicalQuery = [...query.entries()]
    .map(([k, v]) => `${ENCODE(k)}=${ENCODE(v)}`)
    .sort()
    .join("&");
  const canonicalHeaders = signed.map((h) => `${h}:${(headers[h] ?? "").trim()}\n`).join("");
  const request = [
    method,
    "/",
    canonicalQuery,
    canonicalHeaders,
    signed.join(";"),
    headers["x-acs-content-sha256"] ?? "",
  ].join("\n");
  const toSign = `ACS3-HMAC-SHA256\n${createHash("sha256").update(request).digest("hex")}`;
  return createHmac("sha256", secret).update(toSign).digest("hex");
}

// The worked example of
// https://help.aliyun.com/zh/model-studio/user-guide/roa-style-request-body-signature-mechanism
// (Alibaba Cloud SDK "V3 request body & signature"): RunInstances on ecs.cn-shanghai with
// AccessKeySecret "YourAccessKeySecret" signs to e521358f...4804.
const DOC = {
  query: { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" },
  headers: {
    host: "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-acs-date": "2023-10-26T09:01:01Z",
    "x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
    "x-acs-version": "2014-05-26",
  },
  secret: "YourAccessKeySecret",
  signature: "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804",
};

/**
 * Python interpreters to run the fetcher with: the machine's, and 3.6 (Alibaba Cloud Linux 3's
 * platform-python) when pyenv has it.
 */
const PY36 = [join(homedir(), ".pyenv", "versions", "3.6.15", "bin", "python3.6")].find((p) => existsSync(p));
const PYTHONS = ["python3", ...(PY36 ? [PY36] : [])];

interface Fetch {
  status: number;
  output: string;
  dest: string;
}

function fetch(cloud: FakeCloud, manifest: string, python = "python3", extra: readonly string[] = []): Fetch {
  const dir = mkdtempSync(join(tmpdir(), "fetch-"));
  writeFileSync(join(dir, "secrets.list"), manifest);
  const dest = join(dir, "secrets");
  // A permissive umask, as a careless caller might leave it: the modes must not depend on it.
  const r = spawnSync(
    "sh",
    [
      "-c",
      'umask 000; exec "$@"',
      "sh",
      python,
      FETCHER_PATH,
      "--region",
      "cn-hangzhou",
      "--manifest",
      join(dir, "secrets.list"),
      "--dest",
      dest,
      "--metadata-url",
      cloud.url,
      "--endpoint",
      cloud.url,
      "--backoff-seconds",
      "0.01",
      ...extra,
    ],
    { encoding: "utf8" },
  );
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`, dest };
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const PARAMETERS = {
  "kubeadm-alicloud-t-pki-ca-key": "-----BEGIN PRIVATE KEY-----\nsecret-ca\n-----END PRIVATE KEY-----\n",
  "kubeadm-alicloud-t-token-pool-general": "abcdef.0123456789abcdef",
};
const MANIFEST =
  "kubeadm-alicloud-t-pki-ca-key pki/ca.key\nkubeadm-alicloud-t-token-pool-general bootstrap-token\n";

let clouds: FakeCloud[] = [];
async function cloud(config: Parameters<typeof startFakeCloud>[0]): Promise<FakeCloud> {
  const c = await startFakeCloud(config);
  clouds.push(c);
  return c;
}
afterEach(() => {
  for (const c of clouds) c.stop();
  clouds = [];
});

describe("request signing (ACS3-HMAC-SHA256)", () => {
  it("the test's own implementation reproduces the documented example", () => {
    const signed = Object.keys(DOC.headers).sort();
    expect(acs3("POST", new URLSearchParams(DOC.query), DOC.headers, signed, DOC.secret)).toBe(DOC.signature);
  });

  it.each(PYTHONS)("the fetcher reproduces the documented example (%s)", (python) => {
    const code = [
      "import importlib.util, json, sys",
      `spec = importlib.util.spec_from_file_location("f", ${JSON.stringify(FETCHER_PATH)})`,
      "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)",
      `d = json.loads(${JSON.stringify(JSON.stringify(DOC))})`,
      'print(m.sign("POST", "/", d["query"], d["headers"], d["secret"])[1])',
    ].join("\n");
    const r = spawnSync(python, ["-c", code], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(DOC.signature);
  });

  it("every OOS request the fetcher sends carries a valid signature over the STS token", async () => {
    const c = await cloud({ parameters: PARAMETERS });
    expect(fetch(c, MANIFEST).status).toBe(0);
    const oos = c.requests().filter((r: LoggedRequest) => r.method === "POST");
    expect(oos).toHaveLength(2);
    for (const r of oos) {
      const auth =
        /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(
          r.headers.authorization ?? "",
        );
      expect(auth, r.headers.authorization).not.toBeNull();
      const [, credential, signedHeaders, signature] = auth as RegExpExecArray;
      const signed = (signedHeaders ?? "").split(";");
      expect(credential).toBe("STS.stub-id");
      expect(signed).toEqual([
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-security-token",
        "x-acs-signature-nonce",
        "x-acs-version",
      ]);
      expect(r.headers["x-acs-security-token"]).toBe("stub-sts-token");
      expect(r.headers["x-acs-version"]).toBe("2019-06-01");
      const query = new URL(r.path, c.url).searchParams;
      expect(query.get("WithDecryption")).toBe("true");
      expect(query.get("RegionId")).toBe("cn-hangzhou");
      expect(acs3("POST", query, r.headers, signed, "stub-secret")).toBe(signature);
      // Negative control: the check is sensitive to the key and to what is signed.
      expect(acs3("POST", query, r.headers, signed, "other-secret")).not.toBe(signature);
      expect(
        acs3("POST", query, { ...r.headers, "x-acs-security-token": "forged" }, signed, "stub-secret"),
      ).not.toBe(signature);
    }
    // Two requests never share a nonce (replay protection).
    expect(new Set(oos.map((r) => r.headers["x-acs-signature-nonce"])).size).toBe(2);
  });
});

describe("fetching a node's secrets", () => {
  it.each(PYTHONS)(
    "writes each secret root-only (0600 files, 0700 directories) whatever the umask (%s)",
    async (python) => {
      const c = await cloud({ parameters: PARAMETERS });
      const run = fetch(c, MANIFEST, python);
      expect(run.status, run.output).toBe(0);
      expect(mode(run.dest)).toBe("700");
      expect(mode(join(run.dest, "pki"))).toBe("700");
      expect(mode(join(run.dest, "pki", "ca.key"))).toBe("600");
      expect(mode(join(run.dest, "bootstrap-token"))).toBe("600");
      expect(spawnSync("cat", [join(run.dest, "pki", "ca.key")], { encoding: "utf8" }).stdout).toBe(
        PARAMETERS["kubeadm-alicloud-t-pki-ca-key"],
      );
      // The metadata service was asked in hardened mode: token first, then the token on every read.
      const md = c.requests().filter((r) => r.method !== "POST");
      expect(md[0]?.method).toBe("PUT");
      expect(md.slice(1).every((r) => r.headers["x-aliyun-ecs-metadata-token"] === "md-token-123")).toBe(
        true,
      );
      for (const value of Object.values(PARAMETERS))
        expect(run.output).not.toContain(value.trim().split("\n")[1] ?? value);
    },
  );

  it("waits for the RAM role to be attached and retries OOS outages with backoff", async () => {
    const c = await cloud({ parameters: PARAMETERS, roleAfter: 2, failFirst: 3 });
    const run = fetch(c, MANIFEST);
    expect(run.status, run.output).toBe(0);
    expect(c.requests().filter((r) => r.path === "/latest/meta-data/ram/security-credentials/")).toHaveLength(
      3,
    );
    expect(c.requests().filter((r) => r.method === "POST")).toHaveLength(5);
    expect(run.output).toMatch(
      /RAM role of this instance: try 1 failed \(HTTP 404\); again in 0.01s \(600s of 600s left\)/,
    );
    expect(run.output).toMatch(
      /try 3 of 8 failed \(HTTP 503 ServiceUnavailable: stub outage\); again in 0.04s/,
    );
  });

  it("waits for a role attached late for a time budget, not a number of tries", async () => {
    // 25 polls without a role: far more than the 8 tries every other step gets.
    const c = await cloud({ parameters: PARAMETERS, roleAfter: 25 });
    const run = fetch(c, MANIFEST, "python3", ["--role-wait-seconds", "60"]);
    expect(run.status, run.output).toBe(0);
    expect(c.requests().filter((r) => r.path === "/latest/meta-data/ram/security-credentials/")).toHaveLength(
      26,
    );
    expect(run.output).toMatch(
      /RAM role of this instance: try 25 failed \(HTTP 404\); again in 0.05s \(\d+s of 60s left\)/,
    );
  });

  it("gives up on the role when its time budget is spent, and asks OOS nothing", async () => {
    const c = await cloud({ parameters: PARAMETERS, roleAfter: 1_000_000 });
    const started = Date.now();
    const run = fetch(c, MANIFEST, "python3", ["--role-wait-seconds", "1.5"]);
    const took = (Date.now() - started) / 1000;
    expect(run.status).toBe(1);
    expect(run.output).toMatch(
      /FAILED: RAM role of this instance: gave up after 1.5s \(\d+ tries\): HTTP 404/,
    );
    expect(took).toBeGreaterThanOrEqual(1.5);
    expect(took).toBeLessThan(10);
    expect(
      c.requests().filter((r) => r.path === "/latest/meta-data/ram/security-credentials/").length,
    ).toBeGreaterThan(8);
    expect(c.requests().filter((r) => r.method === "POST")).toEqual([]);
  });

  it("keeps the other steps' budget of tries while the role has a long one", async () => {
    const c = await cloud({ parameters: PARAMETERS, failFirst: 100 });
    const run = fetch(c, MANIFEST, "python3", ["--role-wait-seconds", "600"]);
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      "secret kubeadm-alicloud-t-pki-ca-key: gave up after 8 tries: HTTP 503 ServiceUnavailable: stub outage",
    );
    expect(c.requests().filter((r) => r.method === "POST")).toHaveLength(8);
  });

  it("fails closed: one unreadable secret and nothing is written, with OOS's reason", async () => {
    const c = await cloud({ parameters: PARAMETERS, deny: ["kubeadm-alicloud-t-token-pool-general"] });
    const run = fetch(c, MANIFEST);
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      "secret kubeadm-alicloud-t-token-pool-general: gave up after 8 tries: HTTP 403 Forbidden.RAM",
    );
    // The first secret was read, but not written: no half-provisioned node.
    expect(existsSync(run.dest) ? readdirSync(run.dest) : []).toEqual([]);
  });

  it("does not retry what cannot succeed: a parameter that does not exist", async () => {
    const c = await cloud({ parameters: {} });
    const run = fetch(c, MANIFEST);
    expect(run.status).toBe(1);
    expect(run.output).toContain(
      "OOS refused kubeadm-alicloud-t-pki-ca-key: HTTP 404 EntityNotExists.SecretParameter",
    );
    expect(c.requests().filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it.each([
    ["a path that climbs out", "kubeadm-alicloud-t-pki-ca-key ../../etc/shadow\n"],
    ["an absolute path", "kubeadm-alicloud-t-pki-ca-key /etc/shadow\n"],
    ["a name OOS would not have", "kubeadm-alicloud-t/../x ca.key\n"],
    ["an empty manifest", "# nothing\n"],
  ])("refuses %s before asking anything", async (_what, manifest) => {
    const c = await cloud({ parameters: PARAMETERS });
    const run = fetch(c, manifest);
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/FAILED: .*(bad parameter name or path|no secrets listed)/);
    expect(c.requests()).toEqual([]);
  });
});
