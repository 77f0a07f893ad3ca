#!/usr/bin/env bash
# kubeadm-alicloud node bootstrap: prepares the OS, installs pinned packages,
# configures containerd and runs kubeadm init or join.
#
# Runs as kubeadm-alicloud-bootstrap.service, at every boot until it has succeeded
# once (so a reboot in the middle resumes it); cloud-init only starts the unit.
# Inputs (written by cloud-init):
#   /etc/kubeadm-alicloud/node.env              settings (see "required settings" below)
#   /etc/kubeadm-alicloud/kubeadm-join.yaml     JoinConfiguration with __PLACEHOLDERS__
#   /etc/kubeadm-alicloud/kubeadm-init.yaml     the first control plane: init configuration
#   /etc/kubeadm-alicloud/containerd.toml       containerd config with __PAUSE_IMAGE__
#   /etc/kubeadm-alicloud/secrets.list          OOS secret parameters to fetch, and where they go
#   /etc/kubeadm-alicloud/secrets/pki/          control planes: CA certificates and sa.pub (public)
#   /usr/local/lib/kubeadm-alicloud/            fetch-secrets.py, packages.sh, control-plane.sh
# Secrets (fetched at boot into /etc/kubeadm-alicloud/secrets, root-only, removed
# after success): pki/*.key, encryption-config.yaml, bootstrap-token.
# Outputs:
#   /var/log/kubeadm-alicloud/bootstrap.log  everything this script printed (never a token)
#   /var/lib/kubeadm-alicloud/status         running | ok | failed: <why>
#   /var/lib/kubeadm-alicloud/node-name      this node's name in the cluster
#   /var/lib/kubeadm-alicloud/done           fingerprint of the inputs of the success
#
# After a success with the same inputs a second run changes nothing; with other inputs
# it refuses (a finished node is never reset). Any failure marks the status failed at
# once. A failed kubeadm step is reset and retried a bounded number of times.
# KUBEADM_ALICLOUD_ROOT prefixes every path (the test harness runs it in a sandbox).
set -Eeuo pipefail

ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
CONF_DIR="$ROOT/etc/kubeadm-alicloud"
SECRETS="$CONF_DIR/secrets"
LIB="$ROOT/usr/local/lib/kubeadm-alicloud"
STATE_DIR="$ROOT/var/lib/kubeadm-alicloud"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
LOG="$LOG_DIR/bootstrap.log"
METADATA="${METADATA_URL:-http://100.100.100.200}"
KUBEADM_ATTEMPTS="${KUBEADM_ATTEMPTS:-3}"
NETWORK_ATTEMPTS="${NETWORK_ATTEMPTS:-5}"
CRI_SOCKET="unix:///run/containerd/containerd.sock"

mkdir -p "$STATE_DIR" "$LOG_DIR"
chmod 0700 "$STATE_DIR" "$LOG_DIR"
if [ -d "$SECRETS" ]; then chmod -R go-rwx "$SECRETS"; fi
exec > >(tee -a "$LOG") 2>&1

# To standard error, so that $(retry ...) captures only the command's own output.
log() { printf '%s kubeadm-alicloud: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
status() { printf '%s\n' "$*" > "$STATE_DIR/status"; }
fail() {
  log "FAILED: $*"
  status "failed: $*"
  exit 1
}
# Whatever stops the script marks the node failed at once, so nobody waits for a
# status that never comes: a failing command (errexit), or systemd's stop at
# TimeoutStartSec (SIGTERM).
on_error() {
  local rc=$?
  log "FAILED (exit $rc) at line $1: $2"
  status "failed: exit $rc at line $1: $2"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
trap 'log "FAILED: stopped by a signal"; status "failed: stopped by a signal (time limit or shutdown)"; exit 143' TERM INT

# retry ATTEMPTS CMD...: run CMD until it succeeds, waiting 2, 4, 8 ... seconds between tries.
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      log "giving up after $n tries: $*"
      return 1
    fi
    log "try $n of $attempts failed: $*; again in ${delay}s"
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2))
  done
}

# ---- inputs ------------------------------------------------------------------------
[ -r "$CONF_DIR/node.env" ] || fail "$CONF_DIR/node.env is missing"
# shellcheck source=/dev/null
. "$CONF_DIR/node.env"
for v in ROLE KUBERNETES_VERSION KUBERNETES_MINOR PACKAGE_SOURCE IMAGE_REPOSITORY API_DNS_NAME CONTAINERD_DEB_VERSION CONTAINERD_RPM_VERSION KUBEADM_ATTEMPT_SECONDS ROLE_WAIT_SECONDS; do
  [ -n "${!v:-}" ] || fail "required setting $v is missing from node.env"
done
case "$ROLE" in
  control-plane) for v in CONTROL_PLANE_PEERS FIRST_CONTROL_PLANE; do [ -n "${!v:-}" ] || fail "required setting $v is missing from node.env"; done ;;
  worker) [ -n "${API_HOSTS_ADDRESS:-}" ] || fail "required setting API_HOSTS_ADDRESS is missing from node.env" ;;
  *) fail "unknown ROLE $ROLE" ;;
esac

fingerprint() {
  cat "$CONF_DIR/node.env" "$CONF_DIR"/kubeadm-*.yaml "$CONF_DIR/containerd.toml" | sha256sum | cut -d' ' -f1
}
if [ -f "$STATE_DIR/done" ]; then
  if [ "$(cat "$STATE_DIR/done")" = "$(fingerprint)" ]; then
    log "already bootstrapped with these inputs; nothing to do"
    exit 0
  fi
  # A finished node is never reset: that would remove a control plane's etcd member
  # and wipe the node. Changes to running nodes go through a rollout, not through here.
  log "REFUSED: this node finished bootstrapping with other inputs; it is left as it is (status: $(cat "$STATE_DIR/status" 2>/dev/null || echo unknown)). Replace the node to give it new inputs."
  exit 3
fi
status running
log "bootstrap of a $ROLE node, Kubernetes $KUBERNETES_VERSION"

# shellcheck source=bootstrap/packages.sh
. "$LIB/packages.sh"
require_cgroup_v2

# ---- node identity from the metadata service (tokens required) ---------------------
metadata_token() {
  curl -fsS --max-time 5 -X PUT -H "X-aliyun-ecs-metadata-token-ttl-seconds: 900" "$METADATA/latest/api/token"
}
metadata() {
  curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $MD_TOKEN" "$METADATA/latest/meta-data/$1"
}
MD_TOKEN="$(retry "$NETWORK_ATTEMPTS" metadata_token)" || fail "no metadata token"
REGION="$(retry "$NETWORK_ATTEMPTS" metadata region-id)" || fail "no region-id from metadata"
INSTANCE_ID="$(retry "$NETWORK_ATTEMPTS" metadata instance-id)" || fail "no instance-id from metadata"
NODE_IP="$(retry "$NETWORK_ATTEMPTS" metadata private-ipv4)" || fail "no private-ipv4 from metadata"
# The cloud-controller-manager and cluster-autoscaler find nodes by <region>.<instance-id>.
NODE_NAME="$REGION.$INSTANCE_ID"
PROVIDER_ID="$REGION.$INSTANCE_ID"
printf '%s\n' "$NODE_NAME" > "$STATE_DIR/node-name"
log "node $NODE_NAME at $NODE_IP"

# ---- secrets, from OOS with this node's RAM role ------------------------------------
# Python 3 ships with every supported image (cloud-init runs on it); Alibaba Cloud
# Linux 3 may only have it as platform-python.
PYTHON="$(command -v python3 || true)"
if [ -z "$PYTHON" ] && [ -x /usr/libexec/platform-python ]; then PYTHON=/usr/libexec/platform-python; fi
[ -n "$PYTHON" ] || fail "no Python 3 to run the secret fetcher"
# The fetcher retries with backoff itself (waiting up to ROLE_WAIT_SECONDS for a RAM
# role attached after boot), and writes nothing unless it read everything.
"$PYTHON" "$LIB/fetch-secrets.py" --region "$REGION" --manifest "$CONF_DIR/secrets.list" --dest "$SECRETS" \
  --metadata-url "$METADATA" --role-wait-seconds "$ROLE_WAIT_SECONDS" \
  ${OOS_ENDPOINT:+--endpoint "$OOS_ENDPOINT"} ${FETCH_BACKOFF_SECONDS:+--backoff-seconds "$FETCH_BACKOFF_SECONDS"} \
  || fail "could not read this node's secrets from OOS (see the fetch-secrets lines above)"

# ---- kernel and OS prerequisites --------------------------------------------------
swapoff -a
if [ -f "$ROOT/etc/fstab" ]; then sed -i '/\sswap\s/s/^\([^#]\)/#\1/' "$ROOT/etc/fstab"; fi
printf 'overlay\nbr_netfilter\n' > "$ROOT/etc/modules-load.d/kubeadm-alicloud.conf"
modprobe overlay
modprobe br_netfilter
cat > "$ROOT/etc/sysctl.d/90-kubeadm-alicloud.conf" <<'SYSCTL'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
SYSCTL
sysctl --system >/dev/null

# The API endpoint name: the load balancer on workers; on control planes a serving
# peer while joining, then this node itself (an Alibaba CLB backend cannot reach
# itself through the CLB).
set_api_host() {
  local hosts="$ROOT/etc/hosts"
  touch "$hosts"
  sed -i '/# kubeadm-alicloud api$/d' "$hosts"
  printf '%s %s # kubeadm-alicloud api\n' "$1" "$API_DNS_NAME" >> "$hosts"
}

# A control plane decides init or join first (curl and its secrets suffice): a joining one
# installs the version the cluster runs (control-plane.sh join_at_cluster_version).
KUBEADM_ACTION="join"
JOIN_VIA=""
if [ "$ROLE" = control-plane ]; then
  # shellcheck source=bootstrap/control-plane.sh
  . "$LIB/control-plane.sh"
  choose_control_plane_action
  if [ "$KUBEADM_ACTION" = join ]; then join_at_cluster_version "$JOIN_VIA"; fi
fi

install_packages

# ---- containerd ---------------------------------------------------------------------
# kubeadm knows the pause image that belongs to its version: ask it instead of guessing.
PAUSE_IMAGE="$(kubeadm config images list --kubernetes-version "v$KUBERNETES_VERSION" --image-repository "$IMAGE_REPOSITORY" | grep '/pause:')" \
  || fail "kubeadm did not name a pause image"
mkdir -p "$ROOT/etc/containerd"
# Generated, never the package's own (Docker's ships with the CRI plugin disabled).
sed "s#__PAUSE_IMAGE__#$PAUSE_IMAGE#" "$CONF_DIR/containerd.toml" > "$ROOT/etc/containerd/config.toml"
systemctl daemon-reload
# Pods must not reach the metadata service: the guard's rule is in place before any pod.
systemctl enable --now kubeadm-alicloud-metadata-guard.service
systemctl enable containerd
systemctl restart containerd
systemctl enable kubelet

# ---- kubeadm ------------------------------------------------------------------------
if [ "$ROLE" = control-plane ]; then
  if [ "$KUBEADM_ACTION" = init ]; then set_api_host "$NODE_IP"; else set_api_host "$JOIN_VIA"; fi
else
  set_api_host "$API_HOSTS_ADDRESS"
fi
SOURCE_CONFIG="$CONF_DIR/kubeadm-$KUBEADM_ACTION.yaml"
[ -r "$SOURCE_CONFIG" ] || fail "no $SOURCE_CONFIG for kubeadm $KUBEADM_ACTION"
RENDERED="$SECRETS/kubeadm.rendered.yaml"
render_kubeadm_config() {
  local token
  [ -r "$SECRETS/bootstrap-token" ] || fail "no bootstrap token in $SECRETS"
  token="$(cat "$SECRETS/bootstrap-token")"
  (umask 077 && sed -e "s#__NODE_NAME__#$NODE_NAME#g" -e "s#__NODE_IP__#$NODE_IP#g" \
    -e "s#__PROVIDER_ID__#$PROVIDER_ID#g" -e "s#__BOOTSTRAP_TOKEN__#$token#g" \
    "$SOURCE_CONFIG" > "$RENDERED")
  if grep -q '__[A-Z_]*__' "$RENDERED"; then fail "unfilled placeholders in the kubeadm config"; fi
}

# Control planes get the CAs and service-account keys Pulumi made; kubeadm reset
# wipes /etc/kubernetes/pki, so they are copied in before every attempt.
place_pki() {
  [ "$ROLE" = worker ] && return 0
  [ -d "$SECRETS/pki" ] || fail "no cluster PKI in $SECRETS/pki"
  mkdir -p "$ROOT/etc/kubernetes/pki"
  cp -a "$SECRETS/pki/." "$ROOT/etc/kubernetes/pki/"
  find "$ROOT/etc/kubernetes/pki" -name '*.key' -exec chmod 0600 {} +
  # The Secrets encryption key, when encryption at rest is on.
  if [ -f "$SECRETS/encryption-config.yaml" ]; then
    mkdir -p "$ROOT/etc/kubernetes/enc"
    chmod 0700 "$ROOT/etc/kubernetes/enc"
    install -m 0600 "$SECRETS/encryption-config.yaml" "$ROOT/etc/kubernetes/enc/encryption-config.yaml"
  fi
}

# Each attempt has its own time limit, inside the unit's (plan/timeouts.ts).
kubeadm_step() {
  place_pki
  if [ "$ROLE" = control-plane ] && [ "$KUBEADM_ACTION" = join ]; then
    # Whatever an earlier instance at this address, or an earlier attempt of this
    # node, left in the cluster goes first.
    remove_own_etcd_member "$JOIN_VIA"
    remove_own_nodes "$JOIN_VIA"
  fi
  case "$KUBEADM_ACTION" in
    # --skip-token-print: init would print the join command with the control planes'
    # token, and this log's tail is what the readiness gate returns.
    init) timeout "$KUBEADM_ATTEMPT_SECONDS" kubeadm init --skip-token-print --config "$RENDERED" ;;
    join) timeout "$KUBEADM_ATTEMPT_SECONDS" kubeadm join --config "$RENDERED" ;;
  esac
}

render_kubeadm_config
# A previous run that stopped half-way (a reboot, a failure) leaves kubeadm's files
# behind: start clean. Only unfinished nodes get here (see "done" above).
# (The kubelet package itself creates an empty manifests directory: look for files.)
if [ -f "$ROOT/etc/kubernetes/kubelet.conf" ] || [ -f "$ROOT/etc/kubernetes/manifests/etcd.yaml" ] || [ -f "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]; then
  log "found the remains of an unfinished run: resetting first"
  kubeadm reset --force --cri-socket "$CRI_SOCKET" || true
fi
n=1
until kubeadm_step; do
  if [ "$n" -ge "$KUBEADM_ATTEMPTS" ]; then
    fail "kubeadm $KUBEADM_ACTION failed $n times; last lines of $LOG: $(tail -n 20 "$LOG" | tr '\n' ' ' | cut -c1-1500)"
  fi
  log "kubeadm $KUBEADM_ACTION failed (try $n of $KUBEADM_ATTEMPTS): resetting the node and trying again"
  kubeadm reset --force --cri-socket "$CRI_SOCKET" || true
  rm -rf "$ROOT/etc/cni/net.d"
  sleep $((15 * n))
  n=$((n + 1))
done

if [ "$ROLE" = control-plane ]; then
  # Serving: from now on this node answers for the API itself.
  set_api_host "$NODE_IP"
fi
fingerprint > "$STATE_DIR/done"
# No second copy of any secret stays behind: kubeadm keeps what it needs under
# /etc/kubernetes, and the unit does not start again once "done" exists.
rm -rf "$SECRETS"
status ok
log "bootstrap finished"
