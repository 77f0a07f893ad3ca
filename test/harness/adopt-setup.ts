// One adoption scene for the adoption tests (test/adopt-engine.test.ts, test/adopt-refresh.test.ts):
// the fake cloud of test/harness/adopt-world.ts with two control planes, a launched node and two
// instances to adopt, and the real commands plan/adopt.ts and plan/scale-in.ts render.
import type { AdoptArgs } from "../../components/adopt/engine";
import { adoptInstallCommands, adoptResetCommand, adoptWaitCommand } from "../../plan/adopt";
import { scaleInCommandParts } from "../../plan/scale-in";
import { AdoptWorld } from "./adopt-world";
import { nodeUserData } from "./nodes";
import { specFor } from "../kit";

export const REGION = "cn-hangzhou";
export const VERSION = "1.35.2";
export const install = adoptInstallCommands(nodeUserData(specFor({}, "prod"), "worker"));

export function setup() {
  const w = new AdoptWorld(REGION, VERSION, ["i-cp0", "i-cp1"]);
  w.addLaunched("i-launched1");
  w.addInstance("i-adopt0001");
  w.addInstance("i-adopt0002", { role: "kac-pool-role", securityGroups: ["sg-own", "sg-pool"] });
  const log: string[] = [];
  const args: AdoptArgs = {
    regionId: REGION,
    configKey: "kubeadm-alicloud:nodePools[0]",
    pool: "default",
    scalingGroupId: "asg-0",
    vpcId: "vpc-1",
    securityGroupId: "sg-pool",
    roleName: "kac-pool-role",
    version: VERSION,
    controlPlaneInstanceIds: ["i-cp0", "i-cp1"],
    commands: {
      install,
      wait: adoptWaitCommand(),
      reset: adoptResetCommand(),
      scaleIn: scaleInCommandParts(REGION, 60),
    },
    drainBudgetSeconds: 60,
    gateSeconds: 60,
    log: (l) => log.push(l),
    wait: { pollMs: 0, sleep: async () => undefined },
  };
  const ports = { commands: w.commands(), roles: w.roles(), instances: w.instanceApi(), ess: w.ess() };
  return { w, args, ports, log };
}
