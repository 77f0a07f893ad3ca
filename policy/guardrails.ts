// Guardrails for stacks built with kubeadm-alicloud, as plain functions over the
// resources a deployment registers: the policy pack (policy/index.ts) runs them in
// `pulumi preview --policy-pack`, the tests run them on the real program under mocks.
import { parse } from "yaml";
import { ENVIRONMENT_TAG, ROLE_TAG } from "../plan/naming";
import { NODE_PATHS, fileText, type WriteFile } from "../plan/node-bootstrap";

/** The parts of a registered resource the guardrails read. */
export interface GuardedResource {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
}

export interface Violation {
  readonly policy: string;
  readonly resource?: string;
  readonly message: string;
}

export interface Guardrail {
  readonly name: string;
  readonly description: string;
  check(resources: readonly GuardedResource[]): Violation[];
}

const T = {
  instance: "alicloud:ecs/instance:Instance",
  group: "alicloud:ess/scalingGroup:ScalingGroup",
  nat: "alicloud:vpc/natGateway:NatGateway",
  eip: "alicloud:ecs/eipAddress:EipAddress",
  lb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
  rule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  acl: "alicloud:slb/acl:Acl",
};

const tags = (r: GuardedResource) => (r.props.tags ?? {}) as Record<string, string>;
const isProd = (resources: readonly GuardedResource[]) => resources.some((r) => tags(r)[ENVIRONMENT_TAG] === "prod");
const controlPlanes = (resources: readonly GuardedResource[]) => resources.filter((r) => r.type === T.instance && tags(r)[ROLE_TAG] === "control-plane");

/** Policy engines hand secrets over wrapped ({ value }); mocks and plain values are not. */
function plain(value: unknown): unknown {
  return typeof value === "object" && value !== null && "value" in value && Object.keys(value).length === 1 ? (value as { value: unknown }).value : value;
}

/** Does a port range "a/b" cover `port`? "-1/-1" (all) covers every port. */
function covers(range: unknown, port: number): boolean {
  const [a, b] = String(range).split("/").map(Number);
  if (a === -1) return true;
  return a !== undefined && b !== undefined && a <= port && port <= b;
}

const prodHighlyAvailable: Guardrail = {
  name: "prod-control-plane-highly-available",
  description: "prod stacks run at least 3 control planes across at least 2 zones (vSwitches)",
  check(resources) {
    if (!isProd(resources)) return [];
    const cps = controlPlanes(resources);
    const zones = new Set(cps.map((c) => String(c.props.vswitchId)));
    const out: Violation[] = [];
    if (cps.length < 3) out.push({ policy: this.name, message: `prod has ${cps.length} control plane(s); run 3 or 5` });
    if (zones.size < 2) out.push({ policy: this.name, message: `prod control planes sit in ${zones.size} zone(s); spread them over at least 2` });
    return out;
  },
};

const prodDeletionProtection: Guardrail = {
  name: "prod-deletion-protection",
  description: "prod control planes, scaling groups, NAT gateway, its EIP and the API load balancers are protected from deletion",
  check(resources) {
    if (!isProd(resources)) return [];
    const unprotected = (r: GuardedResource): boolean => {
      switch (r.type) {
        case T.instance: return tags(r)[ROLE_TAG] === "control-plane" && r.props.deletionProtection !== true;
        case T.group: return r.props.groupDeletionProtection !== true;
        case T.nat: case T.eip: return r.props.deletionProtection !== true;
        case T.lb: return r.props.deleteProtection !== "on";
        default: return false;
      }
    };
    return resources.filter(unprotected).map((r) => ({ policy: this.name, resource: r.name, message: `${r.type} ${r.name} is not protected from deletion` }));
  },
};

const noWorldOpenAccess: Guardrail = {
  name: "no-world-open-api-or-ssh",
  description: "no security-group rule or load-balancer allow-list opens SSH (anywhere) or the Kubernetes API (in prod) to 0.0.0.0/0",
  check(resources) {
    const prod = isProd(resources);
    const out: Violation[] = [];
    for (const r of resources) {
      if (r.type === T.rule && r.props.type === "ingress" && r.props.cidrIp === "0.0.0.0/0" && r.props.policy !== "drop") {
        if (covers(r.props.portRange, 22)) out.push({ policy: this.name, resource: r.name, message: `${r.name} opens SSH to the whole internet` });
        if (prod && covers(r.props.portRange, 6443)) out.push({ policy: this.name, resource: r.name, message: `${r.name} opens the Kubernetes API to the whole internet` });
      }
      if (prod && r.type === T.acl) {
        const entries = (r.props.entryLists ?? []) as { entry?: string }[];
        if (entries.some((e) => e.entry === "0.0.0.0/0")) out.push({ policy: this.name, resource: r.name, message: `${r.name} lets the whole internet reach the public API` });
      }
    }
    return out;
  },
};

/** The kubeadm configuration carried in a control plane's user data (gz+b64 or plain). */
function kubeadmConfigOf(instance: GuardedResource): string | undefined {
  const userData = plain(instance.props.userData);
  if (typeof userData !== "string" || !userData.startsWith("#cloud-config")) return undefined;
  const doc = parse(userData) as { write_files?: WriteFile[] };
  const f = doc.write_files?.find((w) => w.path === NODE_PATHS.kubeadm);
  return f ? fileText(f) : undefined;
}

const prodEncryptionAtRest: Guardrail = {
  name: "prod-encryption-at-rest",
  description: "prod API servers encrypt Secrets at rest",
  check(resources) {
    if (!isProd(resources)) return [];
    // The cluster-wide API server flags live in the first control plane's
    // ClusterConfiguration; the others join and read it from the cluster.
    return controlPlanes(resources).flatMap((cp) => {
      const config = kubeadmConfigOf(cp);
      // Unknown during a preview of a new stack, or a joining node: nothing to judge here.
      if (config === undefined || !config.includes("kind: ClusterConfiguration")) return [];
      return config.includes("name: encryption-provider-config")
        ? []
        : [{ policy: this.name, resource: cp.name, message: `${cp.name}: kube-apiserver runs without --encryption-provider-config` }];
    });
  },
};

export const GUARDRAILS: readonly Guardrail[] = [prodHighlyAvailable, prodDeletionProtection, noWorldOpenAccess, prodEncryptionAtRest];

export function checkGuardrails(resources: readonly GuardedResource[]): Violation[] {
  return GUARDRAILS.flatMap((g) => g.check(resources));
}
