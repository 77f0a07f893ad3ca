#!/usr/bin/env bash
# Run by Cloud Assistant on a control-plane node after it boots: waits until the node's
# bootstrap succeeded, the API it serves is ready and THIS node (by the name the
# bootstrap recorded) is registered, or fails. Either way it ends with the last 40 lines
# of the bootstrap log, which Cloud Assistant keeps as the invocation's output.
# Argument: TIMEOUT_SECONDS, its own limit. The readiness gate passes one shorter than
# Cloud Assistant's Timeout (plan/timeouts.ts: WAIT_READY_SECONDS inside
# CLOUD_ASSISTANT_SECONDS), so the script is never killed before it reports; the default
# is WAIT_READY_SECONDS. While it waits it prints a line at least every
# KUBEADM_ALICLOUD_HEARTBEAT_SECONDS (default 60).
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
TIMEOUT="${1:-2820}"
HEARTBEAT="${KUBEADM_ALICLOUD_HEARTBEAT_SECONDS:-60}"
STATUS="$ROOT/var/lib/kubeadm-alicloud/status"
NODE_NAME_FILE="$ROOT/var/lib/kubeadm-alicloud/node-name"
LOG="$ROOT/var/log/kubeadm-alicloud/bootstrap.log"
KUBECONFIG_FILE="$ROOT/etc/kubernetes/admin.conf"
TAIL_LINES=40
start=$(date +%s)
deadline=$(( start + TIMEOUT ))
next_beat=$(( start + HEARTBEAT ))

print_tail() {
  if [ -f "$LOG" ]; then
    echo "--- last $TAIL_LINES lines of $LOG"
    tail -n "$TAIL_LINES" "$LOG"
  else
    echo "--- no $LOG"
  fi
}
# Always, on success, failure or an unexpected error: the log tail comes last.
trap print_tail EXIT

report_failure() {
  echo "kubeadm-alicloud: control plane not ready: $1"
  if [ -f "$STATUS" ]; then echo "status: $(cat "$STATUS")"; fi
  exit 1
}

# waiting GIVE_UP_REASON WHAT: fail past the deadline; otherwise a progress line at
# least every HEARTBEAT seconds.
waiting() {
  local now
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then report_failure "$1 within ${TIMEOUT}s"; fi
  if [ "$now" -ge "$next_beat" ]; then
    echo "waiting ($(( now - start ))s of ${TIMEOUT}s): $2"
    next_beat=$(( now + HEARTBEAT ))
  fi
}

kube() {
  kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"
}

until [ -f "$STATUS" ] && grep -qx ok "$STATUS"; do
  if [ -f "$STATUS" ] && grep -q '^failed' "$STATUS"; then report_failure "bootstrap failed"; fi
  waiting "bootstrap did not finish" "bootstrap status: $(cat "$STATUS" 2>/dev/null || echo 'not started')"
  sleep 10
done

# The name the bootstrap recorded; a node bootstrapped before it recorded names has the
# same name, <region>.<instance-id>, from the metadata service (tokens required).
name_from_metadata() {
  local md="${METADATA_URL:-http://100.100.100.200}" token
  token="$(curl -fsS --max-time 5 -X PUT -H "X-aliyun-ecs-metadata-token-ttl-seconds: 60" "$md/latest/api/token")" || return 1
  printf '%s.%s' "$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$md/latest/meta-data/region-id")" \
    "$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$md/latest/meta-data/instance-id")"
}
node="$(tr -d '[:space:]' < "$NODE_NAME_FILE" 2>/dev/null || true)"
if [ -z "$node" ]; then node="$(name_from_metadata || true)"; fi
case "$node" in
  "" | .* | *.) report_failure "no node name: $NODE_NAME_FILE is missing and the metadata service did not answer" ;;
esac

until kube get --raw=/readyz >/dev/null 2>&1; do
  waiting "the API server's /readyz did not pass" "the API server's /readyz"
  sleep 5
done

# This node, not just any node: it must have registered itself. Its Ready condition is
# reported, not required (a control plane is NotReady until the CNI is installed, which
# happens after this gate).
jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
until ready="$(kube get node "$node" -o "jsonpath=$jsonpath" 2>/dev/null)"; do
  waiting "node $node did not register" "node $node to register"
  sleep 5
done
# Drained before a restart (an instance-type change: components/control-plane-drain.ts)
# and serving again: back into scheduling. Only a node drain.sh recorded as drained
# (kubeadm-alicloud.io/drained=true), never one cordoned by hand.
held="$(kube get node "$node" -o 'jsonpath={.spec.unschedulable}/{.metadata.annotations.kubeadm-alicloud\.io/drained}' 2>/dev/null || true)"
if [ "$held" = "true/true" ]; then
  if ! kube uncordon "$node" || ! kube annotate node "$node" kubeadm-alicloud.io/drained-; then
    report_failure "could not uncordon $node after its drain"
  fi
  echo "kubeadm-alicloud: $node uncordoned after its drain"
fi
echo "kubeadm-alicloud: control plane ready; node $node registered (Ready: ${ready:-no condition yet})"
