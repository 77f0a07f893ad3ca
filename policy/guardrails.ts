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
  template: "alicloud:ecs/ecsLaunchTemplate:EcsLaunchTemplate",
  group: "alicloud:ess/scalingGroup:ScalingGroup",
  nat: "alicloud:vpc/natGateway:NatGateway",
  eip: "alicloud:ecs/eipAddress:EipAddress",
  lb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
  rule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  acl: "alicloud:slb/acl:Acl",
  aclEntry: "alicloud:slb/aclEntryAttachment:AclEntryAttachment",
};

const tags = (r: GuardedResource) => (r.props.tags ?? {}) as Record<string, string>;
const isProd = (resources: readonly GuardedResource[]) =>
  resources.some((r) => tags(r)[ENVIRONMENT_TAG] === "prod");
const controlPlanes = (resources: readonly GuardedResource[]) =>
  resources.filter((r) => r.type === T.instance && tags(r)[ROLE_TAG] === "control-plane");

/** Policy engines hand secrets over wrapped ({ value }); mocks and plain values are not. */
function plain(value: unknown): unknown {
  return typeof value === "object" && value !== null && "value" in value && Object.keys(value).length === 1
    ? (value as { value: unknown }).value
    : value;
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
    if (cps.length < 3)
      out.push({ policy: this.name, message: `prod has ${cps.length} control plane(s); run 3 or 5` });
    if (zones.size < 2)
      out.push({
        policy: this.name,
        message: `prod control planes sit in ${zones.size} zone(s); spread them over at least 2`,
      });
    return out;
  },
};

const prodDeletionProtection: Guardrail = {
  name: "prod-deletion-protection",
  description:
    "prod control planes, scaling groups, NAT gateway, its EIP and the API load balancers are protected from deletion",
  check(resources) {
    if (!isProd(resources)) return [];
    const unprotected = (r: GuardedResource): boolean => {
      switch (r.type) {
        case T.instance:
          return tags(r)[ROLE_TAG] === "control-plane" && r.props.deletionProtection !== true;
        case T.group:
          return r.props.groupDeletionProtection !== true;
        case T.nat:
        case T.eip:
          return r.props.deletionProtection !== true;
        case T.lb:
          return r.props.deleteProtection !== "on";
        default:
          return false;
      }
    };
    return resources.filter(unprotected).map((r) => ({
      policy: this.name,
      resource: r.name,
      message: `${r.type} ${r.name} is not protected from deletion`,
    }));
  },
};

const noWorldOpenAccess: Guardrail = {
  name: "no-world-open-api-or-ssh",
  description:
    "no security-group rule or load-balancer allow-list opens SSH (anywhere) or the Kubernetes API (in prod) to 0.0.0.0/0",
  check(resources) {
    const prod = isProd(resources);
    const out: Violation[] = [];
    for (const r of resources) {
      if (
        r.type === T.rule &&
        r.props.type === "ingress" &&
        r.props.cidrIp === "0.0.0.0/0" &&
        r.props.policy !== "drop"
      ) {
        if (covers(r.props.portRange, 22))
          out.push({
            policy: this.name,
            resource: r.name,
            message: `${r.name} opens SSH to the whole internet`,
          });
        if (prod && covers(r.props.portRange, 6443))
          out.push({
            policy: this.name,
            resource: r.name,
            message: `${r.name} opens the Kubernetes API to the whole internet`,
          });
      }
      // An allow-list entry: the deprecated entry_list of an ACL, or an AclEntryAttachment.
      if (prod && r.type === T.acl) {
        const entries = (r.props.entryLists ?? []) as { entry?: string }[];
        if (entries.some((e) => e.entry === "0.0.0.0/0"))
          out.push({
            policy: this.name,
            resource: r.name,
            message: `${r.name} lets the whole internet reach the public API`,
          });
      }
      if (prod && r.type === T.aclEntry && r.props.entry === "0.0.0.0/0") {
        out.push({
          policy: this.name,
          resource: r.name,
          message: `${r.name} lets the whole internet reach the public API`,
        });
      }
    }
    return out;
  },
};

/** The files of a node's cloud-config user data, decoded; launch templates hold it base64-encoded. */
function userDataFiles(r: GuardedResource): WriteFile[] | undefined {
  const raw = plain(r.props.userData);
  if (typeof raw !== "string") return undefined;
  const text = r.type === T.template ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (!text.startsWith("#cloud-config")) return undefined;
  const doc = parse(text) as { write_files?: WriteFile[] };
  return (doc.write_files ?? []).map((f) => ({ ...f, content: fileText(f) }));
}

/** The kubeadm configuration carried in a control plane's user data (the init one where there is one). */
function kubeadmConfigOf(instance: GuardedResource): string | undefined {
  const files = userDataFiles(instance);
  return (
    files?.find((w) => w.path === NODE_PATHS.kubeadmInit) ??
    files?.find((w) => w.path === NODE_PATHS.kubeadmJoin)
  )?.content;
}

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const BOOTSTRAP_TOKEN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/;

const noSecretsInUserData: Guardrail = {
  name: "no-secrets-in-user-data",
  description:
    "no instance or launch template carries a private key or a bootstrap token in its user data (readable through DescribeInstances and the metadata service)",
  check(resources) {
    return resources.flatMap((r) => {
      if (r.type !== T.instance && r.type !== T.template) return [];
      const leaked = (userDataFiles(r) ?? [])
        .filter((f) => PEM_PRIVATE_KEY.test(f.content) || BOOTSTRAP_TOKEN.test(f.content))
        .map((f) => f.path);
      return leaked.length === 0
        ? []
        : [
            {
              policy: this.name,
              resource: r.name,
              message: `${r.name}: user data carries a private key or token in ${leaked.join(", ")}`,
            },
          ];
    });
  },
};

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
        : [
            {
              policy: this.name,
              resource: cp.name,
              message: `${cp.name}: kube-apiserver runs without --encryption-provider-config`,
            },
          ];
    });
  },
};

export const GUARDRAILS: readonly Guardrail[] = [
  prodHighlyAvailable,
  prodDeletionProtection,
  noWorldOpenAccess,
  prodEncryptionAtRest,
  noSecretsInUserData,
];

export function checkGuardrails(resources: readonly GuardedResource[]): Violation[] {
  return GUARDRAILS.flatMap((g) => g.check(resources));
}
