#!/usr/bin/env bash
# Run by Cloud Assistant on a control-plane node after it boots: waits until the
# node's bootstrap succeeded and the API it serves is ready, or fails with the tail of
# the bootstrap log (which Cloud Assistant keeps as the invocation's output).
# Argument: TIMEOUT_SECONDS (default 1500).
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
TIMEOUT="${1:-1500}"
STATUS="$ROOT/var/lib/kubeadm-alicloud/status"
LOG="$ROOT/var/log/kubeadm-alicloud/bootstrap.log"
KUBECONFIG_FILE="$ROOT/etc/kubernetes/admin.conf"
deadline=$(( $(date +%s) + TIMEOUT ))

report_failure() {
  echo "kubeadm-alicloud: control plane not ready: $1"
  if [ -f "$STATUS" ]; then echo "status: $(cat "$STATUS")"; fi
  if [ -f "$LOG" ]; then echo "--- last 60 lines of $LOG"; tail -n 60 "$LOG"; fi
  exit 1
}

until [ -f "$STATUS" ] && grep -qx ok "$STATUS"; do
  if [ -f "$STATUS" ] && grep -q '^failed' "$STATUS"; then report_failure "bootstrap failed"; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then report_failure "bootstrap did not finish within ${TIMEOUT}s"; fi
  sleep 10
done

until kubectl --kubeconfig "$KUBECONFIG_FILE" get --raw=/readyz >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then report_failure "the API server's /readyz did not pass within ${TIMEOUT}s"; fi
  sleep 5
done
# The node must also have registered itself.
until [ "$(kubectl --kubeconfig "$KUBECONFIG_FILE" get nodes -o name 2>/dev/null | wc -l)" -ge 1 ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then report_failure "no node registered within ${TIMEOUT}s"; fi
  sleep 5
done
nodes="$(kubectl --kubeconfig "$KUBECONFIG_FILE" get nodes -o name | wc -l)"
echo "kubeadm-alicloud: control plane ready; $nodes node(s) registered"
