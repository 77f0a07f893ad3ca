// Scheduled etcd snapshots into an OSS bucket of the cluster (issue 16 item 4), pure: the
// bucket's name and rules, each control plane's prefix and grant, and what is installed on
// a control plane (bootstrap/etcd-backup.sh, bootstrap/oss-put.py, a systemd timer).
//
// Upstream read:
// - Bucket: aliyun/terraform-provider-alicloud v1.289.0 website/docs/r/oss_bucket.html.markdown
//   (bucket ForceNew; versioning status Enabled; server_side_encryption_rule sse_algorithm
//   AES256 | KMS; lifecycle_rule expiration days, noncurrent_version_expiration days,
//   abort_multipart_upload days) and oss_bucket_public_access_block.html.markdown.
// - Bucket names: 3 to 63 characters, lower-case letters, digits and hyphens, starting and
//   ending with a letter or digit, unique across all of OSS (OSS "Bucket naming conventions").
// - Source conditions: a policy that limits acs:SourceIp to a private address must also
//   name the VPC (acs:SourceVpc): OSS error 0030-00000008 ("Bucket Policy中指定acs:SourceIp
//   作为Condition时,需要同时指定acs:SourceVpc"). The control planes share one RAM role, so
//   each may write only under its own prefix, from its own fixed private address.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_RENEWAL_PATHS, type NodeFile } from "./cert-renewal";
import { renderFileInstaller } from "./node-commands";
import { calendarTimer, oneshotService, settingsFile } from "./systemd-units";

const read = (name: string) => readFileSync(join(__dirname, "..", "bootstrap", name), "utf8");

export const ETCD_BACKUP_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-etcd-backup",
  /** Beside fetch-secrets.py, whose credentials and retries it loads. */
  uploader: "/usr/local/lib/kubeadm-alicloud/oss-put.py",
  env: "/etc/kubeadm-alicloud/etcd-backup.env",
  service: "/etc/systemd/system/kubeadm-alicloud-etcd-backup.service",
  timer: "/etc/systemd/system/kubeadm-alicloud-etcd-backup.timer",
  lastSuccess: "/var/lib/kubeadm-alicloud/etcd-backup/last-success",
} as const;
export const ETCD_BACKUP_TIMER = "kubeadm-alicloud-etcd-backup.timer";
/**
 * A oneshot unit: `systemctl start` of it returns only when the script has ended (systemd
 * waits for the start job unless --no-block: systemctl(1); a Type=oneshot unit is started
 * once its process exits: systemd.service(5)), which the rollout's snapshot stage relies on.
 */
export const ETCD_BACKUP_SERVICE = "kubeadm-alicloud-etcd-backup.service";
/** Around the unit's own limit when a rollout starts it through Cloud Assistant. */
export const SNAPSHOT_COMMAND_MARGIN_SECONDS = 60;
export const ETCD_BACKUP_LABEL = "kubeadm-alicloud.io/etcd-backup-at";

// Time limits of one run, nested in the service's TimeoutStartSec.
/** Finding the etcd container (crictl ps). */
export const FIND_SECONDS = 30;
/** `etcdctl endpoint health` first: etcd 3.4's `snapshot save` never gives up on a silent member. */
export const HEALTH_SECONDS = 30;
/** `etcdctl snapshot save` of a database at etcd's default 2 GiB quota, from local disk. */
export const SNAPSHOT_SECONDS = 300;
/** `snapshot status`, tried with etcdutl and then etcdctl (120 s each in the script). */
export const STATUS_SECONDS = 240;
/** The upload with its retries (oss-put.py: up to 300 s an attempt, cut short by this). */
export const UPLOAD_SECONDS = 1500;
/** The Node label (10 s request limit), the state file, the log. */
const FINISH_SECONDS = 60;
export const ETCD_BACKUP_SECONDS =
  FIND_SECONDS + HEALTH_SECONDS + SNAPSHOT_SECONDS + STATUS_SECONDS + UPLOAD_SECONDS + FINISH_SECONDS;

export interface EtcdBackupNaming {
  readonly clusterName: string;
  readonly region: string;
  readonly ram: { readonly namePrefix: string };
  readonly etcdBackup: { readonly bucketName?: string | undefined };
}

/**
 * The bucket: the configured name, or `<ram prefix>-etcd-<8 hex>`, the hex from the
 * cluster's name and region, so that it stays the same across runs and differs between
 * clusters; lower case and cut to OSS's 63 characters.
 */
export function backupBucketName(s: EtcdBackupNaming): string {
  if (s.etcdBackup.bucketName) return s.etcdBackup.bucketName;
  const hash = createHash("sha256").update(`${s.clusterName}/${s.region}`).digest("hex").slice(0, 8);
  const prefix = s.ram.namePrefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63 - "-etcd-".length - hash.length)
    .replace(/-+$/, "");
  return `${prefix}-etcd-${hash}`;
}

/** A control plane's own prefix in the bucket. */
export function backupPrefix(controlPlaneName: string): string {
  return `etcd/${controlPlaneName}`;
}

/**
 * The control planes' grant: each writes new objects under its own prefix only, from its
 * own address in the cluster's VPC; no statement lets them read, list or delete anything.
 */
export function backupWriteStatements(
  bucket: string,
  vpcId: string,
  controlPlanes: readonly { name: string; privateIp: string }[],
) {
  return controlPlanes.map((cp) => ({
    Effect: "Allow",
    Action: ["oss:PutObject"],
    Resource: [`acs:oss:*:*:${bucket}/${backupPrefix(cp.name)}/*`],
    Condition: {
      StringEquals: { "acs:SourceVpc": [vpcId] },
      IpAddress: { "acs:SourceIp": [`${cp.privateIp}/32`] },
    },
  }));
}

export interface EtcdBackupSettings {
  readonly region: string;
  readonly bucket: string;
  readonly controlPlaneName: string;
  readonly intervalHours: number;
}

export function renderEtcdBackupEnv(s: EtcdBackupSettings): string {
  const values: Record<string, string | number> = {
    REGION: s.region,
    BUCKET: s.bucket,
    PREFIX: backupPrefix(s.controlPlaneName),
    SNAPSHOT_SECONDS,
    UPLOAD_SECONDS,
    UPLOADER: ETCD_BACKUP_PATHS.uploader,
  };
  for (const v of Object.values(values)) {
    if (!/^[A-Za-z0-9./_-]+$/.test(String(v))) throw new Error(`"${v}" cannot go into the backup settings`);
  }
  return settingsFile(values);
}

export function renderEtcdBackupService(): string {
  return oneshotService(
    "etcd snapshot of this control plane into the cluster's OSS bucket",
    ETCD_BACKUP_PATHS.script,
    ETCD_BACKUP_SECONDS,
  );
}

/**
 * Every `intervalHours` from midnight, spread by up to a quarter of the interval (at most
 * 30 min) so that control planes do not snapshot at once; a run missed while the machine
 * was off happens at boot (Persistent).
 */
export function renderEtcdBackupTimer(intervalHours: number): string {
  if (!Number.isInteger(intervalHours) || intervalHours < 1 || intervalHours > 24)
    throw new Error(`an interval of ${intervalHours} h`);
  const spread = Math.min(30, intervalHours * 15);
  return calendarTimer("scheduled etcd snapshots", `*-*-* 00/${intervalHours}:00:00`, `${spread}m`);
}

export function etcdBackupFiles(s: EtcdBackupSettings): NodeFile[] {
  return [
    { path: ETCD_BACKUP_PATHS.script, content: read("etcd-backup.sh"), permissions: "0755" },
    { path: ETCD_BACKUP_PATHS.uploader, content: read("oss-put.py"), permissions: "0755" },
    { path: ETCD_BACKUP_PATHS.env, content: renderEtcdBackupEnv(s), permissions: "0644" },
    { path: ETCD_BACKUP_PATHS.service, content: renderEtcdBackupService(), permissions: "0644" },
    { path: ETCD_BACKUP_PATHS.timer, content: renderEtcdBackupTimer(s.intervalHours), permissions: "0644" },
  ];
}

/** The Cloud Assistant command that installs (again, when anything changed) and enables the timer. */
export function etcdBackupInstaller(s: EtcdBackupSettings): string {
  return renderFileInstaller(
    "scheduled etcd snapshots",
    etcdBackupFiles(s),
    ["systemctl daemon-reload", `systemctl enable --now ${ETCD_BACKUP_TIMER}`],
    `etcd snapshots scheduled every ${s.intervalHours} h; the last in ${ETCD_BACKUP_PATHS.lastSuccess} and the Node label ${ETCD_BACKUP_LABEL} (node name from ${CERT_RENEWAL_PATHS.nodeNameFile})`,
  );
}

/** Each control plane's installer, by placement name; undefined when backups are off. */
export function etcdBackupInstallers(
  s: EtcdBackupNaming & {
    readonly etcdBackup: { readonly enabled: boolean; readonly intervalHours: number };
  },
  placements: readonly { name: string }[],
): Record<string, string> | undefined {
  if (!s.etcdBackup.enabled) return undefined;
  const bucket = backupBucketName(s);
  return Object.fromEntries(
    placements.map((p) => [
      p.name,
      etcdBackupInstaller({
        region: s.region,
        bucket,
        controlPlaneName: p.name,
        intervalHours: s.etcdBackup.intervalHours,
      }),
    ]),
  );
}
