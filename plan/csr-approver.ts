// Approval of the kubelets' serving-certificate CSRs, on the control planes themselves
// (issue 12: images reach nodes in mainland China). Kubelets here ask for serving
// certificates signed by the cluster CA (`serverTLSBootstrap: true`) so that the API
// server, metrics-server and Prometheus can verify them; nothing in kubeadm or
// kube-controller-manager approves the signer kubernetes.io/kubelet-serving, and until
// something does, `kubectl logs`, `exec` and metrics fail.
//
// Why not postfinance's kubelet-csr-approver chart, which this project used before: its
// image (ghcr.io/postfinance, also docker.io/postfinance) is on no public mirror that
// serves mainland China (DaoCloud/public-image-mirror allows.txt at 871a1e72 has no
// postfinance entry), so a default mainland cluster could never approve a CSR. A script
// needs no image, runs where kubeadm's admin credential already is (no ServiceAccount with
// approval rights in the cluster), and starts as soon as the first control plane serves,
// before the CNI. Its checks transcribe kubelet-csr-approver v1.2.14 with the settings we
// gave the chart (bootstrap/approve-serving-csrs.py says which, and where it is stricter).
//
// Here: the settings, units and installer; pure, no resource is declared.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeFile } from "./cert-renewal";
import { renderFileInstaller } from "./node-commands";
import { intervalTimer, oneshotService, settingsFile } from "./systemd-units";

export const CSR_APPROVER_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-approve-serving-csrs",
  env: "/etc/kubeadm-alicloud/csr-approver.env",
  service: "/etc/systemd/system/kubeadm-alicloud-csr-approver.service",
  timer: "/etc/systemd/system/kubeadm-alicloud-csr-approver.timer",
  log: "/var/log/kubeadm-alicloud/csr-approver.log",
  /** Written by kubeadm on every control plane (init and join --control-plane). */
  kubeconfig: "/etc/kubernetes/admin.conf",
} as const;
export const CSR_APPROVER_SERVICE = "kubeadm-alicloud-csr-approver.service";
export const CSR_APPROVER_TIMER = "kubeadm-alicloud-csr-approver.timer";

/** How often each control plane looks for pending CSRs. */
export const CSR_POLL_SECONDS = 15;
/** One kubectl call (the script's subprocess limit; kubectl's own --request-timeout is 20 s). */
export const CSR_KUBECTL_SECONDS = 30;
/** One run decides CSRs until this budget is spent; the rest wait for the next run. */
export const CSR_RUN_BUDGET_SECONDS = 240;
/** The unit's TimeoutStartSec: the run's budget plus one kubectl call begun just before it ended. */
export const CSR_SERVICE_SECONDS = CSR_RUN_BUDGET_SECONDS + CSR_KUBECTL_SECONDS + 30;
/** kubelet-csr-approver v1.2.14 internal/cmd/cmd.go: max-expiration-sec default and upper bound, 367 days. */
export const MAX_EXPIRATION_SECONDS = 367 * 24 * 3600;
/** kubelet-csr-approver's allowed-dns-names default (1): a kubelet names itself once (its hostname). */
export const ALLOWED_DNS_NAMES = 1;

/**
 * The node names this project gives nodes, control planes included: `<region>.<instance-id>`
 * (bootstrap/node-bootstrap.sh). A kubelet's DNS SAN is that name too: kubeadm passes it
 * as `--hostname-override` when it differs from the host name (kubernetes/kubernetes
 * cmd/kubeadm/app/phases/kubelet/flags.go), and the kubelet's Hostname address, which
 * the Alibaba CCM keeps (cloud-provider-alibaba-cloud v2.14.0 pkg/controller/node/manager.go
 * setHostnameAddress), is the overridden name.
 */
export function nodeNameRegex(region: string): string {
  return `^${region.replace(/[.-]/g, (c) => `\\${c}`)}\\.i-[a-z0-9]+$`;
}

export interface CsrApproverSettings {
  readonly region: string;
  /** Where kubelets' addresses may lie: the VPC's CIDR (what the chart's providerIpPrefixes held). */
  readonly ipPrefixes: readonly string[];
}

export function renderCsrApproverEnv(s: CsrApproverSettings): string {
  if (s.ipPrefixes.length === 0) throw new Error("the CSR approver needs at least one address prefix");
  return settingsFile({
    NODE_NAME_REGEX: nodeNameRegex(s.region),
    IP_PREFIXES: s.ipPrefixes.join(","),
    ALLOWED_DNS_NAMES,
    MAX_EXPIRATION_SECONDS,
    KUBECONFIG: CSR_APPROVER_PATHS.kubeconfig,
    LOG: CSR_APPROVER_PATHS.log,
    RUN_BUDGET_SECONDS: CSR_RUN_BUDGET_SECONDS,
    KUBECTL_SECONDS: CSR_KUBECTL_SECONDS,
  });
}

/** Every CSR_POLL_SECONDS after the last run started, and 30 s after boot, to the second. */
export function renderCsrApproverTimer(): string {
  return intervalTimer("approve kubelet serving certificates", "30s", `${CSR_POLL_SECONDS}s`, "1s");
}

export function csrApproverFiles(s: CsrApproverSettings): NodeFile[] {
  const script = readFileSync(join(__dirname, "..", "bootstrap", "approve-serving-csrs.py"), "utf8");
  return [
    { path: CSR_APPROVER_PATHS.script, content: script, permissions: "0755" },
    { path: CSR_APPROVER_PATHS.env, content: renderCsrApproverEnv(s), permissions: "0644" },
    {
      path: CSR_APPROVER_PATHS.service,
      content: oneshotService(
        "approve kubelet serving certificates of this cluster's nodes",
        `${CSR_APPROVER_PATHS.script} --settings ${CSR_APPROVER_PATHS.env}`,
        CSR_SERVICE_SECONDS,
      ),
      permissions: "0644",
    },
    { path: CSR_APPROVER_PATHS.timer, content: renderCsrApproverTimer(), permissions: "0644" },
  ];
}

/** The Cloud Assistant command that installs (again, when anything changed) and starts the approver. */
export function csrApproverInstaller(s: CsrApproverSettings): string {
  return renderFileInstaller(
    "the kubelet serving-certificate approver",
    csrApproverFiles(s),
    ["systemctl daemon-reload", `systemctl enable --now ${CSR_APPROVER_TIMER}`],
    `serving-certificate CSRs approved every ${CSR_POLL_SECONDS} s; decisions in ${CSR_APPROVER_PATHS.log}`,
  );
}
