// A fake Alibaba Cloud and cluster for adopting instances (components/adopt/engine.ts):
// ECS instances the operator has, one scaling group, a Cloud Assistant that reads the
// exact commands sent (plan/adopt.ts's parts, install, wait and reset; rollout-node.py's
// adopt step; the scale-in command) and answers as the real scripts do (their output
// formats are checked against the real scripts in test/adopt-commands.test.ts,
// test/rollout-node.test.ts and test/scale-in.test.ts), and an ESS with capacity limits,
// protection and busy periods. Every effect is checked against adoption's safety rules;
// `crashAfter` kills the run before the n-th effect. Not modelled: timing, the agent
// going offline, ESS's scaling activities themselves (attach and detach act at once).
import type { CommandApi, InvocationResult, RoleApi } from "../../components/cloud-assistant";
import type { InstanceApi } from "../../components/ecs-instances";
import type { EssApi } from "../../components/ess";

export class Crash extends Error {}

export interface WorldInstance {
  status: string;
  vpcId: string;
  securityGroups: string[];
  httpTokens: string;
  tags: Record<string, string>;
  role?: string;
  /** Installer parts stored on the instance, and whether the bootstrap was started. */
  parts: Set<number>;
  partScripts: Map<number, string>;
  /** The installer parts its last bootstrap ran (the user data it holds). */
  installed?: string;
  bootstrapStarted: boolean;
  kubeletRunning: boolean;
}

export interface WorldNode {
  cordoned: boolean;
  ready: boolean;
  annotations: Record<string, string>;
}

export class AdoptWorld {
  instances = new Map<string, WorldInstance>();
  nodes = new Map<string, WorldNode>();
  group = { id: "asg-0", minSize: 0, maxSize: 10, members: new Map<string, { protected: boolean }>() };
  journal: string[] = [];
  violations: string[] = [];
  /** ESS answers ScalingActivityInProgress this many more times. */
  busy = 0;
  failBootstrap = new Set<string>();
  blockedDrain = new Set<string>();
  crashAfter = Infinity;
  dead = false;
  private effects = 0;
  /** Instances ESS launched itself (CreationType AutoCreated). */
  private launched = new Set<string>();
  private invocations = new Map<string, InvocationResult>();

  constructor(
    readonly region: string,
    readonly version: string,
    readonly controlPlanes: readonly string[],
  ) {}

  addInstance(id: string, over: Partial<WorldInstance> = {}) {
    this.instances.set(id, {
      status: "Running",
      vpcId: "vpc-1",
      securityGroups: ["sg-own"],
      httpTokens: "optional",
      tags: {},
      parts: new Set(),
      partScripts: new Map(),
      bootstrapStarted: false,
      kubeletRunning: false,
      ...over,
    });
  }

  /** A group member launched by ESS, with its Node. */
  addLaunched(id: string) {
    this.launched.add(id);
    this.group.members.set(id, { protected: false });
    this.nodes.set(`${this.region}.${id}`, { cordoned: false, ready: true, annotations: {} });
  }

  revive() {
    this.dead = false;
    this.crashAfter = Infinity;
  }

  private alive() {
    if (this.dead) throw new Crash("the run was killed");
  }

  private effect(what: string, f: () => void) {
    this.alive();
    if (this.effects++ >= this.crashAfter) {
      this.dead = true;
      throw new Crash(`crash before ${what}`);
    }
    this.journal.push(what);
    f();
  }

  private instance(id: string): WorldInstance {
    const i = this.instances.get(id);
    if (!i)
      throw Object.assign(new Error(`InvalidInstanceId.NotFound: ${id}`), {
        code: "InvalidInstanceId.NotFound",
      });
    return i;
  }

  commands(): CommandApi {
    return {
      agentOnline: async (id) =>
        this.instances.get(id)?.status === "Running" || this.controlPlanes.includes(id),
      run: async (instanceId, script) => {
        this.alive();
        const id = `t-${this.invocations.size + 1}`;
        this.invocations.set(id, this.execute(instanceId, script));
        return id;
      },
      result: async (invokeId) => this.invocations.get(invokeId),
    };
  }

  private ok = (output: string): InvocationResult => ({ status: "Success", exitCode: 0, output });
  private failed = (exitCode: number, output: string): InvocationResult => ({
    status: "Failed",
    exitCode,
    output,
  });

  private execute(on: string, script: string): InvocationResult {
    const part = /> "\$d\/part-(\d+)\.tmp"$/m.exec(script);
    const rollout = /^exec python3 -c "[^"]*" (.*)$/m.exec(script);
    const scaleIn = /bash "\$d\/scale-in-drain\.sh" '(i-[a-z0-9]+)' (\S+) (\d+)$/m.exec(script);
    if (part?.[1]) {
      this.effect(`${on} part ${part[1]}`, () => {
        this.instance(on).parts.add(Number(part[1]));
        this.instance(on).partScripts.set(Number(part[1]), script);
      });
      return this.ok(`kubeadm-alicloud-adopt: part ${Number(part[1]) + 1} stored\n`);
    }
    if (/sha256sum/.test(script)) {
      const wanted = [...script.matchAll(/"\$d\/part-(\d+)"/g)].map((m) => Number(m[1]));
      const i = this.instance(on);
      if (!wanted.every((n) => i.parts.has(n)))
        return this.failed(3, "kubeadm-alicloud-adopt: the installer's parts do not add up (sha256)\n");
      this.effect(`${on} install`, () => {
        i.bootstrapStarted = true;
        // What it bootstraps from: the parts the installer names, in its order.
        i.installed = [...new Set(wanted)].map((n) => i.partScripts.get(n) ?? "").join("\n");
      });
      return this.ok("kubeadm-alicloud-adopt: installed; the bootstrap started\n");
    }
    if (/did not finish in time/.test(script)) {
      const i = this.instance(on);
      if (!i.bootstrapStarted)
        return this.failed(
          1,
          "kubeadm-alicloud-adopt: the bootstrap did not finish in time (status: none)\n",
        );
      if (this.failBootstrap.has(on))
        return this.failed(
          1,
          "kubeadm join: couldn't validate the identity of the API Server\nkubeadm-alicloud-adopt: the bootstrap failed: kubeadm join\n",
        );
      if (!i.kubeletRunning)
        this.effect(`${on} joins`, () => {
          i.kubeletRunning = true;
          this.nodes.set(`${this.region}.${on}`, { cordoned: false, ready: true, annotations: {} });
        });
      return this.ok("kubeadm-alicloud-adopt: bootstrapped\n");
    }
    if (/kubeadm reset -f/.test(script)) {
      const i = this.instance(on);
      this.effect(`${on} reset`, () => {
        i.kubeletRunning = false;
        i.bootstrapStarted = false;
      });
      return this.ok("kubeadm-alicloud-adopt: left the cluster\n");
    }
    if (rollout?.[1]) {
      if (!this.controlPlanes.includes(on))
        this.violations.push(`rollout-node.py ran on ${on}, not a control plane`);
      const [cmd, name = "", version = ""] = rollout[1].split(" ");
      if (cmd !== "adopt") throw new Error(`rollout-node.py ${cmd ?? ""}: not modelled`);
      const n = this.nodes.get(name);
      const problems = !n
        ? ["no such node"]
        : version !== this.version
          ? [`kubelet ${this.version} (want ${version})`]
          : [];
      const line = (o: object) => `kubeadm-alicloud-rollout: ${JSON.stringify(o)}\n`;
      if (problems.length > 0 || !n) return this.failed(1, line({ ok: false, node: name, problems }));
      this.effect(`adopt ${name}`, () =>
        Object.assign(n.annotations, {
          "kubeadm-alicloud.io/adopted": "true",
          "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
        }),
      );
      return this.ok(line({ ok: true, node: name }));
    }
    if (scaleIn?.[1]) {
      if (!this.controlPlanes.includes(on))
        this.violations.push(`the drain ran on ${on}, not a control plane`);
      const id = scaleIn[1];
      const name = `${scaleIn[2] ?? ""}.${id}`;
      const n = this.nodes.get(name);
      if (!n) return this.ok(`kubeadm-alicloud: no node ${name}: nothing to drain\n`);
      this.effect(`cordon ${name}`, () => (n.cordoned = true));
      if (this.blockedDrain.has(name))
        return this.failed(
          3,
          `kubeadm-alicloud-drain: ${JSON.stringify({ node: name, ok: false, reason: "blocked", pods: ["shop/db-0"], budgets: ["shop/db-budget"] })}\n`,
        );
      this.effect(`delete node ${name}`, () => {
        this.nodes.delete(name);
        // A kubelet still running registers its Node again.
        if (this.instances.get(id)?.kubeletRunning)
          this.nodes.set(name, { cordoned: false, ready: true, annotations: {} });
      });
      return this.ok(`kubeadm-alicloud: ${name} drained and deleted\n`);
    }
    throw new Error(`the fake Cloud Assistant does not know this command:\n${script.slice(0, 300)}`);
  }

  roles(): RoleApi {
    return {
      instanceRole: async (id) => {
        this.alive();
        return this.instances.get(id)?.role;
      },
      attachRole: async (id, role) =>
        this.effect(`${id} role ${role}`, () => (this.instance(id).role = role)),
      detachRole: async (id, role) =>
        this.effect(`${id} role -${role}`, () => {
          if (this.instance(id).role === role) delete this.instance(id).role;
        }),
    };
  }

  instanceApi(): InstanceApi {
    return {
      describe: async (ids) => {
        this.alive();
        return ids.flatMap((id) => {
          const i = this.instances.get(id);
          return i
            ? [
                {
                  instanceId: id,
                  status: i.status,
                  vpcId: i.vpcId,
                  vswitchId: "vsw-1",
                  instanceType: "ecs.g7.large",
                  imageId: "ubuntu_24_04_x64_20G_alibase_20250101.vhd",
                  securityGroupIds: [...i.securityGroups],
                  httpTokens: i.httpTokens,
                  tags: { ...i.tags },
                  privateIps: ["10.0.8.9"],
                },
              ]
            : [];
        });
      },
      findByPrivateIps: async () => {
        throw new Error("findByPrivateIps: not modelled in the adoption world");
      },
      joinSecurityGroup: async (id, sg) =>
        this.effect(`${id} join ${sg}`, () => this.instance(id).securityGroups.push(sg)),
      leaveSecurityGroup: async (id, sg) =>
        this.effect(`${id} leave ${sg}`, () => {
          const i = this.instance(id);
          i.securityGroups = i.securityGroups.filter((x) => x !== sg);
        }),
      requireMetadataTokens: async (id) =>
        this.effect(`${id} tokens`, () => (this.instance(id).httpTokens = "required")),
      liftDeletionProtection: async () => {
        throw new Error("liftDeletionProtection: adoption never releases an instance");
      },
      tag: async (id, tags) =>
        this.effect(`${id} tag ${Object.values(tags).join(",")}`, () =>
          Object.assign(this.instance(id).tags, tags),
        ),
    };
  }

  ess(): EssApi {
    const busy = () => {
      if (this.busy > 0) {
        this.busy--;
        throw Object.assign(new Error("ScalingActivityInProgress"), { code: "ScalingActivityInProgress" });
      }
    };
    const notModelled = async () => {
      throw new Error("not modelled in the adoption world");
    };
    return {
      group: async () => {
        this.alive();
        const g = this.group;
        return {
          desired: g.members.size,
          maxSize: g.maxSize,
          minSize: g.minSize,
          lifecycleState: "Active",
          launchTemplateVersion: "1",
          vswitchIds: ["vsw-1"],
        };
      },
      instances: async () => {
        this.alive();
        return [...this.group.members].map(([instanceId, m]) => ({
          instanceId,
          lifecycleState: m.protected ? "Protected" : "InService",
          launchTemplateVersion: this.launched.has(instanceId) ? "1" : "",
          creationType: this.launched.has(instanceId) ? "AutoCreated" : "Attached",
        }));
      },
      scaleTo: notModelled,
      remove: notModelled,
      attach: async (_g, ids) => {
        this.alive();
        busy();
        if (this.group.members.size + ids.length > this.group.maxSize)
          throw Object.assign(new Error("IncorrectCapacity.MaxSize"), { code: "IncorrectCapacity.MaxSize" });
        this.effect(`attach ${ids.join(",")}`, () => {
          for (const id of ids) {
            const n = this.nodes.get(`${this.region}.${id}`);
            if (n?.annotations["kubeadm-alicloud.io/adopted"] !== "true")
              this.violations.push(`${id} attached before its node passed the gate`);
            if (this.instance(id).status !== "Running")
              this.violations.push(`${id} attached while not Running`);
            this.group.members.set(id, { protected: false });
          }
        });
      },
      detach: async (_g, ids) => {
        this.alive();
        busy();
        this.effect(`detach ${ids.join(",")}`, () => {
          for (const id of ids) {
            if (this.group.members.get(id)?.protected) this.violations.push(`${id} detached while protected`);
            if (this.nodes.has(`${this.region}.${id}`))
              this.violations.push(`${id} detached with its Node still there`);
            if (this.instances.get(id)?.kubeletRunning)
              this.violations.push(`${id} detached with its kubelet running`);
            this.group.members.delete(id);
          }
          if (this.group.members.size < this.group.minSize)
            this.violations.push("the group went under minSize");
        });
      },
      protect: async (_g, ids, on) => {
        this.effect(`protect ${on} ${ids.join(",")}`, () => {
          for (const id of ids) {
            const m = this.group.members.get(id);
            if (!m) throw new Error(`protect: ${id} is not in the group`);
            m.protected = on;
          }
        });
      },
    };
  }
}
