#!/usr/bin/env bash
# kubeadm-alicloud node bootstrap: prepares the OS, installs pinned packages,
# configures containerd and runs kubeadm init or join for this node's role.
#
# Inputs (written by cloud-init before this runs):
#   /etc/kubeadm-alicloud/node.env          settings (see "required settings" below)
#   /etc/kubeadm-alicloud/kubeadm.yaml      kubeadm config with __PLACEHOLDERS__
#   /etc/kubeadm-alicloud/containerd.toml   containerd config with __PAUSE_IMAGE__
#   /etc/kubeadm-alicloud/secrets.list      OOS secret parameters to fetch, and where they go
#   /etc/kubeadm-alicloud/secrets/pki/      control planes: CA certificates and sa.pub (public)
#   /usr/local/lib/kubeadm-alicloud/fetch-secrets.py   reads secrets.list with the node's RAM role
# Secrets (fetched at boot into /etc/kubeadm-alicloud/secrets, root-only, removed
# after success): pki/*.key, encryption-config.yaml, bootstrap-token or tokens/.
# Outputs:
#   /var/log/kubeadm-alicloud/bootstrap.log  everything this script printed
#   /var/lib/kubeadm-alicloud/status         running | ok | failed: <why>
#   /var/lib/kubeadm-alicloud/done           fingerprint of the inputs of the last success
#
# Idempotent: after a success with the same inputs a second run changes nothing.
# A failed kubeadm step is reset and retried a bounded number of times.
# KUBEADM_ALICLOUD_ROOT prefixes every path (the test harness runs it in a sandbox).
set -euo pipefail

ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
CONF_DIR="$ROOT/etc/kubeadm-alicloud"
SECRETS="$CONF_DIR/secrets"
STATE_DIR="$ROOT/var/lib/kubeadm-alicloud"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
LOG="$LOG_DIR/bootstrap.log"
METADATA="${METADATA_URL:-http://100.100.100.200}"
FETCHER="$ROOT/usr/local/lib/kubeadm-alicloud/fetch-secrets.py"
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
for v in ROLE KUBERNETES_VERSION KUBERNETES_MINOR PACKAGE_SOURCE IMAGE_REPOSITORY API_DNS_NAME API_HOSTS_ADDRESS CONTAINERD_DEB_VERSION CONTAINERD_RPM_VERSION; do
  [ -n "${!v:-}" ] || fail "required setting $v is missing from node.env"
done
case "$ROLE" in init | control-plane | worker) ;; *) fail "unknown ROLE $ROLE" ;; esac

fingerprint() {
  cat "$CONF_DIR/node.env" "$CONF_DIR/kubeadm.yaml" "$CONF_DIR/containerd.toml" | sha256sum | cut -d' ' -f1
}
if [ -f "$STATE_DIR/done" ] && [ "$(cat "$STATE_DIR/done")" = "$(fingerprint)" ]; then
  log "already bootstrapped with these inputs; nothing to do"
  exit 0
fi
status running
log "bootstrap of a $ROLE node, Kubernetes $KUBERNETES_VERSION"

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
log "node $NODE_NAME at $NODE_IP"

# ---- secrets, from OOS with this node's RAM role ------------------------------------
# Python 3 ships with every supported image (cloud-init runs on it); Alibaba Cloud
# Linux 3 may only have it as platform-python.
PYTHON="$(command -v python3 || true)"
if [ -z "$PYTHON" ] && [ -x /usr/libexec/platform-python ]; then PYTHON=/usr/libexec/platform-python; fi
[ -n "$PYTHON" ] || fail "no Python 3 to run the secret fetcher"
# The fetcher retries with backoff itself, and writes nothing unless it read everything.
"$PYTHON" "$FETCHER" --region "$REGION" --manifest "$CONF_DIR/secrets.list" --dest "$SECRETS" \
  --metadata-url "$METADATA" ${OOS_ENDPOINT:+--endpoint "$OOS_ENDPOINT"} ${FETCH_BACKOFF_SECONDS:+--backoff-seconds "$FETCH_BACKOFF_SECONDS"} \
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

# The API endpoint name: this node on control planes once they serve, the load
# balancer elsewhere (an Alibaba CLB backend cannot reach itself through the CLB).
set_api_host() {
  local hosts="$ROOT/etc/hosts"
  touch "$hosts"
  sed -i '/# kubeadm-alicloud api$/d' "$hosts"
  printf '%s %s # kubeadm-alicloud api\n' "$1" "$API_DNS_NAME" >> "$hosts"
}
# "self" (the first control plane) means this node's own address.
if [ "$API_HOSTS_ADDRESS" = self ]; then set_api_host "$NODE_IP"; else set_api_host "$API_HOSTS_ADDRESS"; fi

# ---- packages, pinned --------------------------------------------------------------
# shellcheck source=/dev/null
. "$ROOT/etc/os-release"
case "$PACKAGE_SOURCE" in
  aliyun-mirror)
    K8S_REPO="https://mirrors.aliyun.com/kubernetes-new/core/stable/v$KUBERNETES_MINOR"
    DOCKER_REPO="https://mirrors.aliyun.com/docker-ce/linux" ;;
  upstream)
    K8S_REPO="https://pkgs.k8s.io/core:/stable:/v$KUBERNETES_MINOR"
    DOCKER_REPO="https://download.docker.com/linux" ;;
  *) fail "unknown PACKAGE_SOURCE $PACKAGE_SOURCE" ;;
esac

fetch() { curl -fsSL --max-time 60 "$1" -o "$2"; }

install_apt() {
  export DEBIAN_FRONTEND=noninteractive
  local keys="$ROOT/etc/apt/keyrings"
  mkdir -p "$keys"
  retry "$NETWORK_ATTEMPTS" fetch "$K8S_REPO/deb/Release.key" "$keys/kubernetes.asc"
  retry "$NETWORK_ATTEMPTS" fetch "$DOCKER_REPO/ubuntu/gpg" "$keys/docker.asc"
  printf 'deb [signed-by=/etc/apt/keyrings/kubernetes.asc] %s/deb/ /\n' "$K8S_REPO" > "$ROOT/etc/apt/sources.list.d/kubernetes.list"
  printf 'deb [signed-by=/etc/apt/keyrings/docker.asc] %s/ubuntu %s stable\n' "$DOCKER_REPO" "$VERSION_CODENAME" > "$ROOT/etc/apt/sources.list.d/docker.list"
  retry "$NETWORK_ATTEMPTS" apt-get update -q
  local v="$KUBERNETES_VERSION-1.1"
  # Held packages (a run that stopped half-way) are moved to the pins too.
  retry "$NETWORK_ATTEMPTS" apt-get install -y -q --allow-downgrades --allow-change-held-packages \
    "kubelet=$v" "kubeadm=$v" "kubectl=$v" "containerd.io=$CONTAINERD_DEB_VERSION~ubuntu.$VERSION_ID~$VERSION_CODENAME"
  apt-mark hold kubelet kubeadm kubectl containerd.io
}

install_dnf() {
  cat > "$ROOT/etc/yum.repos.d/kubernetes.repo" <<REPO
[kubernetes]
name=Kubernetes $KUBERNETES_MINOR
baseurl=$K8S_REPO/rpm/
enabled=1
gpgcheck=1
gpgkey=$K8S_REPO/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
REPO
  # Alibaba Cloud Linux 3 is compatible with RHEL 8: Docker's el8 builds fit it.
  cat > "$ROOT/etc/yum.repos.d/docker-ce.repo" <<REPO
[docker-ce-stable]
name=Docker CE Stable
baseurl=$DOCKER_REPO/centos/8/\$basearch/stable
enabled=1
gpgcheck=1
gpgkey=$DOCKER_REPO/centos/gpg
REPO
  retry "$NETWORK_ATTEMPTS" dnf install -y --disableexcludes=kubernetes \
    "kubelet-$KUBERNETES_VERSION" "kubeadm-$KUBERNETES_VERSION" "kubectl-$KUBERNETES_VERSION" "containerd.io-$CONTAINERD_RPM_VERSION"
}

case "${ID:-}" in
  ubuntu) install_apt ;;
  alinux) install_dnf ;;
  *) fail "unsupported OS ${ID:-unknown}: use Alibaba Cloud Linux 3 or Ubuntu 22.04/24.04" ;;
esac

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
RENDERED="$SECRETS/kubeadm.rendered.yaml"
render_kubeadm_config() {
  local token=""
  if [ "$ROLE" != init ]; then
    [ -r "$SECRETS/bootstrap-token" ] || fail "no bootstrap token in $SECRETS"
    token="$(cat "$SECRETS/bootstrap-token")"
  fi
  (umask 077 && sed -e "s#__NODE_NAME__#$NODE_NAME#g" -e "s#__NODE_IP__#$NODE_IP#g" \
    -e "s#__PROVIDER_ID__#$PROVIDER_ID#g" -e "s#__BOOTSTRAP_TOKEN__#$token#g" \
    "$CONF_DIR/kubeadm.yaml" > "$RENDERED")
  if [ "$ROLE" = init ]; then
    # tokens/: one file per token the first control plane installs, named by its placeholder.
    local f
    for f in "$SECRETS"/tokens/__TOKEN_*__; do
      [ -r "$f" ] || fail "no tokens in $SECRETS/tokens"
      sed -i "s#$(basename "$f")#$(cat "$f")#g" "$RENDERED"
    done
  fi
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

kubeadm_step() {
  place_pki
  case "$ROLE" in
    init) kubeadm init --config "$RENDERED" ;;
    control-plane | worker) kubeadm join --config "$RENDERED" ;;
  esac
}

render_kubeadm_config
# A previous run that died half-way leaves kubeadm's files behind: start clean.
if [ -f "$ROOT/etc/kubernetes/kubelet.conf" ]; then
  log "found the remains of an unfinished run: resetting first"
  kubeadm reset --force --cri-socket "$CRI_SOCKET" || true
fi
n=1
until kubeadm_step; do
  if [ "$n" -ge "$KUBEADM_ATTEMPTS" ]; then
    fail "kubeadm $ROLE failed $n times; last lines of $LOG: $(tail -n 20 "$LOG" | tr '\n' ' ' | cut -c1-1500)"
  fi
  log "kubeadm $ROLE failed (try $n of $KUBEADM_ATTEMPTS): resetting the node and trying again"
  kubeadm reset --force --cri-socket "$CRI_SOCKET" || true
  rm -rf "$ROOT/etc/cni/net.d"
  sleep $((15 * n))
  n=$((n + 1))
done

if [ "$ROLE" = control-plane ]; then
  # Joined: from now on this node answers for the API itself.
  set_api_host "$NODE_IP"
fi
fingerprint > "$STATE_DIR/done"
# No second copy of any secret stays behind: kubeadm keeps what it needs under
# /etc/kubernetes, and a second run finds the fingerprint and stops before fetching.
rm -rf "$SECRETS"
status ok
log "bootstrap finished"
