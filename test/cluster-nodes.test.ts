// API load balancer, control plane and node pools under mocks: placement, wiring,
// ordering, hardening, secrets.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterSpec } from "../config/spec";
import { controlPlanePlacements } from "../plan/control-plane";
import { RECONFIGURE_COMMAND_SECONDS } from "../plan/control-plane-settings";
import { READINESS_TIMEOUT_SECONDS } from "../components/readiness";
import { fileText, type WriteFile } from "../plan/node-bootstrap";
import { INSTALL_COMMAND_SECONDS, certRenewalInstaller } from "../plan/node-commands";
import { declareCluster, installMocks, specFor, type RecordedResource, type Recorder } from "./kit";
import { mockId } from "../tools/render/mock-runtime";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

const T = {
  instance: "alicloud:ecs/instance:Instance",
  lb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
  listener: "alicloud:slb/listener:Listener",
  serverGroup: "alicloud:slb/serverGroup:ServerGroup",
  attachment: "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment",
  acl: "alicloud:slb/acl:Acl",
  readiness: "pulumi-nodejs:dynamic/kubeadm-alicloud:ReadinessCheck",
  bootstrapRole: "pulumi-nodejs:dynamic/kubeadm-alicloud:BootstrapRole",
  handover: "pulumi-nodejs:dynamic/kubeadm-alicloud:RoleHandover",
  guard: "pulumi-nodejs:dynamic/kubeadm-alicloud:ImmutableSettings",
  tokenSecret: "kubernetes:core/v1:Secret",
  template: "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate",
  group: "alicloud:ess/scalingGroup:ScalingGroup",
  role: "alicloud:ram/role:Role",
  roleAttachment: "alicloud:ecs/ramRoleAttachment:RamRoleAttachment",
  parameter: "alicloud:oos/secretParameter:SecretParameter",
  policy: "alicloud:ram/policy:Policy",
  policyAttachment: "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
};
/** What must exist before any node boots so it can read its secrets. */
const readable = (rs: RecordedResource[]) =>
  rs
    .filter((r) => r.type === T.parameter || (r.type === T.policyAttachment && r.name.includes("-secrets-")))
    .map((r) => r.urn);
/** The OOS parameter names a node's manifest lists. */
const manifestOf = (r: RecordedResource) =>
  (userDataOf(r).write_files.find((f) => f.path === "/etc/kubeadm-alicloud/secrets.list")?.content ?? "")
    .trim()
    .split("\n")
    .map((l) => l.split(" ")[0]);
/** Resources of a type by name: registration order is not deterministic. */
const ofType = (rs: RecordedResource[], t: string) =>
  rs.filter((r) => r.type === t).sort((a, b) => a.name.localeCompare(b.name));
/** The readiness checks proper (the same resource type also installs files after them). */
const readinessChecks = (rs: RecordedResource[]) =>
  ofType(rs, T.readiness).filter((r) => r.name.endsWith("-ready"));
const fileOf = (r: RecordedResource, path: string) =>
  userDataOf(r).write_files.find((f) => f.path === path)?.content ?? "";

/** The cloud-config document in a resource's user data, every file decoded as the node would. */
function userDataOf(r: RecordedResource): { write_files: WriteFile[] } {
  const raw = String(r.inputs.userData);
  const text = r.type === T.template ? Buffer.from(raw, "base64").toString("utf8") : raw;
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  const doc = parse(text) as { write_files: WriteFile[] };
  return { write_files: doc.write_files.map((f) => ({ ...f, content: fileText(f) })) };
}

describe("control plane", () => {
  let spec: ClusterSpec;
  let rs: RecordedResource[];
  beforeAll(async () => {
    spec = specFor({ clusterName: "cpa" }, "prod");
    rs = await declareCluster(recorder, spec);
  });

  // Audit alibaba-resources 3.5: a control plane's fixed address must not be taken by
  // anything else in its vSwitch. Each sits in a /28 vSwitch of its own zone that nothing
  // else uses: no pool, NAT gateway or load balancer is placed there.
  it("spreads three control planes over the zones, each at a fixed address in a vSwitch that holds control planes only", () => {
    const instances = ofType(rs, T.instance);
    const plan = controlPlanePlacements(spec);
    expect(instances.map((i) => [i.name, i.inputs.privateIp])).toEqual(
      plan.map((p) => [p.name, p.privateIp]),
    );
    expect(plan.map((p) => p.privateIp)).toEqual(["10.0.255.116", "10.0.255.132", "10.0.255.148"]);
    const vswitchIds = instances.map((i) => String(i.inputs.vswitchId));
    expect(vswitchIds.map((v) => v.replace(/-[0-9a-f]{8}$/, ""))).toEqual([
      "cpa-vsw-cp-cn-hangzhou-h",
      "cpa-vsw-cp-cn-hangzhou-i",
      "cpa-vsw-cp-cn-hangzhou-j",
    ]);
    const cpSwitches = ofType(rs, "alicloud:vpc/switch:Switch").filter((s) =>
      s.name.startsWith("cpa-vsw-cp-"),
    );
    expect(cpSwitches.map((s) => s.inputs.cidrBlock)).toEqual([
      "10.0.255.112/28",
      "10.0.255.128/28",
      "10.0.255.144/28",
    ]);
    // Every other resource that takes a vSwitch uses the nodes' ones.
    const elsewhere = rs
      .filter((r) => r.type !== T.instance)
      .flatMap((r) => [r.inputs.vswitchId, ...((r.inputs.vswitchIds as unknown[] | undefined) ?? [])])
      .filter(Boolean)
      .map(String);
    expect(elsewhere.length).toBeGreaterThan(0);
    expect(elsewhere.filter((v) => vswitchIds.includes(v))).toEqual([]);
  });

  it("hardens every instance: tokens-only metadata, encrypted disk, deletion protection, the node role", () => {
    for (const i of ofType(rs, T.instance)) {
      expect(i.inputs).toMatchObject({
        httpTokens: "required",
        httpEndpoint: "enabled",
        systemDiskEncrypted: true,
        deletionProtection: true,
        instanceType: "ecs.g7.xlarge",
      });
      expect(String(i.inputs.securityGroups)).toMatch(/^cpa-sg-control-plane-/);
      expect([...i.ignoreChanges].sort()).toEqual(["imageId", "userData"]);
    }
    const attachments = ofType(rs, T.roleAttachment);
    expect(attachments).toHaveLength(3);
    for (const a of attachments) expect(a.inputs.ramRoleName).toBe("cpa-cn-hangzhou-nodes");
    // Every role but OOS's (scale-in drains, trusted by oos.aliyuncs.com) is for ECS instances.
    const nodeRoles = ofType(rs, T.role).filter((r) => !String(r.inputs.roleName).endsWith("-scale-in"));
    expect(nodeRoles.length).toBe(ofType(rs, T.role).length - 1);
    for (const role of nodeRoles) {
      expect(JSON.parse(String(role.inputs.assumeRolePolicyDocument))).toEqual({
        Version: "1",
        Statement: [
          { Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: ["ecs.aliyuncs.com"] } },
        ],
      });
    }
  });

  // Audit alibaba-resources 2.3: etcd lives on the system disk, deleted with its instance.
  it("snapshots every control plane's system disk daily, through one policy", () => {
    const [policy, ...more] = ofType(rs, "alicloud:ecs/autoSnapshotPolicy:AutoSnapshotPolicy");
    expect(more).toEqual([]);
    expect(policy?.inputs).toMatchObject({
      repeatWeekdays: ["1", "2", "3", "4", "5", "6", "7"],
      timePoints: ["3"],
      retentionDays: 7,
    });
    for (const i of ofType(rs, T.instance))
      expect(i.inputs.systemDiskAutoSnapshotPolicyId).toBe(mockId(policy?.type ?? "", policy?.name ?? ""));
  });

  // Audit alibaba-resources 2.1: the provider changes an instance type by StopInstance,
  // ModifyInstanceSpec, StartInstance, waiting only for Running
  // (resource_alicloud_instance.go modifyInstanceType). The readiness check of each
  // control plane carries the type as its revision, so a change re-runs it after that
  // node's restart, and the next control plane (which depends on it) is stopped only
  // once the one before serves again: never two at once.
  it("a new instance type restarts control planes one at a time, each gated by its readiness check", async () => {
    const checks = readinessChecks(rs);
    expect(checks.map((c) => c.inputs.revision)).toEqual([
      "instanceType=ecs.g7.xlarge",
      "instanceType=ecs.g7.xlarge",
      "instanceType=ecs.g7.xlarge",
    ]);
    const instances = ofType(rs, T.instance);
    // The next one waits for the one before to serve again and take the control planes' settings.
    const settings = (n: number) => rs.find((r) => r.name === `${instances[n]?.name}-settings`);
    instances.slice(1).forEach((i, n) => {
      expect(i.dependsOn).toContain(settings(n)?.urn);
      expect(settings(n)?.dependsOn).toContain(checks[n]?.urn);
    });
    const { provider } = await import("../components/readiness");
    const diff = provider.diff?.bind(provider);
    if (!diff) throw new Error("the readiness provider has no diff");
    const was = {
      regionId: "cn-hangzhou",
      instanceId: "i-1",
      script: "s",
      timeoutSeconds: 1,
      revision: "instanceType=ecs.g7.xlarge",
    };
    expect(await diff("id", was, { ...was, revision: "instanceType=ecs.g7.2xlarge" })).toEqual({
      changes: true,
      replaces: ["revision"],
    });
    expect(await diff("id", was, was)).toEqual({ changes: false, replaces: [] });
  });

  it("a control plane reads the CA keys only while it bootstraps: bootstrap role, readiness, handover, then the steady role", () => {
    const urn = (t: string, name: string) => rs.find((r) => r.type === t && r.name === name);
    for (const i of ofType(rs, T.instance)) {
      const boot = urn(T.bootstrapRole, `${i.name}-bootstrap-role`) as RecordedResource;
      expect(boot.inputs).toMatchObject({
        regionId: "cn-hangzhou",
        bootstrapRoleName: "cpa-cn-hangzhou-cp-bootstrap",
        steadyRoleName: "cpa-cn-hangzhou-nodes",
      });
      expect(String(boot.inputs.instanceId).replace(/-[0-9a-f]{8}$/, "")).toBe(i.name);
      const ready = urn(T.readiness, `${i.name}-ready`) as RecordedResource;
      expect(ready.dependsOn).toContain(boot.urn);
      const handover = urn(T.handover, `${i.name}-role-handover`) as RecordedResource;
      expect(handover.inputs).toMatchObject({ bootstrapRoleName: "cpa-cn-hangzhou-cp-bootstrap" });
      expect(handover.dependsOn).toEqual([ready.urn]);
      expect(urn(T.roleAttachment, `${i.name}-role`)?.dependsOn).toEqual([handover.urn]);
    }
    // The secrets policy of the control planes is attached to the bootstrap role only.
    const cpPolicy = ofType(rs, T.policyAttachment).filter((a) => a.name.includes("secrets-control-plane"));
    expect(cpPolicy.map((a) => a.inputs.roleName)).toEqual(["cpa-cn-hangzhou-cp-bootstrap"]);
  });

  it("a change of the system disk category, which replaces control planes, is guarded at preview", () => {
    const [guard] = ofType(rs, T.guard);
    expect(guard?.inputs.settings).toMatchObject({
      // Allowed with 3 control planes deployed (replaced one at a time), refused with fewer.
      "controlPlane.systemDisk.category": {
        value: "cloud_essd",
        why: expect.stringContaining("replaced one at a time only with at least 3"),
        changeableWhen: [{ key: "controlPlane.count", atLeast: 3 }],
      },
      // Fewer control planes would delete instances with their etcd members, several at once.
      "controlPlane.count": { value: "3", why: expect.stringContaining("one at a time"), mayGrow: true },
      // Where the vSwitches and control planes are, and the RAM names (test/immutable-settings.test.ts).
      "network.vswitches.cn-hangzhou-h": { value: "10.0.112.0/20" },
      "controlPlane.zones[0]": { value: "cn-hangzhou-h 10.0.255.116" },
      "ram.namePrefix": { value: "cpa-cn-hangzhou" },
    });
    expect(guard?.inputs.version).toBe(2);
    for (const i of ofType(rs, T.instance)) expect(i.dependsOn).toContain(guard?.urn);
  });

  it("user data holds no secret and is not one; every control plane knows all peers, only the first may init, none uses the load balancer", () => {
    const instances = ofType(rs, T.instance);
    const peers = controlPlanePlacements(spec)
      .map((p) => p.privateIp)
      .join(",");
    for (const [n, i] of instances.entries()) {
      expect(i.secretPaths).not.toContain("userData");
      const env = fileOf(i, "/etc/kubeadm-alicloud/node.env");
      expect(env).toContain("ROLE=control-plane\n");
      expect(env).toContain(`CONTROL_PLANE_PEERS=${peers}\n`);
      expect(env).toContain(`FIRST_CONTROL_PLANE=${n === 0 ? "yes" : "no"}\n`);
      expect(env).not.toContain("API_HOSTS_ADDRESS");
      expect(fileOf(i, "/etc/kubeadm-alicloud/kubeadm-join.yaml")).toContain("kind: JoinConfiguration");
      expect(fileOf(i, "/etc/kubeadm-alicloud/kubeadm-init.yaml") !== "").toBe(n === 0);
      const files = userDataOf(i).write_files.map((f) => f.path);
      expect(files).toContain("/etc/kubeadm-alicloud/secrets/pki/ca.crt");
      expect(files.filter((f) => f.endsWith(".key") || f.includes("token"))).toEqual([]);
      // Keys, the encryption key, their own token and the cluster-initialized marker; no pool's token.
      expect(manifestOf(i).sort()).toEqual(
        ofType(rs, T.parameter)
          .map((p) => String(p.inputs.secretParameterName))
          .filter((p) => !p.includes("-token-pool-"))
          .sort(),
      );
    }
  });

  it("records that the cluster exists once the first control plane serves, never before a control plane boots", () => {
    const marker = ofType(rs, T.parameter).find(
      (p) => p.inputs.secretParameterName === "kubeadm-alicloud-cpa-cluster-initialized",
    ) as RecordedResource;
    expect(marker.dependsOn).toEqual([readinessChecks(rs)[0]?.urn]);
    expect(marker.secretPaths).toEqual(["value"]);
    for (const i of ofType(rs, T.instance)) expect(i.dependsOn).not.toContain(marker.urn);
  });

  it("control planes read the Secrets encryption key from the secret store: a random 32-byte key kept as a Pulumi secret", () => {
    const enc = ofType(rs, T.parameter).find(
      (p) => p.name === "cpa-secret-encryption-config",
    ) as RecordedResource;
    expect(enc.secretPaths).toEqual(["value"]);
    const doc = parse(String(enc.inputs.value)) as {
      kind: string;
      resources: { providers: Record<string, { keys?: { secret: string }[] }>[] }[];
    };
    expect(doc.kind).toBe("EncryptionConfiguration");
    const secret = doc.resources[0]?.providers[0]?.secretbox?.keys?.[0]?.secret ?? "";
    expect(Buffer.from(secret, "base64")).toHaveLength(32);
    const key = rs.filter((r) => r.type === "random:index/randomBytes:RandomBytes");
    expect(key.map((k) => [k.name, k.inputs.length])).toEqual([["cpa-secrets-encryption-key", 32]]);
    for (const i of ofType(rs, T.instance))
      expect(manifestOf(i)).toContain("kubeadm-alicloud-cpa-encryption-config");
    for (const t of ofType(rs, T.template))
      expect(manifestOf(t)).not.toContain("kubeadm-alicloud-cpa-encryption-config");
  });

  it("creates each control plane only after the previous one serves, and checks each one on itself", () => {
    const instances = ofType(rs, T.instance);
    const checks = readinessChecks(rs);
    expect(checks).toHaveLength(3);
    const guard = ofType(rs, T.guard).map((g) => g.urn);
    // Every node waits for the NAT's SNAT entries: it downloads packages at first boot.
    const snat = rs
      .filter((r) => r.type === "alicloud:vpc/snatEntry:SnatEntry")
      .map((r) => r.urn)
      .sort();
    // One per vSwitch: the nodes' three and the control planes' three.
    expect(snat).toHaveLength(6);
    // ... and for its secrets and the right to read them.
    const store = readable(rs).filter((u) => !u.includes("cluster-initialized"));
    expect(store.length).toBeGreaterThan(0);
    // ... and for its own drain before an instance-type restart (components/control-plane-drain.ts).
    const drain = (i: number) => rs.find((r) => r.name === `${instances[i]?.name}-drain`)?.urn;
    // ... and for the one before it to serve with the control planes' settings (its settings check
    // runs after its readiness check: test below).
    const settings = (i: number) => rs.find((r) => r.name === `${instances[i]?.name}-settings`)?.urn;
    expect([...(instances[0]?.dependsOn ?? [])].sort()).toEqual(
      [...guard, ...snat, ...store, drain(0)].sort(),
    );
    expect([...(instances[1]?.dependsOn ?? [])].sort()).toEqual(
      [...guard, ...snat, ...store, settings(0), drain(1)].sort(),
    );
    expect([...(instances[2]?.dependsOn ?? [])].sort()).toEqual(
      [...guard, ...snat, ...store, settings(1), drain(2)].sort(),
    );
    for (const [i, c] of checks.entries()) {
      expect(String(c.inputs.instanceId).replace(/-[0-9a-f]{8}$/, "")).toBe(instances[i]?.name);
      expect(c.inputs).toMatchObject({ regionId: "cn-hangzhou", timeoutSeconds: READINESS_TIMEOUT_SECONDS });
      expect(String(c.inputs.script)).toContain("get --raw=/readyz");
    }
  });

  it("installs certificate renewal on each control plane after it serves, one control plane at a time", () => {
    const installs = ofType(rs, T.readiness).filter((r) => r.name.endsWith("-cert-renewal"));
    const checks = readinessChecks(rs);
    expect(installs.map((r) => r.name)).toEqual([
      "cpa-cp-0-cert-renewal",
      "cpa-cp-1-cert-renewal",
      "cpa-cp-2-cert-renewal",
    ]);
    // Every installer (renewal, etcd snapshots, the serving-certificate approver) runs after
    // its control plane serves and after the installer before it: one control plane at a time.
    // The control planes' settings change comes right after the renewal, whose library it uses.
    const kinds = ["cert-renewal", "settings", "etcd-backup", "csr-approver"];
    const order = [0, 1, 2].flatMap((i) => kinds.map((k) => `cpa-cp-${i}-${k}`));
    // Registration order is the mocks' (inputs resolve at different times): sort by the chain's.
    const chain = ofType(rs, T.readiness)
      .filter((r) => order.includes(r.name))
      .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    expect(chain.map((r) => r.name)).toEqual(order);
    for (const [n, r] of chain.entries()) {
      if (r.name.endsWith("-cert-renewal")) expect(r.inputs.script).toBe(certRenewalInstaller());
      expect(r.inputs.timeoutSeconds).toBe(
        r.name.endsWith("-settings") ? RECONFIGURE_COMMAND_SECONDS : INSTALL_COMMAND_SECONDS,
      );
      expect([...r.dependsOn].sort()).toEqual(
        [checks[Math.floor(n / kinds.length)]?.urn, ...(n > 0 ? [chain[n - 1]?.urn] : [])].sort(),
      );
    }
  });

  it("puts every control plane behind a private TCP 6443 load balancer", () => {
    const lbs = ofType(rs, T.lb);
    expect(lbs.map((l) => l.inputs.addressType)).toEqual(["intranet"]);
    expect(String(lbs[0]?.inputs.vswitchId)).toMatch(/^cpa-vsw-cn-hangzhou-h-/);
    const listener = ofType(rs, T.listener)[0];
    expect(listener?.inputs).toMatchObject({
      protocol: "tcp",
      frontendPort: 6443,
      backendPort: 6443,
      healthCheckType: "tcp",
    });
    // One attachment per control plane in the load balancer's VServerGroup, so that a
    // control plane replaced alone leaves the others serving; the listener forwards to the
    // group and turns to it only once every attachment is in.
    const [group] = ofType(rs, T.serverGroup);
    expect(ofType(rs, T.serverGroup)).toHaveLength(1);
    expect(String(group?.inputs.loadBalancerId)).toMatch(/^cpa-api-private-/);
    const attachments = ofType(rs, T.attachment);
    expect(
      attachments.map((a) => [a.name, String(a.inputs.serverId).replace(/-[0-9a-f]{8}$/, ""), a.inputs.port]),
    ).toEqual([
      ["cpa-api-private-cpa-cp-0", "cpa-cp-0", 6443],
      ["cpa-api-private-cpa-cp-1", "cpa-cp-1", 6443],
      ["cpa-api-private-cpa-cp-2", "cpa-cp-2", 6443],
    ]);
    for (const a of attachments)
      expect(a.inputs).toMatchObject({
        serverGroupId: mockId(T.serverGroup, group?.name ?? ""),
        type: "ecs",
      });
    expect(listener?.inputs.serverGroupId).toBe(mockId(T.serverGroup, group?.name ?? ""));
    expect([...(listener?.dependsOn ?? [])].sort()).toEqual(attachments.map((a) => a.urn).sort());
  });

  it("the load balancer's address and the endpoint name are in the API certificate SANs", () => {
    const first = ofType(rs, T.instance)[0] as RecordedResource;
    const kubeadm = fileOf(first, "/etc/kubeadm-alicloud/kubeadm-init.yaml");
    expect(kubeadm).toMatch(/certSANs:\n\s+- api\.cpa\.k8s\.internal\n\s+- 192\.0\.2\.\d+/);
  });

  it("the SSH key pair reaches control planes and launch templates only when SSH is on", async () => {
    expect(ofType(rs, T.instance).map((i) => i.inputs.keyName)).toEqual([undefined, undefined, undefined]);
    const ssh = await declareCluster(
      recorder,
      specFor({
        clusterName: "cps",
        ssh: { enabled: true, keyPairName: "ops-key", allowedCidrs: ["198.51.100.0/24"] },
      }),
    );
    expect(ofType(ssh, T.instance).map((i) => i.inputs.keyName)).toEqual(["ops-key"]);
    expect(ofType(ssh, T.template).map((t) => t.inputs.keyPairName)).toEqual(["ops-key"]);
  });

  it("a public API gets its own internet load balancer behind an allow-list", async () => {
    const pub = await declareCluster(
      recorder,
      specFor({ clusterName: "cpb", apiEndpoint: { public: true, allowedCidrs: ["198.51.100.0/24"] } }),
    );
    expect(ofType(pub, T.lb).map((l) => [l.name, l.inputs.addressType])).toEqual([
      ["cpb-api-private", "intranet"],
      ["cpb-api-public", "internet"],
    ]);
    // The allow-list: an ACL without the deprecated entry list, one attachment per CIDR,
    // and the public listener turning to it only once every entry is in.
    const acl = ofType(pub, T.acl);
    expect(acl.map((a) => [a.name, a.inputs.entryLists])).toEqual([["cpb-api-allowed", undefined]]);
    const entries = ofType(pub, "alicloud:slb/aclEntryAttachment:AclEntryAttachment");
    expect(entries.map((e) => [e.inputs.aclId, e.inputs.entry])).toEqual([
      [expect.stringMatching(/^cpb-api-allowed-/), "198.51.100.0/24"],
    ]);
    const listeners = ofType(pub, T.listener);
    expect(
      listeners.map((l) => [l.name, l.inputs.aclStatus ?? "off", l.inputs.aclIds, l.inputs.aclId]),
    ).toEqual([
      ["cpb-api-private-listener", "off", undefined, undefined],
      ["cpb-api-public-listener", "on", [entries[0]?.inputs.aclId], undefined],
    ]);
    const publicAttachments = ofType(pub, T.attachment).filter((a) => a.name.startsWith("cpb-api-public-"));
    expect(publicAttachments.map((a) => a.name)).toEqual(["cpb-api-public-cpb-cp-0"]);
    expect([...(listeners[1]?.dependsOn ?? [])].sort()).toEqual(
      [...publicAttachments, ...entries].map((e) => e.urn).sort(),
    );
    expect(ofType(pub, T.serverGroup)).toHaveLength(2);
    // Clients of the public address must find it in the API server's certificate.
    const first = ofType(pub, T.instance)[0] as RecordedResource;
    const kubeadm = fileOf(first, "/etc/kubeadm-alicloud/kubeadm-init.yaml");
    expect(kubeadm).toMatch(
      /certSANs:\n\s+- api\.cpb\.k8s\.internal\n\s+- 192\.0\.2\.\d+\n\s+- 203\.0\.113\.\d+/,
    );
  });
});

describe("node pools", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await declareCluster(
      recorder,
      specFor({
        clusterName: "np",
        nodePools: [
          {
            name: "general",
            instanceTypes: ["ecs.g7.large", "ecs.g6.large"],
            minSize: 1,
            maxSize: 5,
            desiredCapacity: 2,
          },
          {
            name: "batch",
            instanceTypes: ["ecs.c7.2xlarge"],
            minSize: 1,
            maxSize: 10,
            taints: [{ key: "example.com/batch", effect: "NoSchedule" }],
          },
        ],
      }),
    );
  });

  it("each pool is one launch template and one scaling group across every zone", () => {
    const groups = ofType(rs, T.group);
    // Desired capacity defaults to minSize, never 0 (config/schema.ts: ESS's expected-capacity mode).
    expect(
      groups.map((g) => [
        g.inputs.scalingGroupName,
        g.inputs.minSize,
        g.inputs.desiredCapacity,
        g.inputs.maxSize,
      ]),
    ).toEqual([
      ["np-batch", 1, 1, 10],
      ["np-general", 1, 2, 5],
    ]);
    for (const g of groups) {
      expect((g.inputs.vswitchIds as string[]).map((v) => v.replace(/-[0-9a-f]{8}$/, ""))).toEqual([
        "np-vsw-cn-hangzhou-h",
        "np-vsw-cn-hangzhou-i",
        "np-vsw-cn-hangzhou-j",
      ]);
      // An explicit version, never "Latest": what new nodes launch from is the version this
      // run declared (issue 14), and a change of it shows in the review as a diff of the group.
      expect(g.inputs.launchTemplateVersion).toBe("1");
      expect(g.ignoreChanges).toEqual(["desiredCapacity"]);
    }
    expect(groups[1]?.inputs.launchTemplateOverrides).toEqual([
      { instanceType: "ecs.g7.large" },
      { instanceType: "ecs.g6.large" },
    ]);
  });

  it("launch templates require metadata tokens, encrypt disks, carry their pool's own role, and hold base64 user data with no secret", () => {
    for (const t of ofType(rs, T.template)) {
      const pool = String(t.name).replace(/^np-pool-/, "");
      expect(t.inputs).toMatchObject({
        httpTokens: "required",
        httpEndpoint: "enabled",
        ramRoleName: `np-cn-hangzhou-pool-${pool}`,
      });
      expect(t.inputs.systemDisk).toMatchObject({ encrypted: true, deleteWithInstance: true });
      expect(t.secretPaths).toEqual([]);
      const ud = userDataOf(t);
      expect(ud.write_files.find((f) => f.path === "/etc/kubeadm-alicloud/node.env")?.content).toContain(
        "ROLE=worker\n",
      );
      expect(ud.write_files.some((f) => f.path.includes("/pki/"))).toBe(false);
    }
  });

  it("each pool joins with its own token, labels and taints", async () => {
    const [batch, general] = ofType(rs, T.template);
    expect(manifestOf(general as RecordedResource)).toEqual(["kubeadm-alicloud-np-token-pool-general"]);
    expect(manifestOf(batch as RecordedResource)).toEqual(["kubeadm-alicloud-np-token-pool-batch"]);
    const token = (pool: string) =>
      ofType(rs, T.parameter).find(
        (p) => p.inputs.secretParameterName === `kubeadm-alicloud-np-token-pool-${pool}`,
      )?.inputs.value;
    expect(token("general")).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(token("general")).not.toBe(token("batch"));
    const kubeadm = fileOf(batch as RecordedResource, "/etc/kubeadm-alicloud/kubeadm-join.yaml");
    expect(kubeadm).toContain("key: example.com/batch");
  });

  it("scaling groups start no node before the whole control plane serves behind the load balancer and knows the pool's token", () => {
    const checks = readinessChecks(rs).map((c) => c.urn);
    const backends = [...ofType(rs, T.attachment), ...ofType(rs, T.listener)].map((b) => b.urn);
    const groups = ofType(rs, T.group);
    expect(groups).toHaveLength(2);
    const snat = rs.filter((r) => r.type === "alicloud:vpc/snatEntry:SnatEntry").map((r) => r.urn);
    const store = readable(rs).filter((u) => !u.includes("cluster-initialized"));
    for (const group of groups) {
      const pool = String(group.inputs.scalingGroupName).replace(/^np-/, "");
      const token = ofType(rs, T.tokenSecret).find((s) => s.name === `np-token-${pool}`) as RecordedResource;
      expect([...group.dependsOn].sort()).toEqual(
        [...snat, ...store, ...checks, ...backends, token.urn].sort(),
      );
    }
  });
});
