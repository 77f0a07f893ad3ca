#!/usr/bin/env bash
# Restore one etcd member's data directory from a snapshot, as a member of a NEW cluster
# (README "Restoring etcd from a backup" is the runbook around it: every control plane
# stopped, this run on each with the same snapshot, then each started).
#
# Arguments: SNAPSHOT NAME PEER_URL INITIAL_CLUSTER DATA_DIR
#   NAME and PEER_URL: this member's (kubeadm: the node name and https://<ip>:2380);
#   INITIAL_CLUSTER: every member, "name=peerURL,..." (the same on every member).
# The snapshot's integrity is checked first (`snapshot status`); an existing data
# directory is moved aside, never deleted. From etcd's "Disaster recovery" guide
# (etcd-io/website content/en/docs/v3.6/op-guide/recovery.md): a restore creates new
# data directories, all members restore the same snapshot, each with the new membership
# (--name, --initial-cluster, --initial-advertise-peer-urls) and a new
# --initial-cluster-token, here derived from the snapshot's hash so that the restored
# cluster never talks to members of the old one; and under Kubernetes, "highly
# recommended", --bump-revision with --mark-compacted, so that revisions never go back
# and every watch (the informers' caches) is ended and starts again.
#
# etcd 3.5 and later restore with etcdutl, which has those flags; etcd 3.4's etcdctl
# restores without them (the test harness's Debian etcd is 3.4). ETCDUTL / ETCDCTL name
# the binaries (kubeadm's etcd image has both in /usr/local/bin).
set -euo pipefail
SNAPSHOT="${1:-}"
NAME="${2:-}"
PEER_URL="${3:-}"
INITIAL_CLUSTER="${4:-}"
DATA_DIR="${5:-}"
ETCDUTL="${ETCDUTL:-etcdutl}"
ETCDCTL="${ETCDCTL:-etcdctl}"

log() { printf '%s kubeadm-alicloud: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

[ -n "$DATA_DIR" ] || fail "usage: etcd-restore.sh SNAPSHOT NAME PEER_URL INITIAL_CLUSTER DATA_DIR"
[ -s "$SNAPSHOT" ] || fail "no snapshot at $SNAPSHOT"
case ",$INITIAL_CLUSTER," in
  *",$NAME=$PEER_URL,"*) ;;
  *) fail "INITIAL_CLUSTER ($INITIAL_CLUSTER) does not list this member as $NAME=$PEER_URL" ;;
esac

# The tool that restores: etcdutl where there is one, else etcd 3.4's etcdctl.
# A week of writes at under 1,500 a second stays below the bump (the guide's example).
BUMP_REVISION="${BUMP_REVISION:-1000000000}"
if command -v "$ETCDUTL" >/dev/null; then
  tool=("$ETCDUTL")
  bump=(--bump-revision "$BUMP_REVISION" --mark-compacted)
else
  command -v "$ETCDCTL" >/dev/null || fail "neither $ETCDUTL nor $ETCDCTL is installed"
  export ETCDCTL_API=3
  tool=("$ETCDCTL")
  bump=()
  log "etcd 3.4's etcdctl restores without a revision bump: restart every API server and controller after the restore"
fi

status="$("${tool[@]}" snapshot status "$SNAPSHOT" -w json)" || fail "the snapshot $SNAPSHOT is damaged: $status"
hash="$(printf '%s' "$status" | sed -n 's/.*"hash":\([0-9]*\).*/\1/p')"
[ -n "$hash" ] || fail "no hash in the snapshot's status: $status"
log "snapshot $SNAPSHOT: $status"

if [ -e "$DATA_DIR" ]; then
  aside="$DATA_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  log "moving the existing $DATA_DIR aside to $aside"
  mv "$DATA_DIR" "$aside"
fi
"${tool[@]}" snapshot restore "$SNAPSHOT" \
  --name "$NAME" \
  --initial-cluster "$INITIAL_CLUSTER" \
  --initial-cluster-token "kubeadm-alicloud-restore-$hash" \
  --initial-advertise-peer-urls "$PEER_URL" \
  --data-dir "$DATA_DIR" \
  "${bump[@]}"
log "restored $NAME into $DATA_DIR (cluster token kubeadm-alicloud-restore-$hash)"
