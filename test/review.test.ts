// The credential-free review (issue: pipelines, item 1): two renders of a stack compared,
// and what it flags in bold. Fixture changes rendered by the real render CLI: a pool's
// maxSize, the control planes' instance type, the zone list.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { review, reviewMarkdown, type BundleResource } from "../plan/review/review";

const run = promisify(execFile);
const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

const BASE: Record<string, unknown> = {
  "kubeadm-alicloud:environment": "staging",
  "kubeadm-alicloud:region": "cn-hangzhou",
  "kubeadm-alicloud:zones": ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"],
  "kubeadm-alicloud:controlPlane": { count: 3 },
  "kubeadm-alicloud:nodePools": [{ name: "web", instanceTypes: ["ecs.g7.xlarge"], minSize: 2, maxSize: 6 }],
};

async function rendered(config: Record<string, unknown>): Promise<BundleResource[]> {
  const dir = mkdtempSync(join(tmpdir(), "review-"));
  const file = join(dir, "Pulumi.rv.yaml");
  writeFileSync(file, stringify({ config }));
  await run(TSX, [join(ROOT, "tools/render/cli.ts"), "--stack-file", file, "--out", join(dir, "out")], {
    cwd: ROOT,
  });
  return JSON.parse(readFileSync(join(dir, "out", "resources.json"), "utf8")) as BundleResource[];
}

describe("the review of rendered changes", () => {
  it("a pool's maxSize: one input of its scaling group, nothing in bold", async () => {
    const base = await rendered(BASE);
    const head = await rendered({
      ...BASE,
      "kubeadm-alicloud:nodePools": [
        { name: "web", instanceTypes: ["ecs.g7.xlarge"], minSize: 2, maxSize: 12 },
      ],
    });
    const r = review(base, head);
    expect(r.alerts).toEqual([]);
    expect(r.changed.find((c) => c.name === "rv-pool-web-group")?.inputs).toEqual(["maxSize"]);
    expect(r.added).toEqual([]);
    expect(r.removed).toEqual([]);
  });

  it("a pool's labels: every node of the pool replaced, in bold, and without surge for an in-place pool", async () => {
    const pool = {
      name: "web",
      instanceTypes: ["ecs.g7.xlarge"],
      minSize: 2,
      maxSize: 6,
      upgradeStrategy: "in-place",
    };
    const base = await rendered({ ...BASE, "kubeadm-alicloud:nodePools": [pool] });
    const head = await rendered({
      ...BASE,
      "kubeadm-alicloud:nodePools": [{ ...pool, labels: { tier: "web" } }],
    });
    expect(review(base, head).alerts).toEqual([
      "replaces every node of pool web without surge, a wave out of service at a time: its template changed (image, instance types, disk or user data)",
    ]);
    // A render of the same config draws new keys, yet shows no such change.
    expect(review(base, await rendered({ ...BASE, "kubeadm-alicloud:nodePools": [pool] })).alerts).toEqual(
      [],
    );
  });

  it("the control planes' instance type: each control plane restarted, in bold at the top", async () => {
    const base = await rendered(BASE);
    const head = await rendered({
      ...BASE,
      "kubeadm-alicloud:controlPlane": { count: 3, instanceType: "ecs.g7.2xlarge" },
    });
    const r = review(base, head);
    expect(r.alerts).toEqual([
      "restarts a control plane: rv-cp-0 (instanceType)",
      "restarts a control plane: rv-cp-1 (instanceType)",
      "restarts a control plane: rv-cp-2 (instanceType)",
    ]);
    const md = reviewMarkdown("rv", r);
    expect(md.indexOf("**restarts a control plane: rv-cp-0")).toBeLessThan(md.indexOf("| changed |"));
  });

  it("the zone list: a zone added adds its vSwitches; one taken away removes them and moves its control plane, in bold", async () => {
    const two = await rendered({ ...BASE, "kubeadm-alicloud:zones": ["cn-hangzhou-h", "cn-hangzhou-i"] });
    const three = await rendered(BASE);
    const grown = review(two, three);
    expect(grown.added.map((a) => a.type)).toContain("alicloud:vpc/switch:Switch");
    expect(grown.alerts.filter((a) => a.startsWith("removes"))).toEqual([]);
    const shrunk = review(three, two);
    // Its control plane must move: a new address in another vSwitch stops and starts it
    // (the preview's settings guard refuses this on a deployed stack).
    expect(shrunk.alerts).toEqual([
      "restarts a control plane: rv-cp-2 (privateIp, vswitchId)",
      "removes the network: rv-snat-cn-hangzhou-j",
      "removes the network: rv-snat-cp-cn-hangzhou-j",
      "removes the network: rv-vsw-cn-hangzhou-j",
      "removes the network: rv-vsw-cp-cn-hangzhou-j",
    ]);
  });
});

describe("the review, by its rules", () => {
  const vsw = (cidr: string, extra: Partial<BundleResource> = {}): BundleResource => ({
    type: "alicloud:vpc/switch:Switch",
    name: "v",
    inputs: { cidrBlock: cidr, vswitchName: "v" },
    ...extra,
  });

  it("says which change replaces what, from the provider's ForceNew arguments", () => {
    const r = review([vsw("10.0.0.0/20")], [vsw("10.0.16.0/20")]);
    expect(r.changed[0]?.replacedBy).toEqual(["cidrBlock"]);
    expect(r.alerts).toEqual(["replaces the network: v (cidrBlock)"]);
  });

  it("leaves out inputs Pulumi ignores, and treats an aliased rename as a move", () => {
    const options = { protect: false, deleteBeforeReplace: false, retainOnDelete: false, aliases: [] };
    const ignored = vsw("10.0.16.0/20", { options: { ...options, ignoreChanges: ["cidrBlock"] } });
    expect(review([vsw("10.0.0.0/20")], [ignored]).changed).toEqual([]);
    const renamed: BundleResource = {
      ...vsw("10.0.0.0/20"),
      name: "v2",
      options: { ...options, ignoreChanges: [], aliases: ["urn:pulumi:s::p::alicloud:vpc/switch:Switch::v"] },
    };
    const r = review([vsw("10.0.0.0/20")], [renamed]);
    expect([r.added, r.removed, r.changed]).toEqual([[], [], []]);
    const byName: BundleResource = { ...renamed, options: { ...options, ignoreChanges: [], aliases: ["v"] } };
    expect(review([vsw("10.0.0.0/20")], [byName]).removed).toEqual([]);
    // An alias of another type is no move.
    const other: BundleResource = { ...byName, type: "alicloud:vpc/network:Network" };
    expect(review([vsw("10.0.0.0/20")], [other]).removed).toHaveLength(1);
  });

  it("a key's inputs replace it whatever they are", () => {
    const key = (bits: number): BundleResource => ({
      type: "tls:index/privateKey:PrivateKey",
      name: "ca-key",
      inputs: { algorithm: "RSA", rsaBits: bits },
    });
    expect(review([key(2048)], [key(4096)]).alerts).toEqual([
      "replaces a key, certificate or token: ca-key (rsaBits)",
    ]);
  });
});

describe("npm run review", () => {
  it("renders the base ref in a worktree of its own and prints one section per stack", () => {
    const r = spawnSync(TSX, [join(ROOT, "tools/review/cli.ts"), "--base", "HEAD", "--stack", "dev"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^## Review against HEAD \([0-9a-f]+\)/);
    expect(r.stdout).toContain("### Stack `dev`");
    const clean = spawnSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" }).stdout === "";
    if (clean) expect(r.stdout).toContain("No resource changes.");
    // The worktree is gone again.
    expect(
      spawnSync("git", ["worktree", "list"], { cwd: ROOT, encoding: "utf8" }).stdout.trim().split("\n"),
    ).toHaveLength(1);
  });
});
