// Where the deploy-time ECS client gets its credentials: the standard Alibaba Cloud chain
// (@alicloud/credentials), fed the alicloud provider's own variable names too. Each case
// runs the real client in a fresh process (harness/ecs-probe.ts) with only the
// environment and HOME it sets up, against fake-ecs.py, and reads off the wire which
// key signed the request.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { credentialEnvironment } from "../components/cloud-assistant";
import {
  fakeEcsFiles,
  readEcsLog,
  signedBy,
  startFakeEcs,
  type EcsRequest,
  type FakeEcs,
} from "./harness/fake-ecs";

const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const PROBE = join(__dirname, "harness", "ecs-probe.ts");
const NETNS = join(__dirname, "harness", "metadata-netns.sh");

let fakes: FakeEcs[] = [];
afterEach(() => {
  for (const f of fakes) f.stop();
  fakes = [];
});

/** A HOME with the given files, e.g. {".aliyun/config.json": "..."}. */
function home(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "home-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Run the probe with exactly `env` (plus PATH), against a fresh fake ECS; the request it sent. */
async function probe(
  env: Record<string, string>,
): Promise<{ status: number; output: string; request?: EcsRequest }> {
  const f = await startFakeEcs({});
  fakes.push(f);
  const r = spawnSync(TSX, [PROBE, "cn-hangzhou", "i-probe"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home(),
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      KUBEADM_ALICLOUD_ECS_ENDPOINT: f.url,
      ...env,
    },
  });
  return {
    status: r.status ?? -1,
    output: `${r.stdout}${r.stderr}`,
    request: f.calls("DescribeCloudAssistantStatus")[0],
  };
}

describe("the credential chain", () => {
  it("reads the SDK's environment variables", async () => {
    const p = await probe({ ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAI-env", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s" });
    expect(p.status, p.output).toBe(0);
    expect(p.request && signedBy(p.request)).toBe("LTAI-env");
    expect(p.request?.headers["x-acs-credentials-provider"]).toBe("default/env");
    expect(p.request?.headers["x-acs-security-token"]).toBeUndefined();
  });

  it("reads the alicloud provider's ALICLOUD_* variables, STS token included, with the provider's precedence", async () => {
    const p = await probe({
      ALICLOUD_ACCESS_KEY: "STS.provider",
      ALICLOUD_SECRET_KEY: "s",
      ALICLOUD_SECURITY_TOKEN: "sts-token",
      ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAI-other",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "o",
    });
    expect(p.status, p.output).toBe(0);
    expect(p.request && signedBy(p.request)).toBe("STS.provider");
    expect(p.request?.headers["x-acs-security-token"]).toBe("sts-token");
    // The mapping itself: ALICLOUD_* first (terraform-provider-alicloud provider.go), only what is set.
    expect(
      credentialEnvironment({
        ALICLOUD_PROFILE: "p",
        ALIBABA_CLOUD_PROFILE: "q",
        ALICLOUD_ECS_ROLE_NAME: "r",
      }),
    ).toEqual({ ALIBABA_CLOUD_PROFILE: "p", ALIBABA_CLOUD_ECS_METADATA: "r" });
  });

  it("reads the aliyun CLI's ~/.aliyun/config.json, choosing the profile ALICLOUD_PROFILE names", async () => {
    const config = JSON.stringify({
      current: "a",
      profiles: [
        {
          name: "a",
          mode: "AK",
          access_key_id: "LTAI-cli-a",
          access_key_secret: "sa",
          region_id: "cn-hangzhou",
        },
        {
          name: "b",
          mode: "AK",
          access_key_id: "LTAI-cli-b",
          access_key_secret: "sb",
          region_id: "cn-hangzhou",
        },
      ],
    });
    const dir = home({ ".aliyun/config.json": config });
    const current = await probe({ HOME: dir });
    expect(current.status, current.output).toBe(0);
    expect(current.request && signedBy(current.request)).toBe("LTAI-cli-a");
    const named = await probe({ HOME: dir, ALICLOUD_PROFILE: "b" });
    expect(named.request && signedBy(named.request)).toBe("LTAI-cli-b");
    expect(named.request?.headers["x-acs-credentials-provider"]).toBe("default/cli_profile");
  });

  it("reads ~/.alibabacloud/credentials", async () => {
    const p = await probe({
      HOME: home({
        ".alibabacloud/credentials":
          "[default]\ntype = access_key\naccess_key_id = LTAI-ini\naccess_key_secret = si\n",
      }),
    });
    expect(p.status, p.output).toBe(0);
    expect(p.request && signedBy(p.request)).toBe("LTAI-ini");
    expect(p.request?.headers["x-acs-credentials-provider"]).toBe("default/profile");
  });

  it("fails with every source's reason when nothing is configured", async () => {
    const p = await probe({});
    expect(p.status).toBe(1);
    expect(p.output).toContain("unable to get credentials from any of the providers in the chain");
    expect(p.request).toBeUndefined();
  });

  it("uses the ECS instance's RAM role from the metadata service (its real address, in a private network namespace)", () => {
    // The library's metadata address is fixed (src/providers/ecs_ram_role.ts: 100.100.100.200),
    // so the fake answers there, on lo of a namespace of our own.
    const files = fakeEcsFiles({
      metadataRole: "ci-runner",
      metadataKey: { AccessKeyId: "STS.role-key", AccessKeySecret: "rs", SecurityToken: "role-token" },
    });
    const r = spawnSync(
      "unshare",
      ["-rn", "bash", NETNS, files.config, files.dir, "--", TSX, PROBE, "cn-hangzhou", "i-probe"],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", HOME: home() },
      },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const request = readEcsLog(join(files.dir, "ecs.jsonl")).find(
      (q) => q.action === "DescribeCloudAssistantStatus",
    );
    expect(request && signedBy(request)).toBe("STS.role-key");
    expect(request?.headers["x-acs-security-token"]).toBe("role-token");
    expect(request?.headers["x-acs-credentials-provider"]).toBe("default/ecs_ram_role");
    // Hardened metadata mode: a token first, then the token on every read.
    const md = readEcsLog(join(files.dir, "metadata.jsonl"));
    expect(md.map((q) => `${q.method} ${q.path}`)).toContain(
      "GET /latest/meta-data/ram/security-credentials/ci-runner",
    );
    expect(md[0]?.method).toBe("PUT");
    expect(
      md
        .filter((q) => q.method === "GET")
        .every((q) => q.headers["x-aliyun-ecs-metadata-token"] === "md-token-ecs"),
    ).toBe(true);
  });
});
