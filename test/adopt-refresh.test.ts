// Adopted instances bootstrapped again when the pool's user data changes (components/adopt/
// refresh.ts), against the fake cloud of test/harness/adopt-world.ts with the real commands:
// one at a time, each taken out of the cluster (the one drain, the reset) before the pool's new
// user data is installed, gated, and tagged with what it now runs; in the group and protected
// throughout; a kill at any point converges on the next run.
import { describe, expect, it } from "vitest";
import { adoptInstances } from "../components/adopt/engine";
import { refreshInstances } from "../components/adopt/refresh";
import { adoptInstallCommands } from "../plan/adopt";
import { BOOTSTRAP_TAG } from "../plan/naming";
import { Crash } from "./harness/adopt-world";
import { setup } from "./harness/adopt-setup";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

const IDS = ["i-adopt0001", "i-adopt0002"];
const [OLD, NEW] = ["a".repeat(40), "b".repeat(40)];
/** The pool's new user data: a registry mirror added, say. */
const newInstall = adoptInstallCommands(
  nodeUserData(
    specFor({ nodeSoftware: { registryMirrors: { "docker.io": ["https://mirror.example.com"] } } }, "prod"),
    "worker",
  ),
);

/** Both instances adopted with OLD, then the pool's user data moves to NEW. */
async function adopted() {
  const s = setup();
  await adoptInstances(s.ports, { ...s.args, bootstrapDigest: OLD }, IDS);
  const next = { ...s.args, bootstrapDigest: NEW, commands: { ...s.args.commands, install: newInstall } };
  return { ...s, next, start: s.w.journal.length };
}

/** What the world records as installed: the installer's parts, in order (the last command runs them). */
const newParts = newInstall.filter((c) => /part-\d+\.tmp"$/m.test(c)).join("\n");

const killed = (e: unknown) => {
  if (!(e instanceof Crash) && !/crash before|the run was killed/.test(String(e))) throw e;
};

describe("adopted instances after the pool's user data changed", () => {
  it("each is taken out of the cluster, bootstrapped from the new user data, gated and tagged, one after the other, never leaving the group", async () => {
    const { w, ports, next, start } = await adopted();
    expect(newParts).not.toBe(w.instances.get("i-adopt0001")?.installed);
    expect(newParts.length).toBeGreaterThan(1000);
    await refreshInstances(ports, next, IDS);
    expect(w.violations).toEqual([]);
    const steps = w.journal
      .slice(start)
      .map((j) => j.replace(/^(i-adopt000\d) part \d+$/, "$1 part").replace(/cn-hangzhou\./, ""));
    const first = steps.slice(0, steps.indexOf(`i-adopt0001 tag ${NEW}`) + 1);
    expect([...new Set(first)]).toEqual([
      "cordon i-adopt0001",
      "delete node i-adopt0001",
      "i-adopt0001 reset",
      "i-adopt0001 part",
      "i-adopt0001 install",
      "i-adopt0001 joins",
      "adopt i-adopt0001",
      `i-adopt0001 tag ${NEW}`,
    ]);
    // The second is touched only once the first is back.
    expect(steps.slice(first.length).every((j) => !j.includes("i-adopt0001"))).toBe(true);
    expect(steps.slice(first.length)).toContain(`i-adopt0002 tag ${NEW}`);
    for (const id of IDS) {
      expect(w.instances.get(id)?.installed).toBe(newParts);
      expect(w.instances.get(id)?.tags[BOOTSTRAP_TAG]).toBe(NEW);
      expect(w.group.members.get(id)).toEqual({ protected: true });
      expect(w.nodes.get(`cn-hangzhou.${id}`)?.annotations["kubeadm-alicloud.io/adopted"]).toBe("true");
    }
    expect(steps.some((j) => /^(attach|detach|protect)/.test(j))).toBe(false);
  });

  it("does nothing for instances already at the pool's user data, and leaves untagged ones, saying so", async () => {
    const { w, ports, args, next, log } = await adopted();
    const before = w.journal.length;
    await refreshInstances(ports, { ...args, bootstrapDigest: OLD }, IDS);
    expect(w.journal.length).toBe(before);
    delete w.instances.get("i-adopt0001")?.tags[BOOTSTRAP_TAG];
    await refreshInstances(ports, next, ["i-adopt0001"]);
    expect(w.journal.length).toBe(before);
    expect(log.filter((l) => l.includes("left as they are"))).toHaveLength(1);
  });

  it("halts on a blocked drain before anything changes on the instance, naming the pod and budget; the next is not touched", async () => {
    const { w, ports, next, start } = await adopted();
    w.blockedDrain.add("cn-hangzhou.i-adopt0001");
    const err = await refreshInstances(ports, next, IDS).catch((e: Error) => e.message);
    expect(err).toMatch(/shop\/db-0.*|shop\/db-budget/s);
    expect(w.instances.get("i-adopt0001")?.kubeletRunning).toBe(true);
    expect(w.journal.slice(start).some((j) => j.includes("i-adopt0002"))).toBe(false);
  });

  it("converges after a kill at any point: every instance on the new user data, no rule broken", async () => {
    for (let at = 0; ; at++) {
      const { w, ports, next } = await adopted();
      w.crashAfter = w.journal.length + at;
      const first = await refreshInstances(ports, next, IDS).then(() => "done", killed);
      w.revive();
      await refreshInstances(ports, next, IDS);
      expect(w.violations, `killed before effect ${at}`).toEqual([]);
      for (const id of IDS) {
        expect(w.instances.get(id)?.installed, `${id}, killed before effect ${at}`).toBe(newParts);
        expect(w.instances.get(id)?.tags[BOOTSTRAP_TAG]).toBe(NEW);
        expect(w.nodes.has(`cn-hangzhou.${id}`)).toBe(true);
      }
      if (first === "done") {
        expect(at).toBeGreaterThan(10);
        break;
      }
    }
  });
});
