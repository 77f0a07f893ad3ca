// Control planes renew kubeadm's leaf certificates before they expire (audit finding 2.4:
// they last a year and kubeadm renews them only during `kubeadm upgrade`). A daily
// systemd timer runs bootstrap/renew-certs.sh, which renews within RENEW_BEFORE_DAYS of
// the earliest expiry, restarts the static pods one at a time under a cluster-wide
// Lease, and labels the Node with the expiry. Here: the units, the settings file and
// where they go on the node. Pure: no resource is declared.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { calendarTimer, oneshotService, settingsFile } from "./systemd-units";

export const RENEW_CERTS_SCRIPT_PATH = join(__dirname, "..", "bootstrap", "renew-certs.sh");
export const RENEW_CERTS_SCRIPT = readFileSync(RENEW_CERTS_SCRIPT_PATH, "utf8");
/** What renew-certs.sh and reconfigure-control-plane.sh share: the Lease, waits, static pod restarts. */
export const CONTROL_PLANE_LIB_PATH = join(__dirname, "..", "bootstrap", "control-plane-lib.sh");
export const CONTROL_PLANE_LIB = readFileSync(CONTROL_PLANE_LIB_PATH, "utf8");

/** Where the renewal's files land on a control plane. */
export const CERT_RENEWAL_PATHS = {
  script: "/usr/local/sbin/kubeadm-alicloud-renew-certs",
  /** Sourced by the renewal and by a settings change (the scripts' default CONTROL_PLANE_LIB). */
  lib: "/usr/local/lib/kubeadm-alicloud/control-plane-lib.sh",
  env: "/etc/kubeadm-alicloud/renew-certs.env",
  service: "/etc/systemd/system/kubeadm-alicloud-renew-certs.service",
  timer: "/etc/systemd/system/kubeadm-alicloud-renew-certs.timer",
  log: "/var/log/kubeadm-alicloud/renew-certs.log",
  /** YYYY-MM-DD of the earliest leaf expiry, also the Node label below. */
  expiryFile: "/var/lib/kubeadm-alicloud/certificates-expire",
  /** This node's Kubernetes name; the bootstrap writes it. */
  nodeNameFile: "/var/lib/kubeadm-alicloud/node-name",
} as const;

export const RENEW_CERTS_SERVICE = "kubeadm-alicloud-renew-certs.service";
export const RENEW_CERTS_TIMER = "kubeadm-alicloud-renew-certs.timer";
export const CERT_EXPIRY_LABEL = "kubeadm-alicloud.io/certificates-expire";
export const CERT_RENEWAL_LEASE = {
  namespace: "kube-system",
  name: "kubeadm-alicloud-cert-renewal",
} as const;

/** Renew when the earliest kubeadm-managed leaf expires within this many days. */
export const RENEW_BEFORE_DAYS = 60;

// Every wait of the script, in seconds (its defaults equal these; the env file sets them).
/** Waiting for another control plane's renewal to finish before giving up until the next run. */
export const LOCK_WAIT_SECONDS = 600;
/**
 * A static pod to stop after its manifest leaves, and again to start after it returns (kubelet
 * fileCheckFrequency is 20 s).
 */
export const STATIC_POD_WAIT_SECONDS = 120;
/**
 * A restarted component, and the local API, to be healthy again; also the local API before anything starts.
 */
export const COMPONENT_READY_SECONDS = 300;
/** One kubeadm command (check-expiration twice, renew all once). */
export const KUBEADM_SECONDS = 300;
export const POLL_SECONDS = 5;
/** etcd, kube-apiserver, kube-controller-manager, kube-scheduler. */
const STATIC_PODS = 4;

/** The service's TimeoutStartSec: every bounded wait of one run in a row, plus slack for API calls. */
export const CERT_RENEWAL_SECONDS =
  COMPONENT_READY_SECONDS +
  LOCK_WAIT_SECONDS +
  3 * KUBEADM_SECONDS +
  STATIC_PODS * (2 * STATIC_POD_WAIT_SECONDS + COMPONENT_READY_SECONDS) +
  300;

/**
 * A Lease older than this is taken over: systemd has stopped its holder's run by then
 * (TimeoutStartSec, then the stop timeout), so only a run that died without releasing
 * it can have left it.
 */
export const LEASE_STALE_SECONDS = CERT_RENEWAL_SECONDS + 900;

export interface CertRenewalSettings {
  readonly renewBeforeDays: number;
}

/** The settings file the script sources. */
export function renderRenewCertsEnv(s: CertRenewalSettings = { renewBeforeDays: RENEW_BEFORE_DAYS }): string {
  if (!Number.isInteger(s.renewBeforeDays) || s.renewBeforeDays < 1 || s.renewBeforeDays > 300) {
    // kubeadm's leaves last 365 days: a window of more than 300 would renew every day.
    throw new Error(`renewBeforeDays must be a whole number from 1 to 300, not ${s.renewBeforeDays}`);
  }
  const values: Record<string, number> = {
    RENEW_BEFORE_DAYS: s.renewBeforeDays,
    LOCK_WAIT_SECONDS,
    LEASE_STALE_SECONDS,
    STATIC_POD_WAIT_SECONDS,
    COMPONENT_READY_SECONDS,
    KUBEADM_SECONDS,
    POLL_SECONDS,
  };
  return settingsFile(values);
}

/** One run of the script; started by the timer, or by hand with `systemctl start`. */
export function renderRenewCertsService(): string {
  return oneshotService(
    "renew kubeadm's control-plane certificates before they expire",
    CERT_RENEWAL_PATHS.script,
    CERT_RENEWAL_SECONDS,
  );
}

/**
 * Daily, at a random time within 4 hours after midnight, so that control planes do
 * not all start together (the Lease serialises them anyway); a day missed while the
 * machine was off runs at the next boot (Persistent). Keys exist in systemd 239
 * (Alibaba Cloud Linux 3) and later.
 */
export function renderRenewCertsTimer(): string {
  return calendarTimer("daily check of kubeadm's control-plane certificates", "daily", "4h");
}

export interface NodeFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

/** Everything a control plane needs for renewal, for its user data. */
export function certRenewalFiles(s?: CertRenewalSettings): NodeFile[] {
  return [
    { path: CERT_RENEWAL_PATHS.lib, content: CONTROL_PLANE_LIB, permissions: "0644" },
    { path: CERT_RENEWAL_PATHS.script, content: RENEW_CERTS_SCRIPT, permissions: "0755" },
    { path: CERT_RENEWAL_PATHS.env, content: renderRenewCertsEnv(s), permissions: "0644" },
    { path: CERT_RENEWAL_PATHS.service, content: renderRenewCertsService(), permissions: "0644" },
    { path: CERT_RENEWAL_PATHS.timer, content: renderRenewCertsTimer(), permissions: "0644" },
  ];
}
