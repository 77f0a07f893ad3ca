// The guardrail policies, run on what the real program registers under mocks: passing
// stacks, failing stacks, and deliberately broken resources (what a hand-edited
// program or a bypassed validation could produce).
import { beforeAll, describe, expect, it } from "vitest";
import { checkGuardrails, type GuardedResource } from "../policy/guardrails";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const asGuarded = (rs: RecordedResource[]): GuardedResource[] =>
  rs.map((r) => ({
    type: r.type,
    name: r.name,
    props: structuredClone(r.inputs) as Record<string, unknown>,
  }));
const policies = (rs: GuardedResource[]) => [...new Set(checkGuardrails(rs).map((v) => v.policy))].sort();
const edit = (
  rs: GuardedResource[],
  match: (r: GuardedResource) => boolean,
  change: (props: Record<string, unknown>) => void,
) => {
  const hits = rs.filter(match);
  expect(hits.length).toBeGreaterThan(0);
  for (const r of hits) change(r.props);
  return rs;
};
const tagged = (env: string) => (props: Record<string, unknown>) => {
  if (props.tags) (props.tags as Record<string, string>)["kubeadm-alicloud.io/environment"] = env;
};

describe("guardrail policies", () => {
  let prod: GuardedResource[];
  beforeAll(async () => {
    prod = asGuarded(await declareCluster(recorder, specFor({ clusterName: "gp" }, "prod")));
  });

  it("a prod stack as the program builds it passes every guardrail", () => {
    expect(checkGuardrails(prod)).toEqual([]);
  });

  it("prod with encryption at rest turned off (with a reason) fails the encryption guardrail", async () => {
    const rs = asGuarded(
      await declareCluster(
        recorder,
        specFor(
          {
            clusterName: "gp2",
            apiServer: { encryptionAtRest: { enabled: false, reason: "trying it without" } },
          },
          "prod",
        ),
      ),
    );
    const v = checkGuardrails(rs);
    expect(v.map((x) => [x.policy, x.resource])).toEqual([["prod-encryption-at-rest", "gp2-cp-0"]]);
    expect(v[0]?.message).toContain("without --encryption-provider-config");
  });

  it("a dev-sized cluster labelled prod fails high availability and deletion protection", async () => {
    // Unprotected, as a dev stack that opted out of deletion protection.
    const rs = asGuarded(
      await declareCluster(
        recorder,
        specFor(
          { clusterName: "gp3", zones: ["cn-hangzhou-h"], controlPlane: { deletionProtection: false } },
          "dev",
        ),
      ),
    );
    expect(checkGuardrails(rs)).toEqual([]);
    edit(rs, () => true, tagged("prod"));
    expect(policies(rs)).toEqual(["prod-control-plane-highly-available", "prod-deletion-protection"]);
    const ha = checkGuardrails(rs)
      .filter((v) => v.policy === "prod-control-plane-highly-available")
      .map((v) => v.message);
    expect(ha).toEqual([
      "prod has 1 control plane(s); run 3 or 5",
      "prod control planes sit in 1 zone(s); spread them over at least 2",
    ]);
  });

  it("an unprotected control plane or scaling group in prod is named", () => {
    const rs = structuredClone(prod);
    edit(
      rs,
      (r) => r.name === "gp-cp-1",
      (p) => {
        p.deletionProtection = false;
      },
    );
    edit(
      rs,
      (r) => r.type === "alicloud:ess/scalingGroup:ScalingGroup",
      (p) => {
        p.groupDeletionProtection = false;
      },
    );
    expect(
      checkGuardrails(rs)
        .map((v) => v.resource)
        .sort(),
    ).toEqual(["gp-cp-1", "gp-pool-default-group"]);
  });

  it("SSH open to the world fails anywhere; the API open to the world fails in prod", async () => {
    const world = (port: string) => ({
      type: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
      name: `added-${port}`,
      props: { type: "ingress", ipProtocol: "tcp", portRange: port, cidrIp: "0.0.0.0/0", policy: "accept" },
    });
    const dev = asGuarded(await declareCluster(recorder, specFor({ clusterName: "gp4" }, "dev")));
    expect(checkGuardrails([...dev, world("22/22")]).map((v) => v.message)).toEqual([
      "added-22/22 opens SSH to the whole internet",
    ]);
    expect(checkGuardrails([...dev, world("6443/6443")])).toEqual([]);
    expect(checkGuardrails([...prod, world("6443/6443")]).map((v) => v.policy)).toEqual([
      "no-world-open-api-or-ssh",
    ]);
    expect(checkGuardrails([...prod, world("-1/-1")]).map((v) => v.message)).toEqual([
      "added--1/-1 opens SSH to the whole internet",
      "added--1/-1 opens the Kubernetes API to the whole internet",
    ]);
    // A deny rule for the world is fine.
    expect(
      checkGuardrails([...prod, { ...world("22/22"), props: { ...world("22/22").props, policy: "drop" } }]),
    ).toEqual([]);
  });

  it("a prod public API whose allow-list holds 0.0.0.0/0 fails", async () => {
    const rs = asGuarded(
      await declareCluster(
        recorder,
        specFor(
          { clusterName: "gp5", apiEndpoint: { public: true, allowedCidrs: ["198.51.100.0/24"] } },
          "prod",
        ),
      ),
    );
    expect(checkGuardrails(rs)).toEqual([]);
    edit(
      rs,
      (r) => r.type === "alicloud:slb/aclEntryAttachment:AclEntryAttachment",
      (p) => {
        p.entry = "0.0.0.0/0";
      },
    );
    expect(checkGuardrails(rs).map((v) => v.message)).toEqual([
      "gp5-api-allowed-198-51-100-0-24 lets the whole internet reach the public API",
    ]);
    // The deprecated form, an ACL's own entry list, is caught as well.
    edit(
      rs,
      (r) => r.type === "alicloud:slb/acl:Acl",
      (p) => {
        p.entryLists = [{ entry: "0.0.0.0/0" }];
      },
    );
    expect(checkGuardrails(rs)).toHaveLength(2);
  });

  it("a key or a token put back into user data fails, on instances and launch templates alike", async () => {
    const rs = asGuarded(await declareCluster(recorder, specFor({ clusterName: "gp6" }, "dev")));
    expect(checkGuardrails(rs)).toEqual([]);
    const key = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
    edit(
      rs,
      (r) => r.name === "gp6-cp-0",
      (p) => {
        p.userData = String(p.userData).replace(
          "runcmd:",
          `  - path: /etc/x/ca.key\n    content: ${JSON.stringify(key)}\nruncmd:`,
        );
      },
    );
    edit(
      rs,
      (r) => r.type === "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate",
      (p) => {
        const doc = Buffer.from(String(p.userData), "base64")
          .toString("utf8")
          .replace("runcmd:", "  - path: /etc/x/token\n    content: abcdef.0123456789abcdef\nruncmd:");
        p.userData = Buffer.from(doc).toString("base64");
      },
    );
    expect(
      checkGuardrails(rs)
        .map((v) => v.message)
        .sort(),
    ).toEqual([
      "gp6-cp-0: user data carries a private key or token in /etc/x/ca.key",
      "gp6-pool-default: user data carries a private key or token in /etc/x/token",
    ]);
  });
});
