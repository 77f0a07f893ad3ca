// User data of the control planes and of each pool, rendered (plan/node-bootstrap.ts)
// once the values only the cloud knows are in: the composition root calls these and
// gives each component its finished user data, so that the components need no spec.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodePoolSpec } from "../config/spec";
import type { ControlPlanePlacement } from "../plan/control-plane";
import { controlPlaneSettingsCommand } from "../plan/control-plane-settings";
import { renderUserData } from "../plan/node-bootstrap";
import { atShapeVersion, SHAPE_DISCOVERY_HASH } from "../plan/pool-template";
import type { KeyAlgorithm } from "../plan/pki";

export interface UserDataFacts {
  readonly loadBalancerAddress: pulumi.Input<string>;
  readonly discoveryHash: pulumi.Input<string>;
  readonly encryptionAlgorithm: KeyAlgorithm;
}

/**
 * Each control plane's user data, by placement name. Every control plane gets the same
 * instructions but one: the first may run `kubeadm init` while no cluster exists. Each
 * decides at boot whether to init or to join through any peer that serves
 * (bootstrap/control-plane.sh), so a replaced first control plane joins the living
 * cluster. No key and no token in here (the node fetches them): user data is not a
 * secret, so a preview shows it.
 */
export function controlPlaneUserData(
  spec: ClusterSpec,
  placements: readonly ControlPlanePlacement[],
  facts: UserDataFacts & {
    /** When the API is public: the internet load balancer's address, for the API certificate. */
    readonly publicLoadBalancerAddress?: pulumi.Input<string>;
    /** ClusterPki.controlPlaneCertificates: public; the keys come from the node secret store. */
    readonly pkiCertificates: pulumi.Input<Record<string, string>>;
  },
): Record<string, pulumi.Output<string>> {
  const peers = placements.map((p) => p.privateIp);
  return Object.fromEntries(
    placements.map((p) => [
      p.name,
      pulumi
        .all([
          facts.loadBalancerAddress,
          facts.publicLoadBalancerAddress,
          facts.discoveryHash,
          facts.pkiCertificates,
        ])
        .apply(([loadBalancerAddress, publicLoadBalancerAddress, discoveryHash, pki]) =>
          renderUserData(
            {
              spec,
              facts: {
                loadBalancerAddress,
                discoveryHash,
                encryptionAlgorithm: facts.encryptionAlgorithm,
                ...(publicLoadBalancerAddress ? { publicLoadBalancerAddress } : {}),
              },
              role: "control-plane",
              peers,
              first: p.index === 0,
            },
            { pki },
          ),
        ),
    ]),
  );
}

/** A pool's user data. Its join token is read at boot with the pool's role: user data holds none. */
export function poolUserData(
  spec: ClusterSpec,
  pool: NodePoolSpec,
  facts: UserDataFacts,
): pulumi.Output<string> {
  return pulumi
    .all([facts.loadBalancerAddress, facts.discoveryHash])
    .apply(([loadBalancerAddress, discoveryHash]) =>
      renderUserData(
        {
          spec,
          facts: { loadBalancerAddress, discoveryHash, encryptionAlgorithm: facts.encryptionAlgorithm },
          role: "worker",
          pool,
        },
        {},
      ),
    );
}

/**
 * A pool's user data at plan/pool-template.ts SHAPE_VERSION (and SHAPE_DISCOVERY_HASH), for
 * its template digest: what its nodes are apart from the version, which an `in-place` pool
 * moves where they run.
 */
export function poolShapeUserData(
  spec: ClusterSpec,
  pool: NodePoolSpec,
  facts: UserDataFacts,
): pulumi.Output<string> {
  return poolUserData(...atShapeVersion(spec, pool), { ...facts, discoveryHash: SHAPE_DISCOVERY_HASH });
}

/**
 * The command that carries the control planes' kubeadm settings to each running control plane
 * (plan/control-plane-settings.ts): the same for every one, with the addresses only the cloud knows.
 */
export function controlPlaneSettings(
  spec: ClusterSpec,
  facts: UserDataFacts & { readonly publicLoadBalancerAddress?: pulumi.Input<string> },
): pulumi.Output<string> {
  return pulumi
    .all([facts.loadBalancerAddress, facts.publicLoadBalancerAddress, facts.discoveryHash])
    .apply(([loadBalancerAddress, publicLoadBalancerAddress, discoveryHash]) =>
      controlPlaneSettingsCommand(spec, {
        loadBalancerAddress,
        discoveryHash,
        encryptionAlgorithm: facts.encryptionAlgorithm,
        ...(publicLoadBalancerAddress ? { publicLoadBalancerAddress } : {}),
      }),
    );
}
