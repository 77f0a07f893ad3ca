// The rule matrix per configuration: who may reach what, and why.
import { describe, expect, it } from "vitest";
import { securityRules, type SecurityRule } from "../plan/security-rules";
import { specFor } from "./kit";

const ALIBABA_PROTOCOLS = ["tcp", "udp", "icmp", "gre", "all"];

function find(
  rules: SecurityRule[],
  match: Partial<{ group: string; protocol: string; portRange: string; peer: string; direction: string }>,
): SecurityRule[] {
  return rules.filter(
    (r) =>
      (match.group === undefined || r.group === match.group) &&
      (match.protocol === undefined || r.protocol === match.protocol) &&
      (match.portRange === undefined || r.portRange === match.portRange) &&
      (match.direction === undefined || r.direction === match.direction) &&
      (match.peer === undefined || ("group" in r.peer ? r.peer.group : r.peer.cidr) === match.peer),
  );
}

const peers = (rules: SecurityRule[]) =>
  rules.map((r) => ("group" in r.peer ? r.peer.group : r.peer.cidr)).sort();

describe("security-group rule matrix", () => {
  const calico = securityRules(
    specFor({
      network: { peerCidrs: ["172.16.0.0/16"] },
      apiEndpoint: { public: false, allowedCidrs: ["192.168.50.0/24"] },
    }),
  );

  it("every rule is well-formed for Alibaba Cloud and says why it exists", () => {
    for (const r of calico) {
      expect(ALIBABA_PROTOCOLS).toContain(r.protocol);
      if (["icmp", "gre", "all"].includes(r.protocol)) expect(r.portRange).toBe("-1/-1");
      else expect(r.portRange).toMatch(/^\d+\/\d+$/);
      expect(r.priority).toBeGreaterThanOrEqual(1);
      expect(r.priority).toBeLessThanOrEqual(100);
      expect(r.description.length).toBeGreaterThan(10);
      expect(r.description.length).toBeLessThanOrEqual(512);
    }
    expect(new Set(calico.map((r) => r.key)).size).toBe(calico.length);
  });

  it("etcd is reachable from control planes only", () => {
    expect(peers(find(calico, { portRange: "2379/2380" }))).toEqual(["controlPlane"]);
    expect(find(calico, { portRange: "2379/2380" }).every((r) => r.group === "controlPlane")).toBe(true);
  });

  it("the API admits both node groups, the peers and the allowed CIDRs, nothing else", () => {
    expect(peers(find(calico, { portRange: "6443/6443" }))).toEqual([
      "172.16.0.0/16",
      "192.168.50.0/24",
      "controlPlane",
      "workers",
    ]);
    expect(find(calico, { group: "workers", portRange: "6443/6443" })).toEqual([]);
  });

  it("kubelets are reachable from every node and from nowhere else", () => {
    const kubelet = find(calico, { portRange: "10250/10250" });
    expect(
      kubelet.map((r) => `${r.group}<-${"group" in r.peer ? r.peer.group : r.peer.cidr}`).sort(),
    ).toEqual([
      "controlPlane<-controlPlane",
      "controlPlane<-workers",
      "workers<-controlPlane",
      "workers<-workers",
    ]);
  });

  it("NodePorts on workers admit the VPC and peers over TCP and UDP", () => {
    for (const protocol of ["tcp", "udp"]) {
      expect(peers(find(calico, { group: "workers", protocol, portRange: "30000/32767" }))).toEqual([
        "10.0.0.0/16",
        "172.16.0.0/16",
        "controlPlane",
        "workers",
      ]);
    }
    expect(find(calico, { group: "controlPlane", portRange: "30000/32767" })).toEqual([]);
  });

  it("a CIDR that is both peer and API client gets one rule carrying both reasons", () => {
    const both = securityRules(
      specFor({
        network: { peerCidrs: ["172.16.0.0/16"] },
        apiEndpoint: { public: false, allowedCidrs: ["172.16.0.0/16"] },
      }),
    );
    const api = find(both, { portRange: "6443/6443", peer: "172.16.0.0/16" });
    expect(api).toHaveLength(1);
    expect(api[0]?.description).toMatch(
      /allowed API client 172\.16\.0\.0\/16; .*peer network 172\.16\.0\.0\/16/,
    );
  });

  it("Calico VXLAN opens UDP 4789 and Typha between all nodes, and no IP-in-IP", () => {
    expect(find(calico, { protocol: "udp", portRange: "4789/4789" })).toHaveLength(4);
    expect(find(calico, { protocol: "tcp", portRange: "5473/5473" })).toHaveLength(4);
    expect(find(calico, { protocol: "all" })).toEqual([]);
    expect(find(calico, { portRange: "179/179" })).toEqual([]);
  });

  it("Calico IP-in-IP needs protocol 'all' between nodes (and BGP), never from CIDRs", () => {
    const ipip = securityRules(specFor({ cni: { name: "calico", encapsulation: "IPIP" } }));
    const all = find(ipip, { protocol: "all", direction: "ingress" });
    expect(peers(all)).toEqual(["controlPlane", "controlPlane", "workers", "workers"]);
    expect(find(ipip, { protocol: "tcp", portRange: "179/179" })).toHaveLength(4);
    expect(find(ipip, { protocol: "udp", portRange: "4789/4789" })).toEqual([]);
  });

  it("Flannel opens VXLAN on UDP 8472 only", () => {
    const flannel = securityRules(specFor({ cni: { name: "flannel" } }));
    expect(find(flannel, { protocol: "udp", portRange: "8472/8472" })).toHaveLength(4);
    expect(find(flannel, { portRange: "5473/5473" })).toEqual([]);
    expect(find(flannel, { portRange: "4789/4789" })).toEqual([]);
  });

  // Audit addons-cni 2.4: node-exporter listens on the host network, port 9100
  // (kube-prometheus-stack charts/prometheus-node-exporter values.yaml hostNetwork: true,
  // service.port 9100), and Prometheus scrapes every node's host address.
  it("monitoring opens node-exporter's 9100/tcp between all nodes, and only when it is on", () => {
    const on = securityRules(specFor({ addons: { monitoring: { enabled: true } } }));
    const rules = find(on, { protocol: "tcp", portRange: "9100/9100", direction: "ingress" });
    expect(rules.map((r) => `${r.group}<-${"group" in r.peer ? r.peer.group : r.peer.cidr}`).sort()).toEqual([
      "controlPlane<-controlPlane",
      "controlPlane<-workers",
      "workers<-controlPlane",
      "workers<-workers",
    ]);
    expect(find(securityRules(specFor({})), { portRange: "9100/9100" })).toEqual([]);
  });

  it("Cilium opens VXLAN, health and Hubble; WireGuard only when asked", () => {
    const cilium = securityRules(specFor({ kubernetesVersion: "1.35.2", cni: { name: "cilium" } }));
    for (const range of ["8472/8472", "4240/4240", "4244/4244"])
      expect(find(cilium, { portRange: range })).toHaveLength(4);
    expect(find(cilium, { portRange: "51871/51871" })).toEqual([]);
    const wg = securityRules(
      specFor({ kubernetesVersion: "1.35.2", cni: { name: "cilium", wireguard: true, hubble: false } }),
    );
    expect(find(wg, { protocol: "udp", portRange: "51871/51871" })).toHaveLength(4);
    expect(find(wg, { portRange: "4244/4244" })).toEqual([]);
  });

  it("SSH has no rule unless enabled, then only from its CIDRs", () => {
    expect(find(calico, { portRange: "22/22" })).toEqual([]);
    const ssh = securityRules(
      specFor({ ssh: { enabled: true, keyPairName: "ops", allowedCidrs: ["198.51.100.0/24"] } }),
    );
    expect(
      find(ssh, { portRange: "22/22" })
        .map((r) => `${r.group}<-${"cidr" in r.peer ? r.peer.cidr : ""}`)
        .sort(),
    ).toEqual(["controlPlane<-198.51.100.0/24", "workers<-198.51.100.0/24"]);
  });

  it("a public API admits exactly its allowed CIDRs from outside", () => {
    const pub = securityRules(specFor({ apiEndpoint: { public: true, allowedCidrs: ["198.51.100.7/32"] } }));
    const outside = pub.filter(
      (r) => r.direction === "ingress" && "cidr" in r.peer && r.peer.cidr !== "10.0.0.0/16",
    );
    expect(outside.map((r) => `${r.group} ${r.portRange} ${"cidr" in r.peer ? r.peer.cidr : ""}`)).toEqual([
      "controlPlane 6443/6443 198.51.100.7/32",
    ]);
  });

  it("no egress rules by default; restricted egress allows VPC, Alibaba services and the list, then denies", () => {
    expect(calico.filter((r) => r.direction === "egress")).toEqual([]);
    const restricted = securityRules(
      specFor({ network: { egress: { restricted: true, allowedCidrs: ["198.51.100.0/24"] } } }),
    );
    for (const group of ["controlPlane", "workers"]) {
      const out = find(restricted, { group, direction: "egress" });
      const accept = out.filter((r) => r.policy === "accept");
      const drop = out.filter((r) => r.policy === "drop");
      expect(peers(accept)).toEqual(["10.0.0.0/16", "100.64.0.0/10", "198.51.100.0/24"]);
      expect(drop.map((r) => ["cidr" in r.peer ? r.peer.cidr : "", r.priority])).toEqual([
        ["0.0.0.0/0", 100],
      ]);
      // Accepts are evaluated before the deny (lower number first).
      expect(Math.max(...accept.map((r) => r.priority))).toBeLessThan(100);
    }
  });

  it("rule keys do not depend on the order of CIDRs in the config", () => {
    const a = securityRules(specFor({ network: { peerCidrs: ["172.16.0.0/16", "172.17.0.0/16"] } })).map(
      (r) => r.key,
    );
    const b = securityRules(specFor({ network: { peerCidrs: ["172.17.0.0/16", "172.16.0.0/16"] } })).map(
      (r) => r.key,
    );
    expect(a).toEqual(b);
  });
});
