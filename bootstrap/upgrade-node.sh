#!/usr/bin/env bash
# Upgrade this node's Kubernetes in place, run through Cloud Assistant by the staged
# rollout (plan/upgrade-node.ts), the node already drained by bootstrap/drain.sh.
# Arguments: KIND TARGET, KIND "apply" on the first control plane, "node" on the others
# and on in-place workers. The order is kubeadm's (kubernetes/website content/en/docs/
# tasks/administer-cluster/kubeadm/kubeadm-upgrade.md): switch the package repository to
# the target minor, upgrade kubeadm, `kubeadm upgrade apply -y vX.Y.Z` (first control
# plane) or `kubeadm upgrade node`, then kubelet and kubectl, daemon-reload, restart the
# kubelet. The uncordon and the gate are the rollout's.
#
# Resumable: each finished step leaves a marker under
# /var/lib/kubeadm-alicloud/upgrade/<TARGET>/, and a rerun (after a failure, a lost
# Cloud Assistant invocation or a reboot) skips what is done. `kubeadm upgrade apply` is
# itself safe to rerun (kubeadm-upgrade.md, "Recovering from a failure state"). A failed
# step stops the script with its output and the log's tail.
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
KIND="${1:-}"
TARGET="${2:-}"
CONF_DIR="$ROOT/etc/kubeadm-alicloud"
LIB="$ROOT/usr/local/lib/kubeadm-alicloud"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
NETWORK_ATTEMPTS="${NETWORK_ATTEMPTS:-5}"
# kubeadm upgrade apply pulls images and restarts every static pod in turn, waiting up
# to 5 minutes for each (UpgradeConfiguration timeouts, v1beta4 defaults): 20 minutes in all.
KUBEADM_UPGRADE_SECONDS="${KUBEADM_UPGRADE_SECONDS:-1200}"

if ! [[ "$KIND" =~ ^(apply|node)$ ]] || ! [[ "$TARGET" =~ ^1\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: upgrade-node.sh apply|node MAJOR.MINOR.PATCH" >&2
  exit 2
fi
DONE_DIR="$ROOT/var/lib/kubeadm-alicloud/upgrade/$TARGET"
LOG="$LOG_DIR/upgrade-$TARGET.log"
mkdir -p "$DONE_DIR" "$LOG_DIR"
exec > >(tee -a "$LOG") 2>&1

log() { printf '%s kubeadm-alicloud: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    log "upgrade to $TARGET stopped (exit $rc); last lines of $LOG:"
    tail -n 30 "$LOG" >&2
  fi
}
trap on_exit EXIT
# retry ATTEMPTS CMD...: as the bootstrap's (2, 4, 8 ... seconds between tries).
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    [ "$n" -lt "$attempts" ] || return 1
    log "try $n of $attempts failed: $*; again in ${delay}s"
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2))
  done
}

[ -r "$CONF_DIR/node.env" ] || fail "$CONF_DIR/node.env is missing: not a kubeadm-alicloud node"
# shellcheck source=/dev/null
. "$CONF_DIR/node.env"
KUBERNETES_VERSION="$TARGET"
KUBERNETES_MINOR="${TARGET%.*}"
# shellcheck source=bootstrap/packages.sh
. "$LIB/packages.sh"

# step NAME CMD...: run CMD once; a rerun skips a step whose marker exists.
step() {
  local name=$1
  shift
  if [ -f "$DONE_DIR/$name" ]; then
    log "$name: done before"
    return 0
  fi
  log "$name: $*"
  "$@"
  touch "$DONE_DIR/$name"
}

restart_kubelet() {
  systemctl daemon-reload
  systemctl restart kubelet
}

log "upgrading this node to Kubernetes $TARGET (kubeadm upgrade $KIND)"
step kubeadm-package upgrade_kubernetes_packages kubeadm
case "$KIND" in
  apply) step kubeadm-upgrade timeout "$KUBEADM_UPGRADE_SECONDS" kubeadm upgrade apply -y "v$TARGET" ;;
  node) step kubeadm-upgrade timeout "$KUBEADM_UPGRADE_SECONDS" kubeadm upgrade node ;;
esac
step kubelet-package upgrade_kubernetes_packages kubelet kubectl
step kubelet-restart restart_kubelet
log "node upgraded to $TARGET"
