import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { RAM_POLICY_ROTATION, resourceName } from "../plan/naming";
import { backupWriteStatements } from "../plan/etcd-backup";

export interface EtcdBackupsArgs {
  readonly clusterName: string;
  readonly tags: Readonly<Record<string, string>>;
  /** plan/etcd-backup.ts backupBucketName. */
  readonly bucket: string;
  readonly retentionDays: number;
  readonly vpcId: pulumi.Input<string>;
  readonly controlPlanes: readonly { name: string; privateIp: string }[];
  /** The control planes' steady role, which uploads. */
  readonly roleName: pulumi.Input<string>;
  readonly policyName: string;
  /** Whether the bucket refuses deletion with snapshots in it (the cluster's deletion protection). */
  readonly protect: boolean;
}

/**
 * The cluster's etcd snapshot bucket (plan/etcd-backup.ts): private, public access
 * blocked, versioned, encrypted at rest, snapshots and their old versions expiring after
 * the retention; and the control planes' right to write, each under its own prefix only.
 */
export class EtcdBackups extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;

  constructor(name: string, args: EtcdBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:EtcdBackups", name, {}, opts);
    const child = { parent: this };
    const { clusterName } = args;
    const bucket = new alicloud.oss.Bucket(
      resourceName(clusterName, "etcd-backups"),
      {
        bucket: args.bucket,
        versioning: { status: "Enabled" },
        serverSideEncryptionRule: { sseAlgorithm: "AES256" },
        lifecycleRules: [
          {
            id: "etcd-snapshot-retention",
            prefix: "etcd/",
            enabled: true,
            expirations: [{ days: args.retentionDays }],
            noncurrentVersionExpirations: [{ days: args.retentionDays }],
            abortMultipartUploads: [{ days: 1 }],
          },
        ],
        // Without it a bucket with snapshots (and versions) cannot be deleted: on purpose.
        forceDestroy: !args.protect,
        tags: { ...args.tags },
      },
      { ...child, protect: args.protect },
    );
    new alicloud.oss.BucketPublicAccessBlock(
      resourceName(clusterName, "etcd-backups-public-access-block"),
      { bucket: bucket.bucket, blockPublicAccess: true },
      child,
    );
    const policy = new alicloud.ram.Policy(
      resourceName(clusterName, "etcd-backups-policy"),
      {
        policyName: args.policyName,
        policyDocument: pulumi.output(args.vpcId).apply((vpcId) =>
          JSON.stringify({
            Version: "1",
            Statement: backupWriteStatements(args.bucket, vpcId, args.controlPlanes),
          }),
        ),
        rotateStrategy: RAM_POLICY_ROTATION,
        description: `Control planes of Kubernetes cluster ${clusterName} write etcd snapshots, each under its own prefix`,
      },
      child,
    );
    new alicloud.ram.RolePolicyAttachment(
      resourceName(clusterName, "etcd-backups-attachment"),
      { policyName: policy.policyName, policyType: "Custom", roleName: args.roleName },
      child,
    );
    this.bucket = bucket.bucket;
    this.registerOutputs({ bucket: this.bucket });
  }
}
