// Scheduled etcd snapshots into OSS (issue 16 item 4). Real here: Debian's etcd 3.4 on
// loopback (plain HTTP) holding data, bootstrap/etcd-backup.sh taking and checking the
// snapshot through etcdctl (a stand-in for `crictl exec` into kubeadm's etcd pod: it drops
// the TLS flags and maps /var/lib/etcd into the sandbox), bootstrap/oss-put.py uploading
// it to test/harness/fake-cloud.py (metadata service and OSS PutObject), the real kubectl
// labelling the Node on test/harness/fake-kube.py. The V4 signature is checked two ways:
// the uploader reproduces the test vectors of Alibaba's OSS SDK
// (aliyun/alibabacloud-oss-python-sdk-v2 tests/unit/signer/test_v4.py), and each PUT it
// sends is re-signed here by an independent implementation (node:crypto) and compared.
// Not real: OSS itself, RAM's evaluation of the per-prefix grant, crictl and systemd.
import { spawnSync, type ChildProcess } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ETCD_BACKUP_SECONDS,
  SNAPSHOT_SECONDS,
  UPLOAD_SECONDS,
  backupBucketName,
  backupWriteStatements,
  etcdBackupInstaller,
  renderEtcdBackupEnv,
  renderEtcdBackupTimer,
} from "../plan/etcd-backup";
import { COMMAND_CONTENT_LIMIT, commandContentSize } from "../plan/node-commands";
import { startFakeCloud, type FakeCloud, type LoggedRequest } from "./harness/harness";
import { haveKubectl, kubeconfig, startFake, stopFakes } from "./harness/kube";
import { ETCD, ETCDCTL, startEtcd as startEtcdIn } from "./harness/etcd";
import { freePort } from "./harness/net";
import { declareCluster, installMocks, specFor, type Recorder } from "./kit";

const BOOT = join(__dirname, "..", "bootstrap");
const haveEtcd = existsSync(ETCD) && existsSync(ETCDCTL);
const procs: ChildProcess[] = [];
const clouds: FakeCloud[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  for (const c of clouds.splice(0)) c.stop();
  stopFakes();
});

describe("the OSS V4 signature of bootstrap/oss-put.py", () => {
  it("reproduces the OSS SDK's test vectors, with and without a security token", () => {
    const py = `
import importlib.util, datetime, sys
spec = importlib.util.spec_from_file_location("m", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
q = [("param1","value1"),("+param1","value3"),("|param1","value4"),("+param2",""),("|param2",""),("param2","")]
def h(token=None):
    d = {"x-oss-head1":"value","abc":"value","zabc":"value","xyz":"value","content-type":"text/plain"}
    if token is not None: d["x-oss-security-token"] = token
    return d
for t, token in ((1702743657, None), (1702784856, "token")):
    w = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    print(m.v4_authorization("PUT", "bucket", "1234+-/123/1.txt", q, h(token), "ak", "sk", "cn-hangzhou", w))
`;
    const r = spawnSync("python3", ["-c", py, join(BOOT, "oss-put.py")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    // tests/unit/signer/test_v4.py test_auth_header and test_auth_header_with_token.
    expect(r.stdout.trim().split("\n")).toEqual([
      "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe",
      "OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request,Signature=b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea",
    ]);
  });
});

/** OSS V4 for a PUT without query, written from the documentation ("Include a V4 signature in the
 * Authorization header"). */
function ossV4(bucket: string, key: string, headers: Record<string, string>, secret: string, region: string) {
  const stamp = headers["x-oss-date"] ?? "";
  const day = stamp.slice(0, 8);
  const signed = Object.keys(headers)
    .filter((k) => k.startsWith("x-oss-") || k === "content-type" || k === "content-md5")
    .sort()
    .map((k) => `${k}:${headers[k]}\n`)
    .join("");
  const uri = `/${bucket}/${key}`.split("/").map(encodeURIComponent).join("/");
  const canonical = ["PUT", uri, "", signed, "", "UNSIGNED-PAYLOAD"].join("\n");
  const scope = `${day}/${region}/oss/aliyun_v4_request`;
  const toSign = [
    "OSS4-HMAC-SHA256",
    stamp,
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  let k: Buffer = Buffer.from(`aliyun_v4${secret}`);
  for (const part of [day, region, "oss", "aliyun_v4_request"])
    k = createHmac("sha256", k).update(part).digest();
  return createHmac("sha256", k).update(toSign).digest("hex");
}

const startEtcd = (dir: string) => startEtcdIn(dir, procs);

/** A sandbox control plane: settings, the etcd stand-in for `crictl exec`, its node name. */
function sandbox(etcdUrl: string, cloud: FakeCloud) {
  const root = mkdtempSync(join(tmpdir(), "etcd-backup-"));
  mkdirSync(join(root, "var/lib/etcd"), { recursive: true });
  mkdirSync(join(root, "var/lib/kubeadm-alicloud"), { recursive: true });
  writeFileSync(join(root, "var/lib/kubeadm-alicloud/node-name"), "cn-hangzhou.i-cp0\n");
  const env = join(root, "etcd-backup.env");
  writeFileSync(
    env,
    renderEtcdBackupEnv({
      region: "cn-hangzhou",
      bucket: "b-etcd-1",
      controlPlaneName: "prod-cp-0",
      intervalHours: 6,
    }) + `UPLOADER=${join(BOOT, "oss-put.py")}\nOSS_ENDPOINT=${cloud.url}\nMETADATA_URL=${cloud.url}\n`,
  );
  const exec = join(root, "etcd-exec");
  writeFileSync(
    exec,
    [
      "#!/usr/bin/env bash",
      "tool=$1; shift; args=()",
      '[ "$tool" = etcdutl ] && exit 127 # etcd 3.4 has none',
      'for a in "$@"; do case "$a" in --endpoints=*|--cacert=*|--cert=*|--key=*) ;;',
      `  /var/lib/etcd/*) args+=("${root}$a") ;; *) args+=("$a") ;; esac; done`,
      `ETCDCTL_API=3 exec ${ETCDCTL} --endpoints ${etcdUrl} "\${args[@]}"`,
      "",
    ].join("\n"),
  );
  chmodSync(exec, 0o755);
  return { root, env, exec };
}

function runBackup(box: ReturnType<typeof sandbox>, kube: string) {
  return spawnSync("bash", [join(BOOT, "etcd-backup.sh")], {
    encoding: "utf8",
    timeout: ETCD_BACKUP_SECONDS * 1000,
    env: {
      ...process.env,
      KUBEADM_ALICLOUD_ROOT: box.root,
      KUBEADM_ALICLOUD_ETCD_BACKUP_ENV: box.env,
      KUBEADM_ALICLOUD_KUBECONFIG: kube,
      ETCD_EXEC: box.exec,
    },
  });
}

const objects = (dir: string): string[] =>
  existsSync(join(dir, "objects"))
    ? readdirSync(join(dir, "objects"), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(join(dir, "objects"), join(e.parentPath, e.name)))
    : [];

/** etcd with five keys, the fake cloud and API, and one backup run on a sandbox control plane. */
async function controlPlane(cloudConfig: Parameters<typeof startFakeCloud>[0]) {
  const url = await startEtcd(mkdtempSync(join(tmpdir(), "etcd-")));
  for (let i = 0; i < 5; i++)
    spawnSync(ETCDCTL, ["--endpoints", url, "put", `/registry/k${i}`, `v${i}`], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
  const cloud = await startFakeCloud(cloudConfig);
  clouds.push(cloud);
  const kube = await startFake({
    nodes: [{ name: "cn-hangzhou.i-cp0" }],
    pods: [],
    daemonsets: [],
    pdbs: [],
  });
  const box = sandbox(url, cloud);
  return { cloud, kube, box, r: runBackup(box, kubeconfig(kube.dir, kube.url)) };
}

describe.skipIf(!haveEtcd || !haveKubectl)("a scheduled snapshot, with the real etcd and kubectl", () => {
  it("stores a snapshot that reads back, under the member's prefix, signed, and labels the Node with its time", async () => {
    const { cloud, kube, box, r } = await controlPlane({ parameters: {} });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);

    const [key] = objects(cloud.dir);
    expect(key).toMatch(/^etcd\/prod-cp-0\/\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z-rev(\d+)\.db$/);
    const status = spawnSync(
      ETCDCTL,
      ["snapshot", "status", "-w", "json", join(cloud.dir, "objects", key ?? "")],
      {
        encoding: "utf8",
        env: { ...process.env, ETCDCTL_API: "3" },
      },
    );
    const s = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(key).toContain(`-rev${s.revision}.db`);
    expect(s.totalKey).toBeGreaterThanOrEqual(5);

    const put = cloud
      .requests()
      .find((q) => q.method === "PUT" && q.path !== "/latest/api/token") as LoggedRequest;
    expect(put.headers["x-oss-forbid-overwrite"]).toBe("true");
    expect(put.headers["x-oss-security-token"]).toBe("stub-sts-token");
    const auth =
      /Credential=STS\.stub-id\/(\d{8})\/cn-hangzhou\/oss\/aliyun_v4_request,Signature=([0-9a-f]{64})$/.exec(
        put.headers.authorization ?? "",
      );
    expect(auth?.[2]).toBe(ossV4("b-etcd-1", key ?? "", put.headers, "stub-secret", "cn-hangzhou"));

    expect(kube.state().nodes[0]).toMatchObject({
      labels: { "kubeadm-alicloud.io/etcd-backup-at": expect.stringMatching(/^\d{8}T\d{4}Z$/) },
    });
    expect(existsSync(join(box.root, "var/lib/kubeadm-alicloud/etcd-backup/last-success"))).toBe(true);
    expect(existsSync(join(box.root, "var/lib/etcd/kubeadm-alicloud-backup.db"))).toBe(false);
  });

  it("fails, records no success and labels nothing when OSS refuses the upload", async () => {
    const { kube, box, r } = await controlPlane({ parameters: {}, ossStatus: 400 });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("FAILED: upload of etcd/prod-cp-0/");
    expect(existsSync(join(box.root, "var/lib/kubeadm-alicloud/etcd-backup/last-success"))).toBe(false);
    expect(kube.state().nodes[0]?.labels ?? {}).toEqual({});
    expect(existsSync(join(box.root, "var/lib/etcd/kubeadm-alicloud-backup.db"))).toBe(false);
  });

  it("fails without uploading anything when etcd does not answer", async () => {
    const cloud = await startFakeCloud({ parameters: {} });
    clouds.push(cloud);
    const box = sandbox(`http://127.0.0.1:${await freePort()}`, cloud);
    const r = runBackup(box, kubeconfig(box.root, "http://127.0.0.1:9"));
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("FAILED: etcd does not answer");
    expect(objects(cloud.dir)).toEqual([]);
  });
});

describe("the plan", () => {
  it("names a bucket OSS accepts, the same every time and different per cluster", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/),
        fc.constantFrom("a", "b"),
        (prefix, cluster) => {
          const name = backupBucketName({
            clusterName: cluster,
            region: "cn-hangzhou",
            ram: { namePrefix: prefix },
            etcdBackup: {},
          });
          expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
          expect(name).toBe(
            backupBucketName({
              clusterName: cluster,
              region: "cn-hangzhou",
              ram: { namePrefix: prefix },
              etcdBackup: {},
            }),
          );
        },
      ),
    );
    const a = backupBucketName({
      clusterName: "a",
      region: "cn-hangzhou",
      ram: { namePrefix: "x" },
      etcdBackup: {},
    });
    const b = backupBucketName({
      clusterName: "b",
      region: "cn-hangzhou",
      ram: { namePrefix: "x" },
      etcdBackup: {},
    });
    expect(a).not.toBe(b);
  });

  it("lets each control plane only write, only under its own prefix, only from its own address in the VPC", () => {
    const s = backupWriteStatements("bkt", "vpc-1", [
      { name: "p-cp-0", privateIp: "10.0.0.10" },
      { name: "p-cp-1", privateIp: "10.0.1.10" },
    ]);
    expect(s).toEqual([
      {
        Effect: "Allow",
        Action: ["oss:PutObject"],
        Resource: ["acs:oss:*:*:bkt/etcd/p-cp-0/*"],
        Condition: {
          StringEquals: { "acs:SourceVpc": ["vpc-1"] },
          IpAddress: { "acs:SourceIp": ["10.0.0.10/32"] },
        },
      },
      {
        Effect: "Allow",
        Action: ["oss:PutObject"],
        Resource: ["acs:oss:*:*:bkt/etcd/p-cp-1/*"],
        Condition: {
          StringEquals: { "acs:SourceVpc": ["vpc-1"] },
          IpAddress: { "acs:SourceIp": ["10.0.1.10/32"] },
        },
      },
    ]);
  });

  it("nests the run's limits inside the service's, runs every N hours, and fits Cloud Assistant", () => {
    expect(SNAPSHOT_SECONDS + UPLOAD_SECONDS).toBeLessThan(ETCD_BACKUP_SECONDS);
    expect(renderEtcdBackupTimer(6)).toContain("OnCalendar=*-*-* 00/6:00:00");
    expect(renderEtcdBackupTimer(6)).toContain("Persistent=true");
    expect(() => renderEtcdBackupTimer(0)).toThrow();
    const installer = etcdBackupInstaller({
      region: "cn-hangzhou",
      bucket: "b",
      controlPlaneName: "p-cp-0",
      intervalHours: 6,
    });
    expect(commandContentSize(installer)).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
  });
});

describe("under mocks", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await installMocks("prod");
  });

  it("a private, versioned, encrypted bucket with retention, and each control plane's installer", async () => {
    const spec = specFor({}, "prod");
    const declared = await declareCluster(recorder, spec);
    const bucket = declared.find((r) => r.type === "alicloud:oss/bucket:Bucket");
    expect(bucket?.inputs).toMatchObject({
      bucket: backupBucketName(spec),
      versioning: { status: "Enabled" },
      serverSideEncryptionRule: { sseAlgorithm: "AES256" },
      lifecycleRules: [
        {
          prefix: "etcd/",
          enabled: true,
          expirations: [{ days: spec.etcdBackup.retentionDays }],
          noncurrentVersionExpirations: [{ days: spec.etcdBackup.retentionDays }],
        },
      ],
    });
    const block = declared.find(
      (r) => r.type === "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
    );
    expect(block?.inputs.blockPublicAccess).toBe(true);
    // The grant goes to the control planes' steady role, one statement per control plane.
    const attachment = declared.find((r) => r.name.endsWith("etcd-backups-attachment"));
    expect(attachment?.inputs.roleName).toBe(`${spec.ram.namePrefix}-nodes`);
    const policy = declared.find((r) => r.name.endsWith("etcd-backups-policy"));
    const doc = JSON.parse(String(policy?.inputs.policyDocument)) as { Statement: { Action: string[] }[] };
    expect(doc.Statement).toHaveLength(spec.controlPlane.count);
    expect(doc.Statement.flatMap((s) => s.Action)).toEqual(
      Array(spec.controlPlane.count).fill("oss:PutObject"),
    );
    const installers = declared.filter((r) => r.name.endsWith("-etcd-backup"));
    expect(installers).toHaveLength(spec.controlPlane.count);
    expect(String(installers[0]?.inputs.script)).toContain("scheduled etcd snapshots");
  });

  it("nothing of it when etcdBackup.enabled is false", async () => {
    const declared = await declareCluster(recorder, specFor({ etcdBackup: { enabled: false } }, "prod"));
    expect(
      declared.some((r) => r.type === "alicloud:oss/bucket:Bucket" || r.name.endsWith("-etcd-backup")),
    ).toBe(false);
  });
});
