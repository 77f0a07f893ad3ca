// Bootstrap tokens live in the cluster as Secrets Pulumi manages with their OOS values,
// and are renewed by a pulumi up before they expire. The Secret's format is
// k8s.io/cluster-bootstrap/token/api/types.go (v0.36); kube-controller-manager's
// tokencleaner deletes it at `expiration`.
import { beforeAll, describe, expect, it } from "vitest";
import { tokenSecretData, tokenWindow } from "../plan/tokens";
import { installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2026-11-29T00:00:00Z");

describe("renewal windows (plan/tokens.ts)", () => {
  it("a token issued at any moment lives at least the renewal window and at most its TTL; the window renews before it expires", () => {
    const ttl = 720;
    const renewBefore = 168;
    for (let k = 0; k < 2000; k++) {
      const now = T0 + Math.floor(((k * 7919) % 100_000) * 37 * 60_000);
      const w = tokenWindow(now, ttl, renewBefore);
      const left = Date.parse(w.expiresAt) - now;
      expect(left).toBeGreaterThanOrEqual(renewBefore * HOUR);
      expect(left).toBeLessThanOrEqual(ttl * HOUR);
      // The next window starts renewBefore before this window's token expires.
      expect(Date.parse(w.expiresAt) - Date.parse(w.renewFrom)).toBe(renewBefore * HOUR);
      expect(Date.parse(w.renewFrom)).toBeGreaterThan(now);
    }
  });

  it("the same window for every pulumi up inside it; the next window for an up after renewFrom", () => {
    const a = tokenWindow(T0, 720, 168);
    expect(tokenWindow(Date.parse(a.renewFrom) - 1, 720, 168).index).toBe(a.index);
    expect(tokenWindow(Date.parse(a.renewFrom), 720, 168).index).toBe(a.index + 1);
    expect(a.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("the Secret data has exactly cluster-bootstrap's keys, and refuses a group the API server would not accept", () => {
    const data = tokenSecretData({
      id: "abcdef",
      secret: "0123456789abcdef",
      expiresAt: "2026-12-29T00:00:00Z",
      groups: ["system:bootstrappers:kubeadm:default-node-token"],
      description: "d",
    });
    expect(data).toEqual({
      "token-id": "abcdef",
      "token-secret": "0123456789abcdef",
      expiration: "2026-12-29T00:00:00Z",
      "usage-bootstrap-authentication": "true",
      "usage-bootstrap-signing": "true",
      "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
      description: "d",
    });
    expect(() =>
      tokenSecretData({ id: "a", secret: "b", expiresAt: "x", groups: ["system:nodes"], description: "" }),
    ).toThrow(/must start with system:bootstrappers:/);
  });
});

describe("under mocks: every token is a Secret in the cluster, with its OOS value", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });
  const secretsOf = (rs: RecordedResource[]) =>
    rs.filter((r) => r.type === "kubernetes:core/v1:Secret" && r.name.includes("-token-"));
  const randomOf = (rs: RecordedResource[], name: string) =>
    rs.find((r) => r.name === name) as RecordedResource;
  const declare = async (now: number, pools: string[]) => {
    const { KubeadmCluster } = await import("../components/cluster");
    const { settle } = await import("../tools/render/mock-runtime");
    recorder.reset();
    const spec = specFor({
      clusterName: "tok",
      nodePools: pools.map((name) => ({ name, instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 3 })),
    });
    new KubeadmCluster(spec.clusterName, { spec, now });
    await settle();
    return [...recorder.resources];
  };

  it("the control planes' and each pool's token: named by its id, type bootstrap.kubernetes.io/token, value a Pulumi secret equal to OOS's", async () => {
    const rs = await declare(T0, ["general"]);
    const secrets = secretsOf(rs);
    expect(secrets.map((s) => s.name).sort()).toEqual(["tok-token-control-plane", "tok-token-general"]);
    const window = tokenWindow(T0, 720, 168);
    for (const s of secrets) {
      const owner = s.name.replace(/^tok-token-/, "");
      const id = randomOf(rs, `tok-token-${owner}-id`).inputs;
      expect(id.keepers).toEqual({ generation: "1", window: String(window.index) });
      const data = s.inputs.stringData as Record<string, string>;
      expect(s.inputs).toMatchObject({
        type: "bootstrap.kubernetes.io/token",
        metadata: { name: `bootstrap-token-${data["token-id"]}`, namespace: "kube-system" },
      });
      expect(data.expiration).toBe(window.expiresAt);
      expect(s.secretPaths).toContain("stringData");
      const oos = rs.find(
        (r) =>
          r.inputs.secretParameterName ===
          `kubeadm-alicloud-tok-token-${owner === "control-plane" ? "control-plane" : `pool-${owner}`}`,
      ) as RecordedResource;
      expect(oos.inputs.value).toBe(`${data["token-id"]}.${data["token-secret"]}`);
    }
    // Through their own provider: it adopts the control planes' token kubeadm init created.
    // (Provider configuration reaches the engine as strings.)
    const provider = rs.find(
      (r) => r.type === "pulumi:providers:kubernetes" && r.name === "tok-bootstrap-tokens",
    );
    expect(provider?.inputs).toMatchObject({ upsertExistingObjects: "true", enablePatchForce: "true" });
    expect(secrets.every((s) => s.provider.includes("tok-bootstrap-tokens"))).toBe(true);
  });

  it("day 31: a pulumi up issues new tokens (new window); day 90: a pool added then gets its Secret too", async () => {
    const day0 = await declare(T0, ["general"]);
    const day31 = await declare(T0 + 31 * DAY, ["general"]);
    const keepers = (rs: RecordedResource[]) =>
      randomOf(rs, "tok-token-general-id").inputs.keepers as Record<string, string>;
    expect(keepers(day31).window).not.toBe(keepers(day0).window);
    const expiry = (rs: RecordedResource[]) =>
      (secretsOf(rs).find((s) => s.name === "tok-token-general")?.inputs.stringData as Record<string, string>)
        .expiration;
    expect(Date.parse(expiry(day31) ?? "")).toBeGreaterThan(T0 + 31 * DAY + 168 * HOUR - 1);
    const day90 = await declare(T0 + 90 * DAY, ["general", "late"]);
    expect(
      secretsOf(day90)
        .map((s) => s.name)
        .sort(),
    ).toEqual(["tok-token-control-plane", "tok-token-general", "tok-token-late"]);
  });
});
