// The security-group rule matrix: which traffic each node group accepts, from whom,
// and why. One declarative table (Kubernetes' port list, see ../shared reference
// kubeadm.md "Ports") plus what the chosen CNI declares; every rule is derived here.
import { cniNodeTraffic, type NodeTraffic, type SgProtocol } from "../addons/cni";
import { addonNodeTraffic } from "../addons/index";
import type { ClusterSpec } from "../config/spec";
import { ALIBABA_RESERVED_CIDR, WORLD } from "./cidr";

export type NodeGroup = "controlPlane" | "workers";
export const NODE_GROUPS: readonly NodeGroup[] = ["controlPlane", "workers"];

/** The other side of a rule: another node group (by security-group id) or a CIDR. */
export type Peer = { readonly group: NodeGroup } | { readonly cidr: string };

export interface SecurityRule {
  /** Stable identity, part of the Pulumi resource name: never reorder-dependent. */
  readonly key: string;
  readonly group: NodeGroup;
  readonly direction: "ingress" | "egress";
  readonly protocol: SgProtocol;
  /** Alibaba's "from/to" form; "-1/-1" for icmp, gre and all. */
  readonly portRange: string;
  readonly peer: Peer;
  readonly policy: "accept" | "drop";
  /** 1 (first) to 100 (last). */
  readonly priority: number;
  readonly description: string;
}

/** Who a matrix entry admits, resolved against the spec. */
type Audience = "allNodes" | "controlPlane" | "apiClients" | "vpcAndPeers" | "sshClients";

interface PortEntry {
  readonly protocol: SgProtocol;
  readonly ports: readonly [number, number];
  readonly to: readonly NodeGroup[];
  readonly from: readonly Audience[];
  readonly purpose: string;
}

/**
 * Kubernetes' own ports. controller-manager (10257) and scheduler (10259) listen on
 * 127.0.0.1 under kubeadm and need no rule; kube-proxy's health port (10256) and
 * load-balancer health checks come from 100.64.0.0/10, which Alibaba Cloud security
 * groups admit without a rule.
 */
const KUBERNETES_PORTS: readonly PortEntry[] = [
  {
    protocol: "tcp",
    ports: [6443, 6443],
    to: ["controlPlane"],
    from: ["allNodes", "apiClients"],
    purpose: "Kubernetes API server",
  },
  {
    protocol: "tcp",
    ports: [2379, 2380],
    to: ["controlPlane"],
    from: ["controlPlane"],
    purpose: "etcd client and peer traffic between control planes",
  },
  {
    protocol: "tcp",
    ports: [10250, 10250],
    to: ["controlPlane", "workers"],
    from: ["allNodes"],
    purpose: "kubelet API: API server exec/logs, metrics scraping",
  },
  {
    protocol: "tcp",
    ports: [30000, 32767],
    to: ["workers"],
    from: ["allNodes", "vpcAndPeers"],
    purpose: "NodePort Services (TCP)",
  },
  {
    protocol: "udp",
    ports: [30000, 32767],
    to: ["workers"],
    from: ["allNodes", "vpcAndPeers"],
    purpose: "NodePort Services (UDP)",
  },
  {
    protocol: "icmp",
    ports: [-1, -1],
    to: ["controlPlane", "workers"],
    from: ["allNodes"],
    purpose: "ICMP between nodes: path-MTU discovery for the overlay, diagnostics",
  },
  {
    protocol: "tcp",
    ports: [22, 22],
    to: ["controlPlane", "workers"],
    from: ["sshClients"],
    purpose: "SSH for administrators (opt-in)",
  },
];

function cniEntries(traffic: readonly NodeTraffic[]): PortEntry[] {
  return traffic.map((t) => ({
    protocol: t.protocol,
    ports: t.ports,
    to: NODE_GROUPS,
    from: ["allNodes"],
    purpose: t.purpose,
  }));
}

/** The matrix for this cluster: Kubernetes' ports plus the CNI's. */
export function portMatrix(spec: ClusterSpec): readonly PortEntry[] {
  return [...KUBERNETES_PORTS, ...cniEntries([...cniNodeTraffic(spec.cni), ...addonNodeTraffic(spec)])];
}

interface LabelledPeer {
  readonly peer: Peer;
  readonly who: string;
}

function audience(spec: ClusterSpec, a: Audience): LabelledPeer[] {
  const cidrs = (list: readonly string[], who: string) =>
    list.map((cidr) => ({ peer: { cidr }, who: `${who} ${cidr}` }));
  switch (a) {
    case "allNodes":
      return NODE_GROUPS.map((group) => ({ peer: { group }, who: groupLabel(group) }));
    case "controlPlane":
      return [{ peer: { group: "controlPlane" }, who: groupLabel("controlPlane") }];
    case "apiClients":
      return [
        ...cidrs(spec.apiEndpoint.allowedCidrs, "allowed API client"),
        ...cidrs(spec.network.peerCidrs, "peer network"),
      ];
    case "vpcAndPeers":
      return [...cidrs([spec.network.vpc.cidr], "the VPC"), ...cidrs(spec.network.peerCidrs, "peer network")];
    case "sshClients":
      return spec.ssh.enabled ? cidrs(spec.ssh.allowedCidrs, "SSH client") : [];
  }
}

function groupLabel(group: NodeGroup): string {
  return group === "controlPlane" ? "control-plane nodes" : "worker nodes";
}

function peerSlug(peer: Peer): string {
  return "group" in peer
    ? peer.group === "controlPlane"
      ? "control-plane"
      : "workers"
    : peer.cidr.replace(/[./]/g, "-");
}

function portSlug(protocol: SgProtocol, ports: readonly [number, number]): string {
  if (ports[0] === -1) return protocol;
  return ports[0] === ports[1] ? `${protocol}${ports[0]}` : `${protocol}${ports[0]}-${ports[1]}`;
}

/**
 * Every security-group rule of the cluster. Identical rules reached through two
 * entries (e.g. a CIDR that is both a peer and an API client) are merged, their
 * reasons joined, so each rule exists once.
 */
export function securityRules(spec: ClusterSpec): SecurityRule[] {
  const rules = new Map<string, SecurityRule>();
  const add = (rule: SecurityRule) => {
    const existing = rules.get(rule.key);
    if (!existing) rules.set(rule.key, rule);
    else if (!existing.description.includes(rule.description))
      rules.set(rule.key, { ...existing, description: `${existing.description}; ${rule.description}` });
  };

  for (const entry of portMatrix(spec)) {
    for (const group of entry.to) {
      for (const a of entry.from) {
        for (const { peer, who } of audience(spec, a)) {
          add({
            key: `${group === "controlPlane" ? "cp" : "workers"}-in-${portSlug(entry.protocol, entry.ports)}-from-${peerSlug(peer)}`,
            group,
            direction: "ingress",
            protocol: entry.protocol,
            portRange: `${entry.ports[0]}/${entry.ports[1]}`,
            peer,
            policy: "accept",
            priority: 1,
            description: `${entry.purpose}, from ${who}`,
          });
        }
      }
    }
  }

  if (spec.network.egress.restricted) {
    const allowed: LabelledPeer[] = [
      { peer: { cidr: spec.network.vpc.cidr }, who: "the VPC (nodes, load balancers, NAT)" },
      {
        peer: { cidr: ALIBABA_RESERVED_CIDR },
        who: "Alibaba Cloud internal services (metadata, DNS, mirrors, Cloud Assistant)",
      },
      ...spec.network.egress.allowedCidrs.map((cidr) => ({
        peer: { cidr },
        who: `allowed destination ${cidr}`,
      })),
    ];
    for (const group of NODE_GROUPS) {
      const prefix = group === "controlPlane" ? "cp" : "workers";
      for (const { peer, who } of allowed) {
        add({
          key: `${prefix}-out-all-to-${peerSlug(peer)}`,
          group,
          direction: "egress",
          protocol: "all",
          portRange: "-1/-1",
          peer,
          policy: "accept",
          priority: 1,
          description: `Restricted egress: allow ${who}`,
        });
      }
      add({
        key: `${prefix}-out-all-deny`,
        group,
        direction: "egress",
        protocol: "all",
        portRange: "-1/-1",
        peer: { cidr: WORLD },
        policy: "drop",
        priority: 100,
        description: "Restricted egress: deny everything not allowed above",
      });
    }
  }

  return [...rules.values()].sort((a, b) => a.key.localeCompare(b.key));
}
