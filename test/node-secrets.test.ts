// Secrets never sit in user data: the plan of who reads what, the OOS parameters and
// RAM policies the program declares for it, and a scan of every rendered user data.
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError } from "../config/validate";
import { type WriteFile } from "../plan/node-bootstrap";
import {
  nodeSecretItems,
  poolReader,
  readerPolicy,
  secretManifest,
  type SecretReader,
} from "../plan/node-secrets";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";

const T = {
  instance: "alicloud:ecs/instance:Instance",
  template: "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate",
  parameter: "alicloud:oos/secretParameter:SecretParameter",
  policy: "alicloud:ram/policy:Policy",
  attachment: "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
  role: "alicloud:ram/role:Role",
};

const POOLS = [
  { name: "general", instanceTypes: ["ecs.g7.large"], minSize: 1, maxSize: 5 },
  { name: "batch", instanceTypes: ["ecs.c7.2xlarge"], minSize: 1, maxSize: 10 },
];

/** Every file of a node's user data, decoded as cloud-init would write it, plus the raw document. */
function userDataTexts(r: RecordedResource): string[] {
  const raw = String(r.inputs.userData);
  const text = r.type === T.template ? Buffer.from(raw, "base64").toString("utf8") : raw;
  const doc = parse(text) as { write_files: WriteFile[] };
  return [
    text,
    ...doc.write_files.map((f) =>
      f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")).toString("utf8") : f.content,
    ),
  ];
}

const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const TOKEN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/;

/** What a user-data scan finds: PEM private keys, bootstrap tokens, or any known secret value. */
function leaks(texts: readonly string[], secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const t of texts) {
    if (PEM_KEY.test(t)) found.push("PEM private key");
    if (TOKEN.test(t)) found.push(`token ${TOKEN.exec(t)?.[0]}`);
    for (const s of secrets) if (t.includes(s.trim())) found.push(`secret value ${s.slice(0, 20)}…`);
  }
  return found;
}

describe("plan: who reads which secret", () => {
  const spec = specFor({ clusterName: "sec", nodePools: POOLS });

  it("parameter names are valid OOS names, unique, and never start with a reserved prefix", () => {
    const names = nodeSecretItems(spec).map((i) => i.parameterName);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n).toMatch(/^[A-Za-z0-9_-]{2,180}$/);
      expect(n).not.toMatch(/^(ALIYUN|ACS|ALIBABA|ALICLOUD|OOS)/i);
    }
    expect(names).toEqual([
      "kubeadm-alicloud-sec-pki-ca-key",
      "kubeadm-alicloud-sec-pki-etcd-ca-key",
      "kubeadm-alicloud-sec-pki-front-proxy-ca-key",
      "kubeadm-alicloud-sec-pki-sa-key",
      "kubeadm-alicloud-sec-encryption-config",
      "kubeadm-alicloud-sec-token-control-plane",
      "kubeadm-alicloud-sec-cluster-initialized",
      "kubeadm-alicloud-sec-token-pool-general",
      "kubeadm-alicloud-sec-token-pool-batch",
    ]);
  });

  it("a pool's role may read only its own token; control planes read keys, the encryption key, their token and the marker, no pool's token", () => {
    const granted = (reader: SecretReader) =>
      readerPolicy(spec, reader).Statement.find((s) => s.Action.includes("oos:GetSecretParameter"))?.Resource;
    expect(granted(poolReader("general"))).toEqual([
      "acs:oos:cn-hangzhou:*:secretparameter/kubeadm-alicloud-sec-token-pool-general",
    ]);
    expect(granted(poolReader("batch"))).toEqual([
      "acs:oos:cn-hangzhou:*:secretparameter/kubeadm-alicloud-sec-token-pool-batch",
    ]);
    expect(granted("control-plane")).toEqual(
      [
        "pki-ca-key",
        "pki-etcd-ca-key",
        "pki-front-proxy-ca-key",
        "pki-sa-key",
        "encryption-config",
        "token-control-plane",
        "cluster-initialized",
      ].map((k) => `acs:oos:cn-hangzhou:*:secretparameter/kubeadm-alicloud-sec-${k}`),
    );
    // Every statement is scoped to the cluster's region; nothing is granted beyond reading.
    for (const reader of ["control-plane", poolReader("general")] as SecretReader[]) {
      for (const st of readerPolicy(spec, reader).Statement) {
        expect(
          st.Action.every((a) => ["oos:GetSecretParameter", "kms:GetSecretValue", "kms:Decrypt"].includes(a)),
        ).toBe(true);
        for (const r of st.Resource) expect(r).toMatch(/^acs:(oos|kms):cn-hangzhou:\*:/);
      }
    }
  });

  // Alibaba's OOS use case "Control access to different encryption parameters from a RAM
  // user" (help.aliyun.com/document_detail/200116) pairs each secretparameter/<name>
  // grant with kms:GetSecretValue on secret/oos/<name>: OOS keeps a secret parameter as
  // the KMS secret oos/<name>. No grant may name every secret or key of the region.
  it("kms:GetSecretValue names exactly the KMS secrets behind the reader's parameters; no wildcard", () => {
    for (const reader of ["control-plane", poolReader("general"), poolReader("batch")] as SecretReader[]) {
      const policy = readerPolicy(spec, reader);
      const params =
        policy.Statement.find((s) => s.Action.includes("oos:GetSecretParameter"))?.Resource ?? [];
      const secrets = policy.Statement.find((s) => s.Action.includes("kms:GetSecretValue"))?.Resource;
      expect(secrets).toEqual(
        params.map((r) => r.replace(/^acs:oos:(.*):secretparameter\//, "acs:kms:$1:secret/oos/")),
      );
      for (const st of policy.Statement) for (const r of st.Resource) expect(r).not.toMatch(/\*$/);
    }
  });

  it("kms:Decrypt only on the chosen key when the stack names one, and not at all on OOS's default key", () => {
    expect(readerPolicy(spec, "control-plane").Statement.flatMap((s) => s.Action)).not.toContain(
      "kms:Decrypt",
    );
  });

  it("kms:Decrypt narrows to the chosen key when the stack names one", () => {
    const withKey = specFor({ clusterName: "sec", pki: { secretsKmsKeyId: "key-hzz62f1cb66fa42qo0001" } });
    const decrypt = readerPolicy(withKey, "control-plane").Statement.find((s) =>
      s.Action.includes("kms:Decrypt"),
    );
    expect(decrypt?.Resource).toEqual(["acs:kms:cn-hangzhou:*:key/key-hzz62f1cb66fa42qo0001"]);
  });

  it("each node's manifest lists only what its role may read, and exactly what the node needs", () => {
    const readable = (reader: SecretReader) =>
      nodeSecretItems(spec)
        .filter((i) => i.readers.includes(reader))
        .map((i) => i.parameterName)
        .sort();
    const fetched = (role: "control-plane" | "worker", pool?: string) =>
      secretManifest(spec, role, pool)
        .map((e) => e.parameterName)
        .sort();
    // A control plane: the keys, the encryption key, its own join token and the
    // cluster-initialized marker; no pool token (Pulumi installs those in the cluster).
    expect(fetched("control-plane")).toEqual(readable("control-plane"));
    expect(readable("control-plane").some((n) => n.includes("-token-pool-"))).toBe(false);
    expect(
      secretManifest(spec, "control-plane")
        .filter((e) => e.optional)
        .map((e) => e.path),
    ).toEqual(["cluster-initialized"]);
    // A pool's node: its own token, which is all its role may read.
    expect(fetched("worker", "batch")).toEqual(readable(poolReader("batch")));
    expect(readable(poolReader("batch"))).toEqual(["kubeadm-alicloud-sec-token-pool-batch"]);
    expect(secretManifest(spec, "worker", "batch").map((e) => e.path)).toEqual(["bootstrap-token"]);
  });

  it("refuses a malformed KMS key id, naming the key", () => {
    expect(() => specFor({ pki: { secretsKmsKeyId: "key with spaces" } })).toThrow(ConfigError);
    expect(() => specFor({ pki: { secretsKmsKeyId: "key with spaces" } })).toThrow(
      /kubeadm-alicloud:pki\.secretsKmsKeyId: .*a KMS key id/,
    );
  });
});

describe("under mocks: the secret store and the user-data scan", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks();
  });

  it.each([
    ["dev", {}],
    ["prod, RSA-4096 keys, two pools", { pki: { keyAlgorithm: "RSA-4096" }, nodePools: POOLS }],
    [
      "staging, ECDSA keys, public API",
      {
        pki: { keyAlgorithm: "ECDSA-P256" },
        apiEndpoint: { public: true, allowedCidrs: ["198.51.100.0/24"] },
      },
    ],
  ] as const)(
    "%s: no user data holds a private key, a token or any value kept in the secret store",
    async (label, overrides) => {
      const stack = label.split(",")[0] as string;
      const rs = await declareCluster(recorder, specFor({ clusterName: "scan", ...overrides }, stack));
      // (The cluster-initialized marker's value is the word "initialized": not a secret to leak.)
      const secrets = rs
        .filter((r) => r.type === T.parameter && !r.name.endsWith("cluster-initialized"))
        .map((r) => String(r.inputs.value));
      expect(secrets.length).toBeGreaterThanOrEqual(6);
      const nodes = rs.filter((r) => r.type === T.instance || r.type === T.template);
      expect(nodes.length).toBeGreaterThanOrEqual(2);
      for (const n of nodes) {
        expect(leaks(userDataTexts(n), secrets), n.name).toEqual([]);
        expect(n.secretPaths).not.toContain("userData");
      }
    },
  );

  it("the scan is not blind: it finds a key, a token and a stored value when they are there", () => {
    const key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
    expect(leaks([`write_files:\n  - content: ${JSON.stringify(key)}`], [])).toEqual(["PEM private key"]);
    expect(leaks(["token: abcdef.0123456789abcdef"], [])).toEqual(["token abcdef.0123456789abcdef"]);
    expect(leaks(["secret: c2VjcmV0LWtleS1ieXRlcw=="], ["c2VjcmV0LWtleS1ieXRlcw=="])).toHaveLength(1);
  });

  it("every secret is an OOS secret parameter whose value is a Pulumi secret, encrypted with the chosen KMS key", async () => {
    const rs = await declareCluster(
      recorder,
      specFor({
        clusterName: "kms",
        nodePools: POOLS,
        pki: { secretsKmsKeyId: "key-hzz62f1cb66fa42qo0001", keyAlgorithm: "RSA-4096" },
      }),
    );
    const params = rs.filter((r) => r.type === T.parameter);
    expect(params.map((p) => p.inputs.secretParameterName).sort()).toEqual(
      nodeSecretItems(specFor({ clusterName: "kms", nodePools: POOLS }))
        .map((i) => i.parameterName)
        .sort(),
    );
    for (const p of params) {
      expect(p.secretPaths).toEqual(["value"]);
      expect(p.inputs).toMatchObject({ type: "Secret", keyId: "key-hzz62f1cb66fa42qo0001" });
      // OOS holds at most 4096 characters: even RSA-4096 keys fit.
      expect(String(p.inputs.value).length).toBeLessThanOrEqual(4096);
    }
    expect(params.filter((p) => String(p.inputs.value).includes("PRIVATE KEY"))).toHaveLength(4);
  });

  it("control planes and each pool have their own role, each with a policy for exactly its secrets", async () => {
    const spec = specFor({ clusterName: "rol", nodePools: POOLS });
    const rs = await declareCluster(recorder, spec);
    // Roles ECS instances hold; the one other role is OOS's, for scale-in drains.
    const trustedBy = (service: string) =>
      rs.filter((r) => r.type === T.role && String(r.inputs.assumeRolePolicyDocument).includes(service));
    expect(trustedBy("oos.aliyuncs.com").map((r) => r.inputs.roleName)).toEqual(["rol-cn-hangzhou-scale-in"]);
    expect(rs.filter((r) => r.type === T.role)).toHaveLength(5);
    expect(
      trustedBy("ecs.aliyuncs.com")
        .map((r) => r.inputs.roleName)
        .sort(),
    ).toEqual([
      "rol-cn-hangzhou-cp-bootstrap",
      "rol-cn-hangzhou-nodes",
      "rol-cn-hangzhou-pool-batch",
      "rol-cn-hangzhou-pool-general",
    ]);
    // The node-secret policies (add-ons bring their own).
    const policies = rs.filter((r) => r.type === T.policy && r.name.includes("-secrets-"));
    const attachments = rs.filter((r) => r.type === T.attachment && r.name.includes("-secrets-"));
    // The control planes' grant goes to the role they hold only while they bootstrap.
    const expected: [SecretReader, string][] = [
      ["control-plane", "rol-cn-hangzhou-cp-bootstrap"],
      [poolReader("general"), "rol-cn-hangzhou-pool-general"],
      [poolReader("batch"), "rol-cn-hangzhou-pool-batch"],
    ];
    expect(policies).toHaveLength(expected.length);
    for (const [reader, role] of expected) {
      const policy = policies.find(
        (p) =>
          JSON.stringify(JSON.parse(String(p.inputs.policyDocument))) ===
          JSON.stringify(readerPolicy(spec, reader)),
      );
      expect(policy, reader).toBeDefined();
      const attached = attachments.filter((a) => a.inputs.policyName === policy?.inputs.policyName);
      expect(
        attached.map((a) => [a.inputs.roleName, a.inputs.policyType]),
        reader,
      ).toEqual([[role, "Custom"]]);
    }
  });
});
