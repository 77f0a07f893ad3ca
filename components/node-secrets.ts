import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { RAM_POLICY_ROTATION, resourceName } from "../plan/naming";
import {
  SECRET_VALUE_LIMIT,
  type SecretItem,
  type SecretReader,
  type SecretSource,
  type SecretStorePlan,
} from "../plan/node-secrets";

export interface NodeSecretStoreArgs {
  readonly clusterName: string;
  readonly tags: Readonly<Record<string, string>>;
  /** plan/node-secrets.ts secretStorePlan: the items and each reader's grant. */
  readonly plan: SecretStorePlan;
  /** Secret: each private key under /etc/kubernetes/pki (ClusterPki.controlPlaneKeys). */
  readonly pkiKeys: Readonly<Record<string, pulumi.Output<string>>>;
  /** Secret: the EncryptionConfiguration, when encryption at rest is on. */
  readonly encryptionConfig?: pulumi.Output<string>;
  /** Secret: each join token, by owner (CONTROL_PLANE_TOKEN or a pool name). */
  readonly tokens: Readonly<Record<string, pulumi.Output<string>>>;
  /** The RAM role of each reader: the control planes' and each pool's. */
  readonly roleNames: Readonly<Record<SecretReader, pulumi.Input<string>>>;
}

/**
 * The node secrets, kept where user data cannot leak them: one OOS secret parameter
 * per key or token (encrypted with KMS), and for each reader role a RAM policy that
 * allows reading exactly its parameters. Nodes read them at first boot
 * (bootstrap/fetch-secrets.py); instances must not start before `readable` exists.
 */
export class NodeSecretStore extends pulumi.ComponentResource {
  /** The parameters and policy attachments: depend on these before any node boots. */
  readonly readable: pulumi.Resource[];
  /** Parameter names by item key, for outputs and tests. */
  readonly parameterNames: Readonly<Record<string, string>>;
  /**
   * Records, once `after` has passed (the first control plane serves), that the cluster
   * exists: from then on no control plane runs `kubeadm init` (bootstrap/control-plane.sh).
   */
  readonly recordClusterInitialized: (after: readonly pulumi.Resource[]) => pulumi.Resource;

  constructor(name: string, args: NodeSecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:NodeSecretStore", name, {}, opts);
    const { clusterName, plan } = args;
    const child = { parent: this };
    const valueOf = (source: SecretSource): pulumi.Output<string> | undefined => {
      const value =
        source.kind === "pki"
          ? args.pkiKeys[source.file]
          : source.kind === "token"
            ? args.tokens[source.owner]
            : source.kind === "encryption-config"
              ? args.encryptionConfig
              : undefined;
      if (!value) throw new pulumi.ResourceError(`no value for node secret ${JSON.stringify(source)}`, this);
      return value;
    };

    this.readable = [];
    const names: Record<string, string> = {};
    // key_id and secret_parameter_name are ForceNew (aliyun/terraform-provider-alicloud
    // resource_alicloud_oos_secret_parameter.go; the name is also the resource id), and
    // the name is fixed: setting or changing pki.secretsKmsKeyId replaces every parameter,
    // and Pulumi's default create-before-delete would create a second parameter of the
    // same name, which OOS refuses. So the old one goes first. In the seconds between, a
    // node that boots reads "does not exist" and stops before kubeadm (a control plane
    // would miss its optional cluster-initialized marker): change the key while no node
    // is being created.
    const parameter = (item: SecretItem, value: pulumi.Output<string>, opts: pulumi.CustomResourceOptions) =>
      new alicloud.oos.SecretParameter(
        resourceName(clusterName, "secret", item.key),
        {
          secretParameterName: item.parameterName,
          type: "Secret",
          value,
          ...(plan.kmsKeyId ? { keyId: plan.kmsKeyId } : {}),
          description: `Kubernetes cluster ${clusterName}: ${item.key}, read at boot by ${item.readers.join(", ")}`,
          tags: { ...args.tags },
        },
        { ...opts, deleteBeforeReplace: true },
      );
    this.recordClusterInitialized = (after) => {
      const marker = plan.items.find((i) => i.source.kind === "cluster-initialized");
      if (!marker) throw new pulumi.ResourceError("no cluster-initialized item", this);
      return parameter(marker, pulumi.secret("initialized"), { parent: this, dependsOn: [...after] });
    };
    for (const item of plan.items) {
      // Written once the cluster exists (recordClusterInitialized), not before any node boots.
      if (item.source.kind === "cluster-initialized") continue;
      const source = valueOf(item.source);
      if (!source)
        throw new pulumi.ResourceError(`no value for node secret ${JSON.stringify(item.source)}`, this);
      const value = pulumi.secret(
        source.apply((v) => {
          if (v.length > SECRET_VALUE_LIMIT) {
            throw new pulumi.ResourceError(
              `${item.key} is ${v.length} characters; an OOS secret parameter holds at most ${SECRET_VALUE_LIMIT}`,
              this,
            );
          }
          return v;
        }),
      );
      this.readable.push(parameter(item, value, child));
      names[item.key] = item.parameterName;
    }
    this.parameterNames = names;

    for (const { reader, slug, policyName, policy: document } of plan.grants) {
      const roleName = args.roleNames[reader];
      if (roleName === undefined) throw new pulumi.ResourceError(`no RAM role for ${reader}`, this);
      const policy = new alicloud.ram.Policy(
        resourceName(clusterName, "secrets", slug),
        {
          policyName,
          policyDocument: JSON.stringify(document),
          rotateStrategy: RAM_POLICY_ROTATION,
          description: `Read the node secrets of ${reader} in Kubernetes cluster ${clusterName}`,
        },
        child,
      );
      this.readable.push(
        new alicloud.ram.RolePolicyAttachment(
          resourceName(clusterName, "secrets", slug, "attachment"),
          {
            policyName: policy.policyName,
            policyType: "Custom",
            roleName,
          },
          child,
        ),
      );
    }
    this.registerOutputs({ parameterNames: this.parameterNames });
  }
}
