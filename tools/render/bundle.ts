// The offline render bundle: resources.json (every registration, tree order) and
// summary.txt (what a reviewer wants to know first). Same input, same bytes.
import { loadBalancerExposure } from "../../addons/ccm";
import { maxNodeCount, type ClusterSpec } from "../../config/spec";
import { PRIVATE_RANGES, contains } from "../../plan/cidr";
import { controlPlanePlacements } from "../../plan/control-plane";
import { securityRules, type SecurityRule } from "../../plan/security-rules";
import { BOOTSTRAP_TOKEN_SECRET_TYPE } from "../../plan/tokens";
import { catalogFor } from "../../addons/catalog";
import { imageSources, selectedAddons } from "../../addons/index";
import { checkGuardrails } from "../../policy/guardrails";
import type { RecordedResource } from "./mock-runtime";

/** JSON with object keys sorted at every level, so output never depends on insertion order. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v !== "object" || v === null) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
    );
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

const ref = (r: RecordedResource) => `${r.type}::${r.name}`;

/** Resources parent-first; siblings by type, then name. */
export function treeOrder(resources: readonly RecordedResource[]): RecordedResource[] {
  const children = new Map<string, RecordedResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = urns.has(r.parent) ? r.parent : "";
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const out: RecordedResource[] = [];
  const visit = (parent: string) => {
    const kids = [...(children.get(parent) ?? [])].sort((a, b) => ref(a).localeCompare(ref(b)));
    for (const k of kids) {
      out.push(k);
      visit(k.urn);
    }
  };
  visit("");
  return out;
}

/**
 * PEM blocks (certificates, CSRs) differ on every run and are made for real at deploy
 * time: the bundle names what they are instead of printing them.
 */
export const USER_DATA_POINTER = "[user data: shown decoded under nodes/]";

export function maskPem(value: unknown): unknown {
  if (typeof value === "string") {
    const kind = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(value)?.[1];
    return kind ? `[${kind} PEM, made at deploy time]` : value;
  }
  if (Array.isArray(value)) return value.map(maskPem);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPem(v)]));
  return value;
}

export function resourcesJson(resources: readonly RecordedResource[]): string {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const name = (urn: string) => {
    const r = byUrn.get(urn);
    return r ? ref(r) : null;
  };
  const providerName = (providerRef: string) => {
    // A provider reference is "<urn>::<id>".
    const urn = providerRef.split("::").slice(0, -1).join("::");
    return providerRef === "" ? null : name(urn);
  };
  return stableJson(
    treeOrder(resources).map((r) => ({
      type: r.type,
      name: r.name,
      parent: name(r.parent),
      dependsOn: r.dependsOn.map((u) => name(u) ?? u).sort(),
      provider: providerName(r.provider),
      // User data is reviewed decoded, file by file, under nodes/ (nodes-bundle.ts).
      inputs: maskPem(
        Object.fromEntries(
          Object.entries(r.maskedInputs)
            .filter(([k]) => !k.startsWith("__"))
            .map(([k, v]) => [k, k === "userData" ? USER_DATA_POINTER : v]),
        ),
      ),
      secretInputs: [...r.secretPaths].sort(),
      // What decides whether a change replaces or deletes it (the review reads these).
      options: {
        protect: r.protect,
        ignoreChanges: [...r.ignoreChanges].sort(),
        deleteBeforeReplace: r.deleteBeforeReplace,
        retainOnDelete: r.retainOnDelete,
        aliases: r.aliases.map((a) => a.urn ?? [a.type, a.name].filter(Boolean).join(" ")),
      },
    })),
  );
}

function isPrivate(cidr: string): boolean {
  return PRIVATE_RANGES.some((r) => contains(r, cidr));
}

function describeRule(r: SecurityRule): string {
  const peer =
    "group" in r.peer ? (r.peer.group === "controlPlane" ? "sg:control-plane" : "sg:workers") : r.peer.cidr;
  const ports =
    r.portRange === "-1/-1" ? "" : ` ${r.portRange.replace("/", "-").replace(/^(\d+)-\1$/, "$1")}`;
  const group = r.group === "controlPlane" ? "control-plane" : "workers";
  return `${group.padEnd(14)}${r.direction === "ingress" ? "in " : "out"}  ${r.policy.padEnd(6)} ${`${r.protocol}${ports}`.padEnd(18)} ${r.direction === "ingress" ? "from" : "to  "} ${peer.padEnd(18)} ${r.description}`;
}

export interface SummaryNotes {
  /** Lines the render wants the reviewer to know (e.g. what it could not verify). */
  readonly caveats: readonly string[];
  readonly egressIp?: string;
}

export function summaryText(
  spec: ClusterSpec,
  resources: readonly RecordedResource[],
  notes: SummaryNotes,
): string {
  const n = spec.network;
  const rules = securityRules(spec);
  const lines: string[] = [];
  const line = (s = "") => lines.push(s);
  const cniDetail =
    spec.cni.name === "calico"
      ? ` (${spec.cni.encapsulation})`
      : spec.cni.name === "cilium"
        ? ` (kube-proxy replacement ${spec.cni.kubeProxyReplacement ? "on" : "off"})`
        : " (VXLAN)";

  line(
    `kubeadm-alicloud offline render: stack ${spec.stack} (${spec.environment}), cluster ${spec.clusterName} in ${spec.region}`,
  );
  line(
    `Kubernetes ${spec.kubernetesVersion}, CNI ${spec.cni.name}${cniDetail}, kube-proxy ${spec.kubeProxy ? "runs" : "replaced by the CNI"}`,
  );
  line();
  line("Network");
  line(`  VPC          ${n.vpc.cidr} (${n.vpc.existingId ? `adopted ${n.vpc.existingId}` : "created"})`);
  line(`  zones        ${spec.zones.join(", ")}`);
  for (const v of n.vswitches) line(`  vSwitch      ${v.zone.padEnd(22)} ${v.cidr}`);
  for (const v of n.controlPlaneVswitches)
    line(`  vSwitch      ${v.zone.padEnd(22)} ${v.cidr.padEnd(18)} control planes only`);
  if (n.controlPlaneVswitches.length === 0)
    line(`  control planes share the nodes' vSwitches (network.controlPlaneVswitches: shared)`);
  line(`  pods         ${n.podCidr}`);
  line(`  services     ${n.serviceCidr} (DNS domain ${n.dnsDomain})`);
  line(`  peers        ${n.peerCidrs.length > 0 ? n.peerCidrs.join(", ") : "none"}`);
  line(
    `  egress       ${n.natGateway.enabled ? `NAT gateway (Enhanced), EIP ${n.natGateway.eipBandwidthMbps} Mbit/s` : "no NAT gateway (the VPC must provide egress)"}; ${n.egress.restricted ? `restricted to the VPC, Alibaba services${n.egress.allowedCidrs.length ? ` and ${n.egress.allowedCidrs.join(", ")}` : ""}` : "unrestricted"}`,
  );
  line();

  const cp = spec.controlPlane;
  const minNodes = cp.count + spec.nodePools.reduce((s, p) => s + p.minSize, 0);
  const desired = cp.count + spec.nodePools.reduce((s, p) => s + p.desiredCapacity, 0);
  const max = maxNodeCount(spec);
  line("Nodes");
  line(
    `  control plane  ${cp.count} x ${cp.instanceType}, ${cp.image.os}${cp.image.id ? ` ${cp.image.id}` : " (newest public image, resolved at deploy: pin image.id)"}, ${cp.systemDisk.category} ${cp.systemDisk.sizeGb} GB encrypted, deletion protection ${cp.deletionProtection ? "on" : "off"}`,
  );
  for (const p of controlPlanePlacements(spec))
    line(
      `    ${p.name.padEnd(22)} ${p.zone.padEnd(18)} ${p.privateIp}${p.index === 0 ? "  kubeadm init while no cluster exists, else joins" : "  joins through any serving peer, after the previous one serves"}`,
    );
  for (const p of spec.nodePools) {
    line(
      `  pool ${p.name.padEnd(10)} min ${p.minSize} / desired ${p.desiredCapacity} / max ${p.maxSize} x ${p.instanceTypes.join("|")}, Kubernetes ${p.kubernetesVersion}, all zones${
        Object.keys(p.labels).length
          ? `, labels ${Object.entries(p.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(",")}`
          : ""
      }${p.taints.length ? `, taints ${p.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(",")}` : ""}`,
    );
  }
  line(
    `  software       packages from ${spec.nodeSoftware.packageSource}, images from ${spec.nodeSoftware.imageRepository}`,
  );
  line(`  total          ${minNodes} min / ${desired} desired / ${max} max`);
  line();

  const pki = spec.pki;
  line("PKI (Pulumi owns the CAs and keys; kubeadm signs every other leaf on the nodes)");
  line(`  algorithm      ${pki.keyAlgorithm} (kubeadm encryptionAlgorithm)`);
  line(
    `  CAs            kubernetes, etcd-ca, front-proxy-ca; ${pki.caValidityHours} h, never renewed automatically`,
  );
  line(
    `  admin          kubernetes-admin / kubeadm:cluster-admins, ${pki.adminValidityHours} h, renewed by a pulumi up in its last ${pki.adminEarlyRenewalHours} h`,
  );
  line(
    `  break-glass    ${pki.breakGlass ? "kubernetes-super-admin / system:masters (bypasses RBAC)" : "off"}`,
  );
  line(`  API endpoint   https://${spec.apiEndpoint.dnsName}:6443 (in the admin kubeconfig)`);
  line(
    `  API server     Secrets encrypted at rest ${spec.apiServer.encryptionAtRest.enabled ? "on" : `OFF (${spec.apiServer.encryptionAtRest.reason ?? ""})`}; audit log ${spec.apiServer.audit.enabled ? `on (${spec.apiServer.audit.maxAgeDays} days, ${spec.apiServer.audit.maxBackups} files of ${spec.apiServer.audit.maxSizeMb} MB)` : `OFF (${spec.apiServer.audit.reason ?? ""})`}; anonymous ${spec.apiServer.anonymousHealthOnly.enabled ? "health endpoints and kubeadm's cluster-info only" : `UNLIMITED (${spec.apiServer.anonymousHealthOnly.reason ?? ""})`}`,
  );
  line(
    `  tokens         the control planes' and one per pool (${spec.nodePools.map((p) => p.name).join(", ")}), each in OOS and as a bootstrap-token Secret in kube-system; ttl ${pki.bootstrapTokenTtlHours} h, renewed by a pulumi up in the last ${pki.bootstrapTokenRenewBeforeHours} h; generation ${pki.bootstrapTokenGeneration}`,
  );
  line();

  const publicIngress = rules.filter(
    (r) => r.direction === "ingress" && "cidr" in r.peer && !isPrivate(r.peer.cidr),
  );
  line("Exposed publicly");
  line(
    `  Kubernetes API  ${spec.apiEndpoint.public ? `public, from ${spec.apiEndpoint.allowedCidrs.join(", ")}` : "private"}`,
  );
  line(
    `  SSH             ${spec.ssh.enabled ? `enabled, from ${spec.ssh.allowedCidrs.join(", ")}` : "disabled"}`,
  );
  line(`  LoadBalancers   ${loadBalancerExposure(spec)}`);
  line(`  egress address  ${notes.egressIp ?? "none"}`);
  if (publicIngress.length === 0) line("  no security-group rule admits a non-private address");
  for (const r of publicIngress) line(`  rule            ${describeRule(r)}`);
  line();

  line(`Security-group rules (${rules.length})`);
  for (const r of rules) line(`  ${describeRule(r)}`);
  line();

  line("Add-ons");
  for (const m of selectedAddons(spec)) line(`  ${m.name.padEnd(22)} ${m.description}`);
  line();
  line("Images (registry, and the mirrors nodes try first: nodeSoftware.registryMirrors)");
  for (const s of imageSources(spec)) {
    line(
      `  ${s.name.padEnd(22)} ${s.registries.map((r) => `${r.host} ${r.mirrors.length ? `via ${r.mirrors.join(", ")}` : "directly"}`).join("; ")}`,
    );
  }
  line();
  line("Charts and manifests (compatibility catalog)");
  for (const e of catalogFor(spec)) {
    const s = e.supported;
    line(
      `  ${`${e.artifact.name} ${e.artifact.version}`.padEnd(40)} ${s ? `supports Kubernetes 1.${s.fromMinor}-1.${s.toMinor} (${s.source})` : `no range recorded: ${e.noRange ?? "unknown"}`}`,
    );
  }
  line();

  const violations = checkGuardrails(
    resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Record<string, unknown> })),
  );
  line(`Guardrails (policy/): ${violations.length === 0 ? "all pass" : `${violations.length} violation(s)`}`);
  for (const v of violations) line(`  ${v.policy}: ${v.message}`);
  line();

  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  line(`Resources (${resources.length})`);
  for (const [type, count] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
    line(`  ${String(count).padStart(4)}  ${type}`);
  if (notes.caveats.length > 0) {
    line();
    line("Not verified offline");
    for (const c of notes.caveats) line(`  - ${c}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * addons.json: what the cluster installs in itself, as the program declared it: every
 * chart (repository, version, namespace, values) and every manifest object, grouped by
 * the CNI or add-on that brings it, plus the catalog.
 */
export function addonsJson(spec: ClusterSpec, resources: readonly RecordedResource[]): string {
  const owner = (name: string) => {
    const rest = name.slice(spec.clusterName.length + 1);
    if (rest.startsWith("cni-")) return "cni";
    return /^addons-([A-Za-z]+)-/.exec(rest)?.[1] ?? rest;
  };
  const installed = resources.flatMap((r): Record<string, unknown>[] => {
    const i = r.inputs;
    if (r.type === "kubernetes:helm.sh/v4:Chart") {
      const repo = (i.repositoryOpts as { repo?: string } | undefined)?.repo;
      return [
        {
          for: owner(r.name),
          kind: "chart",
          chart: i.chart,
          version: i.version,
          repo,
          namespace: i.namespace,
          values: i.values ?? {},
        },
      ];
    }
    if (r.type === "kubernetes:yaml/v2:ConfigGroup") {
      return [{ for: owner(r.name), kind: "manifest", objects: i.objs ?? [] }];
    }
    // Join tokens' Secrets are the cluster's, not an add-on's (summary.txt says they exist).
    if (r.type === "kubernetes:core/v1:Secret" && i.type === BOOTSTRAP_TOKEN_SECRET_TYPE) return [];
    if (
      r.type.startsWith("kubernetes:") &&
      !r.type.startsWith("kubernetes:core/v1:Namespace") &&
      r.type !== "kubernetes:helm.sh/v4:Chart"
    ) {
      return [
        {
          for: owner(r.name),
          kind: "object",
          apiVersion: i.apiVersion,
          objectKind: i.kind,
          metadata: i.metadata,
          spec: i.spec,
        },
      ];
    }
    return [];
  });
  return stableJson({
    kubernetesVersion: spec.kubernetesVersion,
    installed,
    catalog: catalogFor(spec).map((e) => ({
      ...e.artifact,
      key: e.key,
      supportedKubernetes: e.supported ? `1.${e.supported.fromMinor}-1.${e.supported.toMinor}` : null,
      rangeSource: e.supported?.source ?? null,
      noRangeBecause: e.noRange ?? null,
    })),
  });
}
