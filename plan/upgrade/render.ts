// upgrade-plan.json and upgrade-plan.md of the render bundle: what a rollout will do,
// stage by stage, for a reviewer.
import { PREFLIGHT_CHECKS, type UpgradePlan } from "./plan";

export function upgradePlanJson(plan: UpgradePlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

export function upgradePlanMarkdown(plan: UpgradePlan, stack: string): string {
  const out: string[] = [`# Upgrade plan: ${stack}, ${plan.from} to ${plan.to}`, ""];
  if (plan.stages.length === 0) {
    out.push("Nothing to roll out: the control plane and every pool already run what the stack asks for.");
    return `${out.join("\n")}\n`;
  }
  out.push(
    "Stages run in this order, each only after the one before passed its gate; the first failure stops",
    "everything after it, and the next `pulumi up` resumes from what the cloud and the cluster show.",
    "",
  );
  plan.stages.forEach((s, i) => {
    const n = `${i + 1}.`;
    switch (s.kind) {
      case "preflight":
        out.push(`${n} **Preflight** (read-only; any failure stops the rollout before it changes anything):`);
        for (const c of PREFLIGHT_CHECKS) out.push(`   - \`${c.name}\`: ${c.what}`);
        break;
      case "etcd-snapshot":
        out.push(
          `${n} **etcd snapshot** of the cluster at ${s.from}, stored off the control planes in \`${s.bucket}\`: \`${s.command}\` on ${s.runsOn} (limit ${s.timeoutSeconds} s)`,
        );
        break;
      case "control-plane":
        out.push(
          `${n} **Control plane ${s.name}** (${s.zone}): \`${s.command}\`, then drain, kubelet, uncordon;` +
            " gate: node at the target, static pods at the target images, `/readyz`, etcd member healthy",
        );
        break;
      case "pool": {
        const how =
          s.strategy === "replace"
            ? `new nodes first (up to ${s.surge} at a time), old ones drained and removed after the new ones pass the gate`
            : "each node drained and upgraded where it is";
        out.push(
          `${n} **Pool ${s.name}** ${s.from} to ${s.to}, ${s.strategy}: ${s.waves.length} waves of ${s.waves.join(", ")} nodes (at maxSize); ${how}; each node drained within ${s.drainSeconds} s`,
        );
        break;
      }
    }
  });
  return `${out.join("\n")}\n`;
}
