// A fake Alibaba Cloud and cluster for the rollout executor (components/rollout): a
// Cloud Assistant that reads each command the executor sends (rollout-node.py's
// arguments, drain.sh's `set --` line, upgrade-node.sh's invocation) and answers with
// the result line the real script prints (its format is checked against the real script
// and kubectl in test/rollout-node.test.ts and test/drain.test.ts), and an ESS that
// launches instances which register as Nodes a few observations later (a removal that
// keeps the capacity launches as many; one below MinSize is refused, as ESS does), and an
// ECS that tells each instance's template-digest tag. Every effect is
// checked against the rollout's safety rules; `crashAfter` kills the run (as a killed
// `pulumi up` would) before the n-th effect. Not modelled: timing, flapping readiness,
// Cloud Assistant delivery failures (test/readiness.test.ts covers those), and the
// autoscaler.
import { gzipSync } from "node:zlib";
import type { CommandApi, InvocationResult } from "../../components/cloud-assistant";
import type { InstanceApi } from "../../components/ecs-instances";
import type { EssApi } from "../../components/ess";
import { TEMPLATE_DIGEST_TAG } from "../../plan/pool-template";

export class Crash extends Error {}

/** Template digests (plan/pool-template.ts): the pools' at the start, and a changed one. */
export const DIGEST_1 = "1".repeat(40);
export const DIGEST_2 = "2".repeat(40);

export interface WorldNode {
  instanceId: string;
  kubelet: string;
  ready: boolean;
  cordoned: boolean;
  controlPlane: boolean;
  annotations: Record<string, string>;
  /** For control planes: the version kube-apiserver runs. */
  api?: string;
}

export interface WorldPool {
  group: string;
  /** The launch-template version the group launches from, and each instance's. */
  templateVersion: number;
  instanceTemplate: Map<string, number>;
  strategy: "replace" | "in-place";
  version: string;
  desired: number;
  maxSize: number;
  instances: string[];
  /** Instance id → observations left before its Node registers. */
  launching: Map<string, number>;
  /** Instances ESS is removing (lifecycle state Removing) → observations their Nodes stay for. */
  removing: Map<string, number>;
  /** Instances the operator brought (nodePools[].adoptInstanceIds): never removed by a rollout. */
  attached: Set<string>;
  /** The template digest the group's version carries (plan/pool-template.ts), and each instance's tag. */
  digest: string;
  instanceDigest: Map<string, string>;
  /** ESS refuses a removal that leaves fewer instances (RemoveInstances.md). */
  minSize: number;
}

export class RolloutWorld {
  clusterVersion: string;
  nodes = new Map<string, WorldNode>();
  pools = new Map<string, WorldPool>();
  violations: string[] = [];
  /** Commands run, in order: "<instance> <what>". */
  journal: string[] = [];
  /** Nodes whose drain a PodDisruptionBudget blocks. */
  blocked = new Set<string>();
  /** Nodes whose gate fails (a DaemonSet pod never Ready). */
  failingGate = new Set<string>();
  crashAfter = Infinity;
  /** Instance ids ECS was asked to describe, in order (each instance's tags are read once). */
  describedIds: string[] = [];
  /** Free addresses per vSwitch (100 when unset). */
  freeAddresses = new Map<string, number>();
  /** apiserver_requested_deprecated_apis series the preflight reads. */
  deprecatedMetrics: string[] = [];
  /** etcd members the preflight sees unhealthy. */
  etcdUnhealthy = new Set<string>();
  /** The etcd snapshot unit fails (the bucket refuses the upload). */
  snapshotFails = false;
  /** After a crash every call fails, as for a killed process, until revive(). */
  dead = false;
  registerAfter = 1;
  /** ESS answers ScalingActivityInProgress to this many more scale or remove calls. */
  essBusy = 0;
  private effects = 0;
  /** Instances ESS launched during the test (the rollout's surges). */
  private launched = new Set<string>();
  private nextId = 1000;
  private invocations = new Map<string, InvocationResult>();

  constructor(
    readonly target: string,
    from: string,
    cps: number,
    pools: {
      size: number;
      room: number;
      strategy?: "replace" | "in-place";
      attached?: number;
      minSize?: number;
    }[],
  ) {
    this.clusterVersion = from;
    for (let i = 0; i < cps; i++) this.addNode(`i-cp${i}`, from, true);
    pools.forEach((p, i) => {
      const instances = Array.from({ length: p.size }, () => this.addNode(this.newId(), from, false));
      const attached = new Set(instances.slice(0, p.attached ?? 0));
      // As adoption leaves them (bootstrap/rollout-node.py adopt).
      for (const id of attached)
        Object.assign(this.node(`cn-hangzhou.${id}`).annotations, {
          "kubeadm-alicloud.io/adopted": "true",
          "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
        });
      this.pools.set(`pool-${i}`, {
        attached,
        group: `asg-${i}`,
        templateVersion: 1,
        instanceTemplate: new Map(instances.filter((id) => !attached.has(id)).map((id) => [id, 1])),
        strategy: p.strategy ?? "replace",
        version: target,
        desired: p.size,
        maxSize: p.size + p.room,
        instances,
        launching: new Map(),
        removing: new Map(),
        digest: DIGEST_1,
        instanceDigest: new Map(instances.filter((id) => !attached.has(id)).map((id) => [id, DIGEST_1])),
        minSize: p.minSize ?? 0,
      });
    });
  }

  /** ESS starts an instance from the group's template version, tagged with its digest. */
  private launch(p: WorldPool, instanceId: string) {
    p.instances.push(instanceId);
    p.instanceTemplate.set(instanceId, p.templateVersion);
    p.instanceDigest.set(instanceId, p.digest);
    this.launched.add(instanceId);
    p.launching.set(instanceId, this.registerAfter);
  }

  private newId() {
    return `i-w${this.nextId++}`;
  }

  private addNode(id: string, version: string, controlPlane: boolean) {
    this.nodes.set(`cn-hangzhou.${id}`, {
      instanceId: id,
      kubelet: version,
      ready: true,
      cordoned: false,
      controlPlane,
      annotations: {},
      ...(controlPlane ? { api: version } : {}),
    });
    return id;
  }

  node(name: string): WorldNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`the world has no node ${name}`);
    return n;
  }

  /** Time passes: instances being removed are gone, with their Nodes. */
  settle() {
    for (const p of this.pools.values()) {
      for (const id of p.removing.keys()) {
        const [name] = [...this.nodes].find(([, x]) => x.instanceId === id) ?? [];
        if (name) this.nodes.delete(name);
      }
      p.removing.clear();
    }
  }

  /** The next run: a new process, no crash planned. */
  revive() {
    this.dead = false;
    this.crashAfter = Infinity;
  }

  private busy() {
    if (this.essBusy > 0) {
      this.essBusy--;
      throw Object.assign(new Error("ScalingActivityInProgress: a scaling activity is in progress"), {
        code: "ScalingActivityInProgress",
      });
    }
  }

  private alive() {
    if (this.dead) throw new Crash("the run was killed");
  }

  private effect(what: string, f: () => void) {
    if (this.effects++ >= this.crashAfter) {
      this.dead = true;
      throw new Crash(`crash before ${what}`);
    }
    f();
    this.check();
  }

  private minor = (v: string) => Number(v.split(".")[1]);

  private check() {
    const cps = [...this.nodes.values()].filter((n) => n.controlPlane);
    const inFlight = cps.filter((c) => c.cordoned || c.api !== c.kubelet || c.api !== cps[0]?.api);
    if (cps.filter((c) => c.cordoned).length > 1) this.violations.push("two control planes cordoned");
    if (inFlight.filter((c) => c.cordoned).length > 1) this.violations.push("two control planes in flight");
    // A worker's kubelet may meet any API server (through the load balancer); a control
    // plane's only its own, since the API name resolves to the node itself there
    // (bootstrap/node-bootstrap.sh set_api_host).
    const oldestApi = Math.min(...cps.map((c) => this.minor(c.api ?? "")));
    for (const [name, n] of this.nodes) {
      const api = n.controlPlane ? this.minor(n.api ?? "") : oldestApi;
      if (this.minor(n.kubelet) > api)
        this.violations.push(`${name}: kubelet ${n.kubelet} newer than its API server`);
    }
  }

  /** Cloud Assistant: the command runs at once; its result is read back by invoke id. */
  commands(): CommandApi {
    return {
      agentOnline: async () => true,
      run: async (instanceId, script) => {
        this.alive();
        const id = `t-${this.invocations.size + 1}`;
        this.invocations.set(id, this.execute(instanceId, script));
        return id;
      },
      result: async (invokeId) => this.invocations.get(invokeId),
    };
  }

  private done = (payload: object, exitCode = 0): InvocationResult => ({
    status: exitCode === 0 ? "Success" : "Failed",
    exitCode,
    output: `kubeadm-alicloud-rollout: ${JSON.stringify(payload)}\n`,
  });

  private execute(instanceId: string, script: string): InvocationResult {
    const rollout = /^exec python3 -c "[^"]*" (.*)$/m.exec(script);
    const drain = /^set -- (\S+) (\d+) # kubeadm-alicloud: the node and its drain budget$/m.exec(script);
    const upgrade = /upgrade-node\.sh" (apply|node) (\S+)/.exec(script);
    if (/^if ! systemctl start kubeadm-alicloud-etcd-backup.service; then$/m.test(script)) {
      this.journal.push(`${instanceId} etcd snapshot`);
      return this.snapshotFails
        ? { status: "Failed", exitCode: 1, output: "etcd-backup.sh: upload failed: 403\n" }
        : { status: "Success", exitCode: 0, output: "kubeadm-alicloud: etcd snapshot stored\n" };
    }
    if (rollout?.[1]) return this.rolloutNode(instanceId, rollout[1].split(" "));
    if (drain?.[1])
      return this.drain(instanceId, drain[1], /^export KUBEADM_ALICLOUD_KEEP_CORDONED=yes$/m.test(script));
    if (upgrade?.[1] && upgrade[2]) return this.upgrade(instanceId, upgrade[1], upgrade[2]);
    throw new Error(`the fake Cloud Assistant does not know this command:\n${script.slice(0, 300)}`);
  }

  private rolloutNode(instanceId: string, [cmd, ...args]: string[]): InvocationResult {
    this.journal.push(`${instanceId} rollout-node ${cmd} ${args.join(" ")}`);
    switch (cmd) {
      case "observe":
        return this.observe();
      case "mark":
        // Without surge a wave goes before its replacements exist: the last wave's must be
        // in and gated before the next is marked.
        for (const p of this.pools.values()) {
          if (
            p.strategy !== "in-place" ||
            !args.slice(1).some((n) => p.instances.includes(this.node(n).instanceId))
          )
            continue;
          const ungated = p.instances.filter(
            (x) =>
              this.launched.has(x) &&
              [...this.nodes.values()].find((n) => n.instanceId === x)?.annotations[
                "kubeadm-alicloud.io/rollout-gated"
              ] !== p.version,
          );
          if (ungated.length > 0)
            this.violations.push(`${p.group}: a wave marked before ${ungated.join(", ")} passed the gate`);
        }
        for (const name of args.slice(1))
          this.effect(
            `mark ${name}`,
            () => (this.node(name).annotations["kubeadm-alicloud.io/rollout-replace"] = args[0] ?? ""),
          );
        return this.done({ ok: true });
      case "uncordon":
        this.effect(`uncordon ${args[0]}`, () => {
          this.node(args[0] ?? "").cordoned = false;
          delete this.node(args[0] ?? "").annotations["kubeadm-alicloud.io/drained"];
        });
        return this.done({ ok: true });
      case "gate":
      case "cp-gate": {
        const [name = "", version = ""] = args;
        const n = this.node(name);
        const problems = [
          ...(n.kubelet !== version ? [`kubelet ${n.kubelet} (want ${version})`] : []),
          ...(cmd === "cp-gate" && n.api !== version ? [`kube-apiserver runs ${n.api}`] : []),
          ...(this.failingGate.has(name) ? ["DaemonSet pod kube-system/cilium-x not Ready"] : []),
        ];
        if (problems.length > 0) return this.done({ ok: false, node: name, problems }, 1);
        if (cmd === "gate")
          this.effect(`gate ${name}`, () => {
            n.annotations["kubeadm-alicloud.io/rollout-gated"] = version;
            n.annotations["cluster-autoscaler.kubernetes.io/scale-down-disabled"] = "true";
          });
        return this.done({ ok: true, node: name });
      }
      case "preflight": {
        this.journal.push(`${instanceId} preflight ${args.join(" ")}`);
        const etcd = [...this.nodes]
          .filter(([, n]) => n.controlPlane)
          .map(([name]) => ({ name, healthy: !this.etcdUnhealthy.has(name), learner: false }));
        return this.done({ ok: true, metrics: this.deprecatedMetrics, etcd, repository: true });
      }
      case "release":
        for (const name of args)
          this.effect(`release ${name}`, () => {
            const a = this.node(name).annotations;
            delete a["kubeadm-alicloud.io/rollout-gated"];
            // rollout-node.py release keeps an adopted node's hold.
            if (a["kubeadm-alicloud.io/adopted"] !== "true")
              delete a["cluster-autoscaler.kubernetes.io/scale-down-disabled"];
          });
        return this.done({ ok: true });
      default:
        throw new Error(`rollout-node.py ${cmd}: not modelled`);
    }
  }

  private observe(): InvocationResult {
    for (const p of this.pools.values()) {
      for (const [id, left] of p.removing) {
        if (left > 0) {
          p.removing.set(id, left - 1);
          continue;
        }
        const [name] = [...this.nodes].find(([, x]) => x.instanceId === id) ?? [];
        if (name) this.nodes.delete(name);
        p.removing.delete(id);
      }
    }
    for (const [id, left] of [...this.pools.values()].flatMap((p) => [...p.launching])) {
      const pool = [...this.pools.values()].find((p) => p.launching.has(id));
      if (!pool) continue;
      if (left > 0) pool.launching.set(id, left - 1);
      else {
        pool.launching.delete(id);
        // ESS launches from the template version the group holds: the pool's target.
        this.addNode(id, pool.version, false);
      }
    }
    const nodes = [...this.nodes].map(([name, n]) => {
      const steady = n.annotations["kubeadm-alicloud.io/rollout-replace"];
      const flags =
        (n.ready ? 1 : 0) |
        (n.cordoned ? 2 : 0) |
        (n.controlPlane ? 4 : 0) |
        (n.annotations["kubeadm-alicloud.io/drained"] === "true" ? 8 : 0);
      return [
        name,
        "",
        n.kubelet,
        flags,
        steady === undefined ? -1 : Number(steady),
        n.annotations["kubeadm-alicloud.io/rollout-gated"] ?? "",
      ];
    });
    const apiServers = Object.fromEntries(
      [...this.nodes].filter(([, n]) => n.controlPlane).map(([name, n]) => [name, n.api ?? ""]),
    );
    const snapshot = { clusterVersion: this.clusterVersion, nodes, apiServers, page: 0, pages: 1 };
    return this.done({ ok: true, gz: gzipSync(JSON.stringify(snapshot)).toString("base64") });
  }

  private drain(instanceId: string, name: string, keepCordoned: boolean): InvocationResult {
    this.journal.push(`${instanceId} drain ${name}`);
    const n = this.node(name);
    this.effect(`cordon ${name}`, () => (n.cordoned = true));
    const line = (ok: boolean, reason: string, pods: string[], budgets: string[]) =>
      `kubeadm-alicloud-drain: ${JSON.stringify({ node: name, ok, reason, pods, budgets })}\n`;
    if (this.blocked.has(name)) {
      if (!keepCordoned) this.effect(`uncordon ${name}`, () => (n.cordoned = false));
      return {
        status: "Failed",
        exitCode: 3,
        output: line(false, "blocked", ["shop/db-0"], ["shop/db-budget"]),
      };
    }
    // drain.sh records a finished drain on the node (a cordon alone may be a killed drain's).
    this.effect(`drained ${name}`, () => (n.annotations["kubeadm-alicloud.io/drained"] = "true"));
    return { status: "Success", exitCode: 0, output: line(true, "drained", [], []) };
  }

  private upgrade(instanceId: string, kind: string, version: string): InvocationResult {
    this.journal.push(`${instanceId} upgrade-node ${kind} ${version}`);
    const [name, n] = [...this.nodes].find(([, x]) => x.instanceId === instanceId) ?? [];
    if (!name || !n) throw new Error(`upgrade on ${instanceId}, which has no node`);
    if (n.controlPlane) {
      if (kind === "apply") this.effect(`apply on ${name}`, () => (this.clusterVersion = version));
      else if (this.clusterVersion !== version)
        this.violations.push(`${name}: upgrade node before upgrade apply`);
      this.effect(`api on ${name}`, () => (n.api = version));
    }
    this.effect(`kubelet on ${name}`, () => (n.kubelet = version));
    return { status: "Success", exitCode: 0, output: "kubeadm-alicloud: node upgraded\n" };
  }

  /** ECS DescribeInstances: each pool instance's tags (the template digest), for the in-place pools. */
  instances(): InstanceApi {
    const unused = async () => {
      throw new Error("not modelled here (test/harness/adopt-world.ts)");
    };
    return {
      describe: async (ids) => {
        this.alive();
        return ids.flatMap((instanceId) => {
          const pool = [...this.pools.values()].find((p) => p.instanceDigest.has(instanceId));
          if (!pool) return [];
          this.describedIds.push(instanceId);
          return [
            {
              instanceId,
              status: "Running",
              vpcId: "vpc-1",
              vswitchId: "vsw-h",
              instanceType: "ecs.g7.xlarge",
              imageId: "m-1",
              securityGroupIds: [],
              httpTokens: "required",
              tags: { [TEMPLATE_DIGEST_TAG]: pool.instanceDigest.get(instanceId) ?? "" },
              privateIps: [],
            },
          ];
        });
      },
      findByPrivateIps: unused,
      joinSecurityGroup: unused,
      leaveSecurityGroup: unused,
      requireMetadataTokens: unused,
      liftDeletionProtection: unused,
      tag: unused,
    };
  }

  /** ESS: a group's size and instances; a larger total launches instances, removal releases them. */
  ess(): EssApi {
    const byGroup = (id: string) => {
      const p = [...this.pools.values()].find((x) => x.group === id);
      if (!p) throw new Error(`no group ${id}`);
      return p;
    };
    return {
      group: async (id) => {
        this.alive();
        const p = byGroup(id);
        return {
          desired: p.desired,
          maxSize: p.maxSize,
          minSize: p.minSize,
          lifecycleState: "Active",
          launchTemplateVersion: String(p.templateVersion),
          vswitchIds: ["vsw-h", "vsw-i"],
        };
      },
      instances: async (id) => {
        const p = byGroup(id);
        return [
          ...p.instances.map((instanceId) => ({
            instanceId,
            // An adopted instance is protected from scale-in (components/adopt/engine.ts).
            lifecycleState: p.attached.has(instanceId) ? "Protected" : "InService",
            launchTemplateVersion: String(p.instanceTemplate.get(instanceId) ?? ""),
            creationType: p.attached.has(instanceId) ? "Attached" : "AutoCreated",
          })),
          ...[...p.removing.keys()].map((instanceId) => ({
            instanceId,
            lifecycleState: "Removing",
            launchTemplateVersion: String(p.instanceTemplate.get(instanceId) ?? ""),
            creationType: "AutoCreated",
          })),
        ];
      },
      scaleTo: async (id, total) => {
        this.alive();
        this.busy();
        this.journal.push(`ess scale ${id} ${total}`);
        const p = byGroup(id);
        if (total > p.maxSize) this.violations.push(`${id} scaled past maxSize`);
        this.effect(`scale ${id}`, () => {
          for (let i = p.instances.length; i < total; i++) {
            this.launch(p, this.newId());
          }
          p.desired = total;
        });
      },
      attach: async () => {
        throw new Error("attach: not modelled here (test/harness/adopt-world.ts)");
      },
      detach: async () => {
        throw new Error("detach: not modelled here (test/harness/adopt-world.ts)");
      },
      protect: async () => {
        throw new Error("protect: not modelled here (test/harness/adopt-world.ts)");
      },
      remove: async (id, instanceIds, _token, keepCapacity) => {
        this.alive();
        this.busy();
        this.journal.push(
          `ess remove ${id} ${instanceIds.join(",")}${keepCapacity ? " keeping capacity" : ""}`,
        );
        const p = byGroup(id);
        if (p.instances.length - instanceIds.length < p.minSize)
          throw Object.assign(new Error("the scaling group would fall below MinSize"), {
            code: "IncorrectCapacity.MinSize",
          });
        this.effect(`remove from ${id}`, () => {
          for (const instanceId of instanceIds) {
            if (p.attached.has(instanceId))
              this.violations.push(`${id}: removed ${instanceId}, an instance the operator brought`);
            const [name, n] = [...this.nodes].find(([, x]) => x.instanceId === instanceId) ?? [];
            if (
              !name ||
              !n ||
              !n.cordoned ||
              n.annotations["kubeadm-alicloud.io/drained"] !== "true" ||
              n.annotations["kubeadm-alicloud.io/rollout-replace"] === undefined
            )
              this.violations.push(`${id}: removed ${instanceId}, not a marked and drained node`);
            // The Node goes a little later (the scale-in hook deletes it, or the CCM).
            p.removing.set(instanceId, 1);
            p.instances = p.instances.filter((x) => x !== instanceId);
          }
          if (keepCapacity) {
            // The desired capacity stays: ESS launches as many (CreateScalingGroup.md DesiredCapacity).
            instanceIds.forEach(() => this.launch(p, this.newId()));
            return;
          }
          p.desired -= instanceIds.length;
          const serving = p.instances.filter((x) => {
            const n = [...this.nodes.values()].find((y) => y.instanceId === x);
            // Nodes from before the rollout serve; those it launched only once gated.
            return (
              n && (!this.launched.has(x) || n.annotations["kubeadm-alicloud.io/rollout-gated"] === p.version)
            );
          }).length;
          if (serving < p.desired)
            this.violations.push(`${id}: old nodes removed before their replacements passed the gate`);
        });
      },
    };
  }
}
