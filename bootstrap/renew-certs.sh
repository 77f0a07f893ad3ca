#!/usr/bin/env bash
# kubeadm-alicloud: renew this control plane's kubeadm-issued leaf certificates before
# they expire, restart its static pods one at a time, and publish the earliest expiry.
# kubeadm's leaves last a year (v1beta4 CertificateValidityPeriod, default 8760h) and
# kubeadm renews them only during `kubeadm upgrade` (audit finding 2.4).
#
# Run daily on control planes by kubeadm-alicloud-renew-certs.timer (plan/cert-renewal.ts).
#
# Inputs:
#   /etc/kubeadm-alicloud/renew-certs.env   settings (plan/cert-renewal.ts renders it; optional)
#   $1                                      RENEW_BEFORE_DAYS, overriding the file
#   /var/lib/kubeadm-alicloud/done          the bootstrap finished (absent: nothing to do)
#   /var/lib/kubeadm-alicloud/node-name     this node's Kubernetes name (the bootstrap writes it)
# Outputs:
#   /var/log/kubeadm-alicloud/renew-certs.log        everything this script printed
#   /var/lib/kubeadm-alicloud/certificates-expire    YYYY-MM-DD: the earliest leaf expiry
#   label kubeadm-alicloud.io/certificates-expire=YYYY-MM-DD on this node's Node object
#
# Rule: no change to running machines touches two control planes at once. Renewal and
# restarts happen only while this node holds the Lease kube-system/kubeadm-alicloud-cert-renewal
# and every other control-plane node, and its etcd member, is Ready.
#
# Idempotent: renewed certificates whose pods were not all restarted yet are remembered
# (renew-certs.pending) and the restarts are redone by the next run; a manifest left
# outside the manifest folder by a killed run is put back first.
# KUBEADM_ALICLOUD_ROOT prefixes every path (the test harness runs it in a sandbox).
set -euo pipefail

ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
CONF_DIR="$ROOT/etc/kubeadm-alicloud"
STATE_DIR="$ROOT/var/lib/kubeadm-alicloud"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
LOG="$LOG_DIR/renew-certs.log"
K8S_DIR="$ROOT/etc/kubernetes"
MANIFESTS="$K8S_DIR/manifests"
# Where a manifest waits while its pod is stopped: outside the kubelet's staticPodPath.
HOLD="$K8S_DIR/kubeadm-alicloud-restarting"
ADMIN_CONF="$K8S_DIR/admin.conf"
PENDING="$STATE_DIR/renew-certs.pending"
EXPIRY_FILE="$STATE_DIR/certificates-expire"
LABEL=kubeadm-alicloud.io/certificates-expire
LEASE=kubeadm-alicloud-cert-renewal
CRI_ENDPOINT="unix:///run/containerd/containerd.sock"
LEASE_BUSY_HINT="not renewing now, the timer tries again later"
# kubeadm's upgrade order: etcd first, then the API server, then its clients.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

mkdir -p "$STATE_DIR" "$LOG_DIR"
chmod 0700 "$STATE_DIR" "$LOG_DIR"
exec > >(tee -a "$LOG") 2>&1

log() { printf '%s kubeadm-alicloud renew-certs: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

# ---- settings: defaults, then the env file, then the argument ----------------------
# The defaults equal plan/cert-renewal.ts's constants (test/cert-renewal.test.ts checks).
if [ -r "$CONF_DIR/renew-certs.env" ]; then
  # shellcheck source=/dev/null
  . "$CONF_DIR/renew-certs.env"
fi
RENEW_BEFORE_DAYS="${1:-${RENEW_BEFORE_DAYS:-60}}"
LOCK_WAIT_SECONDS="${LOCK_WAIT_SECONDS:-600}"
LEASE_STALE_SECONDS="${LEASE_STALE_SECONDS:-5160}"
STATIC_POD_WAIT_SECONDS="${STATIC_POD_WAIT_SECONDS:-120}"
COMPONENT_READY_SECONDS="${COMPONENT_READY_SECONDS:-300}"
KUBEADM_SECONDS="${KUBEADM_SECONDS:-300}"
POLL_SECONDS="${POLL_SECONDS:-5}"
for v in RENEW_BEFORE_DAYS LOCK_WAIT_SECONDS LEASE_STALE_SECONDS STATIC_POD_WAIT_SECONDS COMPONENT_READY_SECONDS KUBEADM_SECONDS POLL_SECONDS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || fail "$v must be a positive whole number, not '${!v}'"
done

# One run per node at a time (the timer and a run by hand).
exec 9> "$STATE_DIR/renew-certs.lock"
flock -n 9 || fail "another renew-certs run holds $STATE_DIR/renew-certs.lock"

if [ ! -f "$STATE_DIR/done" ]; then
  log "this node has not finished bootstrapping ($STATE_DIR/done is absent); nothing to do"
  exit 0
fi

# ---- helpers --------------------------------------------------------------------------
# shellcheck source-path=SCRIPTDIR source=control-plane-lib.sh
. "${CONTROL_PLANE_LIB:-$ROOT/usr/local/lib/kubeadm-alicloud/control-plane-lib.sh}"

PYTHON="$(command -v python3 || true)"
if [ -z "$PYTHON" ] && [ -x /usr/libexec/platform-python ]; then PYTHON=/usr/libexec/platform-python; fi
[ -n "$PYTHON" ] || fail "no Python 3 to read kubeadm's JSON output"

# earliest_expiry: prints "<epoch seconds> <certificate>" for the leaf that expires first.
# `kubeadm certs check-expiration -o json` prints a CertificateExpirationInfo
# (output.kubeadm.k8s.io/v1alpha3): .certificates[] with name, expirationDate (RFC 3339,
# UTC), residualTime, externallyManaged, missing; CAs are listed apart, in
# .certificateAuthorities, and are not renewed by `certs renew` (kubernetes/kubernetes
# cmd/kubeadm/app/cmd/certs.go fetchCertificateExpirationInfo, newCmdCertsExpiration;
# cmd/kubeadm/app/apis/output/v1alpha3/types.go). Structured printers drop kubeadm's
# informational lines (util/output ResourcePrinterWrapper.Printf), so stdout is JSON only.
# Missing entries (super-admin.conf exists only where `kubeadm init` ran) and externally
# managed ones (kubeadm cannot renew them) do not count.
earliest_expiry() {
  local json
  json="$(timeout "$KUBEADM_SECONDS" kubeadm certs check-expiration -o json)" || return 1
  "$PYTHON" -c '
import calendar, json, sys, time
info = json.loads(sys.argv[1])
leaves = [c for c in info.get("certificates") or [] if not c.get("missing") and not c.get("externallyManaged")]
if not leaves:
    sys.exit("kubeadm lists no certificate it manages")
parsed = [(calendar.timegm(time.strptime(c["expirationDate"], "%Y-%m-%dT%H:%M:%SZ")), c["name"]) for c in leaves]
epoch, name = min(parsed)
print(epoch, name)
' "$json"
}

publish() {
  local epoch=$1 day
  day="$(date -u -d "@$epoch" +%Y-%m-%d)"
  printf '%s\n' "$day" > "$EXPIRY_FILE"
  kc label node "$NODE_NAME" "$LABEL=$day" --overwrite >/dev/null \
    || fail "could not label node $NODE_NAME with $LABEL=$day (written to $EXPIRY_FILE)"
  log "published: leaf certificates expire $day ($LABEL on node $NODE_NAME, $EXPIRY_FILE)"
}

clean_up_on_exit

# ---- main ------------------------------------------------------------------------------
restore_manifests
if [ ! -f "$MANIFESTS/kube-apiserver.yaml" ] && [ ! -f "$MANIFESTS/etcd.yaml" ]; then
  log "no control-plane static pods on this node; nothing to do"
  exit 0
fi
[ -s "$STATE_DIR/node-name" ] || fail "$STATE_DIR/node-name is missing: the bootstrap writes this node's name there"
NODE_NAME="$(cat "$STATE_DIR/node-name")"

EARLIEST="$(earliest_expiry)" || fail "could not read certificate expiry (kubeadm certs check-expiration -o json)"
read -r EXPIRES CERT <<< "$EARLIEST"
NOW="$(date +%s)"
DAYS_LEFT=$(( (EXPIRES - NOW) / 86400 ))
publish "$EXPIRES"

RENEW=""
if [ $(( EXPIRES - NOW )) -le $(( RENEW_BEFORE_DAYS * 86400 )) ]; then RENEW=1; fi
if [ -z "$RENEW" ] && [ ! -f "$PENDING" ]; then
  log "earliest leaf certificate ($CERT) expires in $DAYS_LEFT days; renewal starts at $RENEW_BEFORE_DAYS days; nothing to do"
  exit 0
fi
if [ -n "$RENEW" ]; then
  log "earliest leaf certificate ($CERT) expires in $DAYS_LEFT days (threshold $RENEW_BEFORE_DAYS): renewing"
else
  log "certificates were renewed but not every static pod was restarted since ($PENDING): restarting them"
fi

wait_for "the local API's /readyz" "$COMPONENT_READY_SECONDS" api_ready || fail "the local API is not ready; not touching a control plane that is not healthy"
acquire_lease
others_ready

if [ -n "$RENEW" ]; then
  # From here until every static pod runs again, restarts are owed, even if this run dies.
  date -u +%Y-%m-%dT%H:%M:%SZ > "$PENDING"
  # Renews every leaf kubeadm manages, from the CAs on disk, keeping SANs and
  # attributes; it prints "You must restart the kube-apiserver, kube-controller-manager,
  # kube-scheduler and etcd, so that they can use the new certificates."
  # (cmd/kubeadm/app/cmd/certs.go getRenewSubCommands, "all").
  timeout "$KUBEADM_SECONDS" kubeadm certs renew all || fail "kubeadm certs renew all failed"
fi
for c in "${COMPONENTS[@]}"; do
  restart_static_pod "$c"
done
rm -f "$PENDING"

EARLIEST="$(earliest_expiry)" || fail "could not read certificate expiry after renewal"
read -r EXPIRES CERT <<< "$EARLIEST"
publish "$EXPIRES"
if [ $(( EXPIRES - $(date +%s) )) -le $(( RENEW_BEFORE_DAYS * 86400 )) ]; then
  fail "after renewal the earliest leaf certificate ($CERT) still expires within $RENEW_BEFORE_DAYS days"
fi
release_lease
log "renewed; every static pod restarted"
