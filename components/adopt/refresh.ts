// Adopted instances bootstrapped from older pool user data, bootstrapped again: what the pool's
// launched nodes get by replacement (components/rollout, a new launch template), an adopted
// instance, which the operator owns and the pool never replaces, gets in place. One at a time,
// each step the one adoption and letting go use (components/adopt/engine.ts): the node taken out
// of the cluster (the one drain, PodDisruptionBudgets honoured; the reset), the pool's user data
// installed and its bootstrap waited for, the node gated, the instance tagged with what it now
// runs. It stays in the scaling group and protected from scale-in throughout. The first failure
// stops the run and names the instance; the next run starts with it again (its tag still differs).
// Instances adopted before tags were kept (no tag) are left as they are, said once per run.
import { BOOTSTRAP_TAG } from "../../plan/naming";
import { bootstrap, leaveCluster, type AdoptArgs, type AdoptPorts } from "./engine";

export async function refreshInstances(
  ports: AdoptPorts,
  a: AdoptArgs,
  ids: readonly string[],
): Promise<void> {
  const digest = a.bootstrapDigest;
  if (!digest || ids.length === 0) return;
  const members = new Set((await ports.ess.instances(a.scalingGroupId)).map((m) => m.instanceId));
  const held = await ports.instances.describe(ids.filter((id) => members.has(id)));
  const untagged = held.filter((v) => !v.tags[BOOTSTRAP_TAG]).map((v) => v.instanceId);
  if (untagged.length > 0)
    a.log(
      `${untagged.join(", ")}: adopted before this release recorded what an instance was bootstrapped from; left as they are (take one off ${a.configKey}.adoptInstanceIds and add it again to bootstrap it anew)`,
    );
  for (const v of held) {
    const was = v.tags[BOOTSTRAP_TAG];
    if (!was || was === digest) continue;
    a.log(
      `${v.instanceId}: bootstrapped from other pool user data (${was.slice(0, 12)}); bootstrapping it again from the pool's (${digest.slice(0, 12)})`,
    );
    await leaveCluster(ports, a, v.instanceId, v.status);
    await bootstrap(ports, a, v.instanceId);
  }
}
