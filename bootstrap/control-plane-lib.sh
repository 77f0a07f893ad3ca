#!/usr/bin/env bash
# kubeadm-alicloud: what every script that changes a running control plane shares (sourced, never run):
# kubectl with the admin credentials, bounded waits, the cluster-wide Lease that lets only one control
# plane change at a time, and static pod restarts with kubeadm's own health probes. Used by
# renew-certs.sh (the daily certificate renewal) and reconfigure-control-plane.sh (settings changes),
# so both take the same Lease: never two control planes restarting at once.
#
# The caller sets: log and fail (functions); LOG, ADMIN_CONF, MANIFESTS, HOLD, CRI_ENDPOINT, LEASE, NODE_NAME,
# LEASE_BUSY_HINT (what happens next when the Lease stays taken), POLL_SECONDS, LOCK_WAIT_SECONDS, LEASE_STALE_SECONDS, STATIC_POD_WAIT_SECONDS, COMPONENT_READY_SECONDS.
# shellcheck shell=bash disable=SC2034

kc() { kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=30s "$@"; }

# wait_for WHAT SECONDS CMD...: run CMD every POLL_SECONDS until it succeeds; give up
# after SECONDS (by the clock, and by the number of tries, whichever comes first).
wait_for() {
  local what=$1 seconds=$2 tries n=1 deadline
  shift 2
  tries=$(( (seconds + POLL_SECONDS - 1) / POLL_SECONDS ))
  deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    if [ "$n" -ge "$tries" ] || [ "$(date +%s)" -ge "$deadline" ]; then
      log "gave up waiting for $what after ${seconds}s"
      return 1
    fi
    n=$((n + 1))
    sleep "$POLL_SECONDS"
  done
}

api_ready() { kc get --raw=/readyz >/dev/null 2>&1; }

# ---- the cluster-wide lock ---------------------------------------------------------
HOLDING_LEASE=""
lease_manifest() { # lease_manifest [RESOURCE_VERSION]
  printf 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: %s\n  namespace: kube-system\n' "$LEASE"
  if [ -n "${1:-}" ]; then printf '  resourceVersion: "%s"\n' "$1"; fi
  printf 'spec:\n  holderIdentity: %s\n  acquireTime: %s\n  leaseDurationSeconds: %s\n' \
    "$NODE_NAME" "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" "$LEASE_STALE_SECONDS"
}

# `kubectl create` fails when the Lease exists: only one control plane gets it. A Lease
# older than LEASE_STALE_SECONDS (longer than systemd lets a run last) belongs to a run
# that died; it is taken over with `kubectl replace` at the resourceVersion that was
# read, so two nodes taking over the same stale Lease cannot both succeed.
try_acquire() {
  local info holder acquired rv since age=-1
  if lease_manifest | kc create -f - >/dev/null 2>&1; then return 0; fi
  info="$(kc -n kube-system get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}{" "}{.spec.acquireTime}{" "}{.metadata.resourceVersion}' 2>/dev/null)" || return 1
  read -r holder acquired rv <<< "$info"
  # A Lease without a readable acquireTime is not ours: it is never taken over.
  if [ -n "${acquired:-}" ] && since="$(date -u -d "$acquired" +%s 2>/dev/null)"; then age=$(( $(date +%s) - since )); fi
  if [ "${holder:-}" = "$NODE_NAME" ] || [ "$age" -gt "$LEASE_STALE_SECONDS" ]; then
    if [ -n "${rv:-}" ] && lease_manifest "$rv" | kc replace -f - >/dev/null 2>&1; then
      log "took over the lease from ${holder:-nobody} (held for ${age}s; stale after ${LEASE_STALE_SECONDS}s)"
      return 0
    fi
    return 1
  fi
  LEASE_SEEN="held by ${holder:-unknown} since ${acquired:-an unknown time}"
  return 1
}

acquire_lease() {
  LEASE_SEEN="unreadable"
  if ! wait_for "the lease kube-system/$LEASE" "$LOCK_WAIT_SECONDS" try_acquire; then
    fail "another control plane is being changed (lease kube-system/$LEASE $LEASE_SEEN); $LEASE_BUSY_HINT. A lease older than ${LEASE_STALE_SECONDS}s is taken over; to free it sooner: kubectl -n kube-system delete lease $LEASE"
  fi
  HOLDING_LEASE=1
  log "holding lease kube-system/$LEASE"
}

release_lease() {
  [ -n "$HOLDING_LEASE" ] || return 0
  local holder
  holder="$(kc -n kube-system get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)"
  if [ "$holder" = "$NODE_NAME" ] && kc -n kube-system delete lease "$LEASE" >/dev/null 2>&1; then
    log "released lease kube-system/$LEASE"
  else
    log "WARNING: could not release lease kube-system/$LEASE (holder: ${holder:-unreadable}); it goes stale after ${LEASE_STALE_SECONDS}s"
  fi
  HOLDING_LEASE=""
}

# ---- static pods ---------------------------------------------------------------------
# A manifest moved out by a run that was killed goes back before anything else.
restore_manifests() {
  local f
  for f in "$HOLD"/*.yaml; do
    [ -f "$f" ] || continue
    if [ -e "$MANIFESTS/$(basename "$f")" ]; then rm -f "$f"; else mv "$f" "$MANIFESTS/"; log "put $(basename "$f") back into $MANIFESTS"; fi
  done
}


# On any exit of the run: manifests it moved out go back and its Lease is released. systemd and
# Cloud Assistant stop a run as a whole (TimeoutStartSec, systemctl stop, the command's Timeout):
# tee may be gone, so a stopped run writes to its log file ($LOG) directly rather than die of
# SIGPIPE half-way.
on_exit() {
  local rc=$?
  trap - EXIT
  restore_manifests || true
  release_lease || true
  exit "$rc"
}
clean_up_on_exit() {
  trap on_exit EXIT
  trap 'exec >> "$LOG" 2>&1; log "stopped by a signal"; exit 143' TERM INT HUP
}

running_ids() {
  crictl --runtime-endpoint "$CRI_ENDPOINT" ps -q --state running --name "^$1\$" --label io.kubernetes.pod.namespace=kube-system
}
stopped() {
  local ids
  ids="$(running_ids "$1")" || return 1
  [ -z "$ids" ]
}
# replaced NAME OLD_IDS: a container of NAME runs, and it is not one of OLD_IDS.
replaced() {
  local now id
  now="$(running_ids "$1")" || return 1
  [ -n "$now" ] || return 1
  for id in $now; do
    if grep -qxF "$id" <<< "$2"; then return 1; fi
  done
}

# Health as kubeadm's own probes see it (cmd/kubeadm/app/phases/etcd/local.go: etcd
# readiness http://127.0.0.1:2381/readyz; phases/controlplane/manifests.go: the
# controller-manager's https://127.0.0.1:10257/healthz, the scheduler's
# https://127.0.0.1:10259/healthz), and always the local API's /readyz: admin.conf's
# endpoint name resolves to this node on control planes (node-bootstrap.sh set_api_host).
healthy() {
  case "$1" in
    etcd) curl -fsS --max-time 5 http://127.0.0.1:2381/readyz >/dev/null || return 1 ;;
    kube-controller-manager) curl -fsSk --max-time 5 https://127.0.0.1:10257/healthz >/dev/null || return 1 ;;
    kube-scheduler) curl -fsSk --max-time 5 https://127.0.0.1:10259/healthz >/dev/null || return 1 ;;
  esac
  api_ready
}

# Static pods are not restarted through the API: kubeadm's documentation (website
# content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-certs.md, "Manual certificate
# renewal") has the manifest moved out of /etc/kubernetes/manifests, the kubelet
# stopping the pod within its fileCheckFrequency (20s by default, KubeletConfiguration),
# and the manifest moved back. Instead of sleeping 20s twice, the container runtime is
# asked until the old container is gone and a new one runs; each wait is bounded.
restart_static_pod() {
  local c=$1 old
  [ -f "$MANIFESTS/$c.yaml" ] || fail "no static pod manifest $MANIFESTS/$c.yaml"
  old="$(running_ids "$c")" || fail "crictl could not list the $c container"
  log "restarting $c: moving its manifest out of $MANIFESTS"
  mkdir -p "$HOLD"
  chmod 0700 "$HOLD"
  mv "$MANIFESTS/$c.yaml" "$HOLD/$c.yaml"
  wait_for "$c to stop" "$STATIC_POD_WAIT_SECONDS" stopped "$c" || fail "$c did not stop within ${STATIC_POD_WAIT_SECONDS}s after its manifest was moved out"
  mv "$HOLD/$c.yaml" "$MANIFESTS/$c.yaml"
  wait_for "$c to start again" "$STATIC_POD_WAIT_SECONDS" replaced "$c" "$old" || fail "$c did not start again within ${STATIC_POD_WAIT_SECONDS}s"
  wait_for "$c to be healthy" "$COMPONENT_READY_SECONDS" healthy "$c" || fail "$c (or the local API) is not healthy ${COMPONENT_READY_SECONDS}s after its restart"
  log "$c restarted and healthy"
}

# "<name> <Ready status>" for every control-plane Node.
control_plane_nodes() {
  kc get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
}

# Every other control plane, and its etcd member, must be Ready before this one's
# components go down: restarting etcd here while another member is down loses quorum.
others_ready() {
  local nodes pods name status bad=""
  nodes="$(control_plane_nodes)" || fail "could not list the control-plane nodes"
  pods="$(kc -n kube-system get pods -l component=etcd -o jsonpath='{range .items[*]}{.spec.nodeName}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" \
    || fail "could not list the etcd pods"
  while read -r name status; do
    if [ -z "$name" ] || [ "$name" = "$NODE_NAME" ]; then continue; fi
    if [ "$status" != True ]; then bad="$bad node $name is not Ready;"; continue; fi
    grep -qxF "$name True" <<< "$pods" || bad="$bad the etcd member on $name is not Ready;"
  done <<< "$nodes"
  if [ -n "$bad" ]; then fail "refusing to restart this control plane:$bad try again when every control plane is Ready"; fi
  log "every other control plane and its etcd member is Ready"
}
