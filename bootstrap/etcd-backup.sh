#!/usr/bin/env bash
# Scheduled etcd snapshot of this control plane, into the cluster's OSS bucket under this
# member's own prefix (plan/etcd-backup.ts writes the settings and the systemd timer).
#
# 1. `etcdctl snapshot save` against the local member, run inside kubeadm's etcd static
#    pod (its image has etcdctl and etcdutl; /var/lib/etcd and the etcd PKI are host paths
#    mounted at the same place), into /var/lib/etcd so that the host sees the file;
# 2. the snapshot's integrity and revision (`etcdutl snapshot status`, etcd 3.5+; etcd
#    3.4's etcdctl otherwise), refusing an empty or unreadable one;
# 3. the upload (oss-put.py: the control plane's RAM role, V4-signed, Content-MD5,
#    never overwriting) to <prefix>/<YYYY>/<MM>/<DD>/<time>-rev<revision>.db;
# 4. its age made visible: the Node's label kubeadm-alicloud.io/etcd-backup-at (UTC,
#    YYYYMMDDTHHMMZ) and /var/lib/kubeadm-alicloud/etcd-backup/last-success.
# Each step has its own time limit inside the service's TimeoutStartSec. Exit 0: stored.
# Any failure exits non-zero (the unit fails, visible in `systemctl --failed` and the
# label's age); the local snapshot is removed either way.
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
ENV_FILE="${KUBEADM_ALICLOUD_ETCD_BACKUP_ENV:-$ROOT/etc/kubeadm-alicloud/etcd-backup.env}"
# shellcheck source=/dev/null
. "$ENV_FILE" # REGION BUCKET PREFIX SNAPSHOT_SECONDS UPLOAD_SECONDS UPLOADER
STATE="$ROOT/var/lib/kubeadm-alicloud/etcd-backup"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
KUBECONFIG_FILE="${KUBEADM_ALICLOUD_KUBECONFIG:-$ROOT/etc/kubernetes/admin.conf}"
NODE_NAME_FILE="$ROOT/var/lib/kubeadm-alicloud/node-name"
SNAPSHOT="$ROOT/var/lib/etcd/kubeadm-alicloud-backup.db"
mkdir -p "$STATE" "$LOG_DIR"
exec > >(tee -a "$LOG_DIR/etcd-backup.log") 2>&1
log() { printf '%s kubeadm-alicloud: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
trap 'rm -f "$SNAPSHOT"' EXIT

# etcdctl / etcdutl as they run in the etcd static pod (tests set ETCD_EXEC to run them directly).
# Read upstream: the kubelet labels each container io.kubernetes.container.name=<name>
# (kubernetes/kubernetes pkg/kubelet/types/labels.go); kubeadm names the container etcd,
# mounts the data dir (/var/lib/etcd here: plan/kubeadm.ts) and <certificatesDir>/etcd at
# the same paths inside it, and listens on 127.0.0.1:2379 too (cmd/kubeadm/app/phases/
# etcd/local.go GetEtcdPodSpec, getEtcdCommand); the etcd image copies etcd* and etcdctl*
# (so etcdutl) into /usr/local/bin (cluster/images/etcd/Dockerfile). These files were read
# in the search index's copies of kubernetes/kubernetes, not at a release tag.
if [ -n "${ETCD_EXEC:-}" ]; then
  EXEC=("$ETCD_EXEC")
else
  id="$(timeout 30 crictl ps --quiet --state Running --label io.kubernetes.container.name=etcd | head -n1)"
  [ -n "$id" ] || { log "FAILED: no running etcd container"; exit 1; }
  EXEC=(crictl exec "$id")
fi
TLS=(--endpoints=https://127.0.0.1:2379 --dial-timeout=10s --cacert=/etc/kubernetes/pki/etcd/ca.crt
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key)

log "etcd snapshot to oss://$BUCKET/$PREFIX/"
# etcd 3.4's `snapshot save` waits for ever on a member that does not answer, whatever
# --dial-timeout says: ask for health first, with a short limit.
timeout 30 "${EXEC[@]}" etcdctl "${TLS[@]}" --command-timeout=10s endpoint health \
  || { log "FAILED: etcd does not answer"; exit 1; }
rm -f "$SNAPSHOT"
timeout "$SNAPSHOT_SECONDS" "${EXEC[@]}" etcdctl "${TLS[@]}" snapshot save "/var/lib/etcd/kubeadm-alicloud-backup.db" \
  || { log "FAILED: snapshot save"; exit 1; }
[ -s "$SNAPSHOT" ] || { log "FAILED: the snapshot is empty"; exit 1; }

status="$(timeout 120 "${EXEC[@]}" etcdutl snapshot status -w json /var/lib/etcd/kubeadm-alicloud-backup.db 2>/dev/null \
  || timeout 120 "${EXEC[@]}" etcdctl snapshot status -w json /var/lib/etcd/kubeadm-alicloud-backup.db)" \
  || { log "FAILED: the snapshot does not read back"; exit 1; }
revision="$(printf '%s' "$status" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')"
[ -n "$revision" ] || { log "FAILED: no revision in the snapshot's status: $status"; exit 1; }

# Python 3 as node-bootstrap.sh finds it: Alibaba Cloud Linux 3 may only have platform-python.
PYTHON="$(command -v python3 || true)"
if [ -z "$PYTHON" ] && [ -x /usr/libexec/platform-python ]; then PYTHON=/usr/libexec/platform-python; fi
[ -n "$PYTHON" ] || { log "FAILED: no Python 3 for the upload"; exit 1; }

now="$(date -u +%Y%m%dT%H%M%SZ)"
key="$PREFIX/${now:0:4}/${now:4:2}/${now:6:2}/$now-rev$revision.db"
timeout "$UPLOAD_SECONDS" "$PYTHON" "$UPLOADER" --region "$REGION" --bucket "$BUCKET" --key "$key" \
  --file "$SNAPSHOT" ${OSS_ENDPOINT:+--endpoint "$OSS_ENDPOINT"} ${METADATA_URL:+--metadata-url "$METADATA_URL"} \
  || { log "FAILED: upload of $key"; exit 1; }

printf '%s %s %s\n' "$now" "$key" "$(stat -c %s "$SNAPSHOT")" > "$STATE/last-success.tmp"
mv "$STATE/last-success.tmp" "$STATE/last-success"
if [ -s "$NODE_NAME_FILE" ]; then
  kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s label node "$(cat "$NODE_NAME_FILE")" \
    --overwrite "kubeadm-alicloud.io/etcd-backup-at=${now:0:13}Z" \
    || log "stored, but the Node label could not be set"
fi
log "stored $key (revision $revision)"
