import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { resourceName } from "../plan/naming";
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  bootstrapTokenSecretName,
  tokenSecretData,
} from "../plan/tokens";
import type { BootstrapToken } from "./pki";

export interface BootstrapTokenSecretsArgs {
  readonly clusterName: string;
  /** Every token the cluster must know, by owner (the control planes' and each pool's). */
  readonly tokens: Readonly<Record<string, BootstrapToken>>;
  /** Secret: the admin kubeconfig for an address this program reaches the API at. */
  readonly kubeconfig: pulumi.Input<string>;
  /** What must serve before the API can take the Secrets. */
  readonly waitFor: readonly pulumi.Resource[];
}

/**
 * Each bootstrap token lives in the cluster as a `bootstrap.kubernetes.io/token` Secret
 * that Pulumi manages together with the token's OOS value (plan/tokens.ts): a pool added
 * later gets its token into the cluster, and a token is renewed by a pulumi up before it
 * expires. The first control plane's `kubeadm init` already created the control planes'
 * token (same id and secret): that one object is adopted, so these Secrets go through a
 * provider of their own that updates an object that exists (`upsertExistingObjects`)
 * and takes over kubeadm's fields (`enablePatchForce`), which the program's main
 * provider does not do (@pulumi/kubernetes 4.34 provider.d.ts).
 */
export class BootstrapTokenSecrets extends pulumi.ComponentResource {
  /**
   * The Secret of each token, by owner: a node of a pool must not boot before its token is in the cluster.
   */
  readonly secrets: Readonly<Record<string, k8s.core.v1.Secret>>;

  constructor(name: string, args: BootstrapTokenSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-alicloud:cluster:BootstrapTokenSecrets", name, {}, opts);
    const provider = new k8s.Provider(
      resourceName(args.clusterName, "bootstrap-tokens"),
      {
        kubeconfig: args.kubeconfig,
        enableServerSideApply: true,
        upsertExistingObjects: true,
        enablePatchForce: true,
      },
      { parent: this, dependsOn: [...args.waitFor] },
    );
    const secrets: Record<string, k8s.core.v1.Secret> = {};
    for (const [owner, t] of Object.entries(args.tokens)) {
      const stringData = pulumi.secret(
        pulumi.all([t.id, t.secret]).apply(([id, secret]) =>
          tokenSecretData({
            id,
            secret,
            expiresAt: t.expiresAt,
            groups: t.groups,
            description: `kubeadm-alicloud join token of ${owner}, renewed by pulumi up`,
          }),
        ),
      );
      secrets[owner] = new k8s.core.v1.Secret(
        resourceName(args.clusterName, "token", owner),
        {
          metadata: { name: t.id.apply(bootstrapTokenSecretName), namespace: BOOTSTRAP_TOKEN_NAMESPACE },
          type: BOOTSTRAP_TOKEN_SECRET_TYPE,
          stringData,
        },
        { parent: this, provider },
      );
    }
    this.secrets = secrets;
    this.registerOutputs({});
  }
}
