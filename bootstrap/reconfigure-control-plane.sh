#!/usr/bin/env bash
# kubeadm-alicloud: carry a change of the control planes' kubeadm settings (the API server's
# flags and mounts, the audit log, anonymous access, the API certificate's names, the image
# repository) and of the kubelets' configuration to THIS running control plane. Pulumi runs it through Cloud Assistant on one
# control plane after another, each only once the one before is healthy again
# (plan/control-plane-settings.ts renders what it reads).
#
# kubeadm's own way (kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/
# kubeadm-reconfigure.md): ClusterConfiguration edited in the kube-system/kubeadm-config
# ConfigMap (what `kubeadm join --control-plane` and `kubeadm upgrade` read: cmd/kubeadm/app/
# cmd/join.go fetchInitConfiguration, util/config/cluster.go), then on each control plane
# `kubeadm init phase control-plane <component> --config` and, for new certificate names,
# `kubeadm init phase certs <component> --config`. The phase reads only the file given, not the
# ConfigMap, and writes over the manifest (phases/init/controlplane.go, util/staticpod/utils.go);
# the API server's --advertise-address is the file's localAPIEndpoint.advertiseAddress, detected
# from the default route when absent (phases/controlplane/manifests.go, util/config/
# initconfiguration.go), so this node's address is pinned from its running manifest. Here also:
# the cluster-wide Lease renew-certs.sh takes (never two control planes restarting at once),
# another control plane Ready to serve the API meanwhile, and a component that does not come
# back healthy put back as it was.
#
# Inputs (/etc/kubeadm-alicloud/control-plane-settings/): settings.env, cluster-configuration.yaml
# and init-configuration.yaml (placeholders for the version, this node's name and address),
# kubelet-configuration.yaml (the kubelets' KubeletConfiguration),
# cert-sans (one name per line), settings.sha256, and when enabled audit-policy.yaml and
# authentication-config-v1.yaml / -v1beta1.yaml. Output: the log below, and the digest in
# /var/lib/kubeadm-alicloud/control-plane-settings.sha256 once applied (a rerun is a no-op).
# KUBEADM_ALICLOUD_ROOT prefixes every path (the test harness runs it in a sandbox).
set -euo pipefail

ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
DIR="$ROOT/etc/kubeadm-alicloud/control-plane-settings"
STATE_DIR="$ROOT/var/lib/kubeadm-alicloud"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
LOG="$LOG_DIR/reconfigure.log"
APPLIED="$STATE_DIR/control-plane-settings.sha256"
WORK="$STATE_DIR/reconfigure"
K8S_DIR="$ROOT/etc/kubernetes"
PKI="$K8S_DIR/pki"
MANIFESTS="$K8S_DIR/manifests"
HOLD="$K8S_DIR/kubeadm-alicloud-restarting"
ADMIN_CONF="$K8S_DIR/admin.conf"
LEASE=kubeadm-alicloud-cert-renewal
CRI_ENDPOINT="unix:///run/containerd/containerd.sock"
LEASE_BUSY_HINT="not changing this control plane's settings now; run pulumi up again"
# The components `kubeadm init phase control-plane all` writes (etcd is not among them).
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler)

mkdir -p "$STATE_DIR" "$LOG_DIR"
chmod 0700 "$STATE_DIR" "$LOG_DIR"
exec > >(tee -a "$LOG") 2>&1

log() { printf '%s kubeadm-alicloud reconfigure: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

# shellcheck source-path=SCRIPTDIR source=control-plane-lib.sh
. "${CONTROL_PLANE_LIB:-$ROOT/usr/local/lib/kubeadm-alicloud/control-plane-lib.sh}"

[ -r "$DIR/settings.env" ] || fail "$DIR/settings.env is missing: Pulumi writes it with this script"
# shellcheck source=/dev/null
. "$DIR/settings.env"
for v in COMPONENT_READY_SECONDS LOCK_WAIT_SECONDS LEASE_STALE_SECONDS STATIC_POD_WAIT_SECONDS KUBEADM_SECONDS POLL_SECONDS AUTH_CONFIG_V1_MIN_MINOR; do
  [[ "${!v:-}" =~ ^[1-9][0-9]*$ ]] || fail "$v must be a positive whole number, not '${!v:-}'"
done

exec 9> "$STATE_DIR/reconfigure.lock"
flock -n 9 || fail "another settings change holds $STATE_DIR/reconfigure.lock"

DIGEST="$(cat "$DIR/settings.sha256")"
if [ "$(cat "$APPLIED" 2>/dev/null || true)" = "$DIGEST" ]; then
  log "settings ${DIGEST:0:12} are in place already; nothing to do"
  exit 0
fi
[ -f "$STATE_DIR/done" ] || fail "this node has not finished bootstrapping ($STATE_DIR/done is absent)"
[ -s "$STATE_DIR/node-name" ] || fail "$STATE_DIR/node-name is missing: the bootstrap writes this node's name there"
NODE_NAME="$(cat "$STATE_DIR/node-name")"
[ -f "$MANIFESTS/kube-apiserver.yaml" ] || fail "no $MANIFESTS/kube-apiserver.yaml: not a control plane"

clean_up_on_exit
restore_manifests

# What this node runs, as kubeadm wrote it: the API server's image tag and advertised address.
NODE_VERSION="$(sed -n 's|^ *image: .*/kube-apiserver:\(v[0-9][0-9.]*\)$|\1|p' "$MANIFESTS/kube-apiserver.yaml" | head -n 1)"
ADVERTISE="$(sed -n 's|^ *- --advertise-address=\([0-9.]*\)$|\1|p' "$MANIFESTS/kube-apiserver.yaml" | head -n 1)"
[ -n "$NODE_VERSION" ] || fail "cannot read the kube-apiserver image version from $MANIFESTS/kube-apiserver.yaml"
[ -n "$ADVERTISE" ] || fail "cannot read --advertise-address from $MANIFESTS/kube-apiserver.yaml"
NODE_MINOR="$(cut -d. -f2 <<< "$NODE_VERSION")"

# Unlike the renewal, this restarts no etcd member, only this node's API server and its two
# clients: a peer that is down (one a `pulumi up --replace` is about to replace, say) must not
# block the chain, as long as another control plane serves the API meanwhile. With peers but
# none of them Ready it refuses: the API would go down with this one.
another_serves() {
  local nodes name status total=0 ready=0 down=""
  nodes="$(control_plane_nodes)" || fail "could not list the control-plane nodes"
  while read -r name status; do
    if [ -z "$name" ] || [ "$name" = "$NODE_NAME" ]; then continue; fi
    total=$((total + 1))
    if [ "$status" = True ]; then ready=$((ready + 1)); else down="${down:+$down }$name"; fi
  done <<< "$nodes"
  if [ "$total" -gt 0 ] && [ "$ready" -eq 0 ]; then
    fail "refusing to restart this control plane's API server: no other control plane is Ready ($down)"
  fi
  if [ -n "$down" ]; then log "WARNING: not Ready: $down; going on, another control plane serves the API"; fi
}

wait_for "the local API's /readyz" "$COMPONENT_READY_SECONDS" api_ready || fail "the local API is not ready; not touching a control plane that is not healthy"
acquire_lease
another_serves

# ---- files the new flags name: in place before any manifest names them -------------------
install_file() { # install_file SOURCE TARGET
  if cmp -s "$1" "$2"; then return 0; fi
  mkdir -p "$(dirname "$2")"
  install -m 0644 "$1" "$2"
  log "wrote $2"
}
if [ -f "$DIR/audit-policy.yaml" ]; then install_file "$DIR/audit-policy.yaml" "$ROOT$AUDIT_POLICY_FILE"; fi
if [ -f "$DIR/authentication-config-v1.yaml" ]; then
  # The form this node's API server reads (v1 from AUTH_CONFIG_V1_MIN_MINOR on).
  if [ "$NODE_MINOR" -ge "$AUTH_CONFIG_V1_MIN_MINOR" ]; then form=v1; else form=v1beta1; fi
  install_file "$DIR/authentication-config-$form.yaml" "$ROOT$AUTH_CONFIG_FILE"
fi

# ---- the cluster's copy: what joining control planes and `kubeadm upgrade` read ----------
# The version stays what kubeadm-config holds: an upgrade under way moves it, not this.
CURRENT="$(kc -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}')" \
  || fail "could not read kube-system/kubeadm-config"
CLUSTER_VERSION="$(sed -n 's|^kubernetesVersion: *\(v[0-9][0-9.]*\) *$|\1|p' <<< "$CURRENT" | head -n 1)"
[ -n "$CLUSTER_VERSION" ] || fail "kube-system/kubeadm-config has no kubernetesVersion"
mkdir -p "$WORK"
chmod 0700 "$WORK"
sed "s|__KUBERNETES_VERSION__|$CLUSTER_VERSION|" "$DIR/cluster-configuration.yaml" > "$WORK/cluster.yaml"
if [ "$CURRENT" != "$(cat "$WORK/cluster.yaml")" ]; then
  PYTHON="$(command -v python3 || true)"
  if [ -z "$PYTHON" ] && [ -x /usr/libexec/platform-python ]; then PYTHON=/usr/libexec/platform-python; fi
  [ -n "$PYTHON" ] || fail "no Python 3 to build the ConfigMap patch"
  patch="$("$PYTHON" -c 'import json,sys; print(json.dumps({"data": {"ClusterConfiguration": open(sys.argv[1]).read()}}))' "$WORK/cluster.yaml")"
  kc -n kube-system patch configmap kubeadm-config --type merge -p "$patch" >/dev/null \
    || fail "could not update kube-system/kubeadm-config"
  log "kube-system/kubeadm-config: ClusterConfiguration updated (kubernetesVersion kept at $CLUSTER_VERSION)"
fi

# ---- this node: its static pods at the version they run ----------------------------------
{
  sed -e "s|__NODE_NAME__|$NODE_NAME|" -e "s|__NODE_IP__|$ADVERTISE|" "$DIR/init-configuration.yaml"
  echo "---"
  sed "s|__KUBERNETES_VERSION__|$NODE_VERSION|" "$DIR/cluster-configuration.yaml"
} > "$WORK/kubeadm.yaml"
rm -rf "$WORK/before"
mkdir -p "$WORK/before"
declare -A OLD_IDS
for c in "${COMPONENTS[@]}"; do
  cp -p "$MANIFESTS/$c.yaml" "$WORK/before/$c.yaml"
  OLD_IDS[$c]="$(running_ids "$c")" || fail "crictl could not list the $c container"
done

# A name missing from the API certificate: a new one is signed from the CA on this node.
NEW_CERT=""
SANS="$(openssl x509 -in "$PKI/apiserver.crt" -noout -ext subjectAltName 2>/dev/null)" \
  || fail "cannot read $PKI/apiserver.crt"
while read -r name; do
  [ -n "$name" ] || continue
  if ! grep -qE "(DNS|IPAddress):${name//./\\.}(,|\$)" <<< "${SANS// /}"; then
    log "the API certificate does not name $name"
    NEW_CERT=1
  fi
done < "$DIR/cert-sans"
if [ -n "$NEW_CERT" ]; then
  # kubeadm refuses an existing certificate that lacks a name it expects ("certificate apiserver
  # is invalid", phases/certs/certs.go validateCertificateWithConfig): the old one goes first.
  cp -p "$PKI/apiserver.crt" "$PKI/apiserver.key" "$WORK/before/"
  rm -f "$PKI/apiserver.crt" "$PKI/apiserver.key"
  if ! timeout "$KUBEADM_SECONDS" kubeadm init phase certs apiserver --config "$WORK/kubeadm.yaml"; then
    cp -p "$WORK/before/apiserver.crt" "$WORK/before/apiserver.key" "$PKI/"
    fail "kubeadm init phase certs apiserver failed; the previous certificate is back"
  fi
  log "signed a new API certificate: $(openssl x509 -in "$PKI/apiserver.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')"
fi

timeout "$KUBEADM_SECONDS" kubeadm init phase control-plane all --config "$WORK/kubeadm.yaml" \
  || { cp -p "$WORK/before/"*.yaml "$MANIFESTS/"; fail "kubeadm init phase control-plane failed; the previous manifests are back"; }

# Each changed component, in kubeadm's order: the kubelet restarts it from its new manifest;
# one that does not come back healthy gets its previous manifest (and certificate) back.
put_back() { # put_back COMPONENT WHY
  local c=$1
  log "$c: $2; putting back its previous manifest"
  if [ "$c" = kube-apiserver ] && [ -n "$NEW_CERT" ]; then cp -p "$WORK/before/apiserver.crt" "$WORK/before/apiserver.key" "$PKI/"; fi
  cp -p "$WORK/before/$c.yaml" "$MANIFESTS/$c.yaml"
  wait_for "$c to be healthy with its previous settings" "$COMPONENT_READY_SECONDS" healthy "$c" \
    || log "$c is not healthy with its previous settings either"
  fail "$c did not take the new settings ($2); it runs with its previous ones. The new manifest was: $(head -c 4000 "$WORK/failed-$c.yaml" 2>/dev/null)"
}
for c in "${COMPONENTS[@]}"; do
  if cmp -s "$WORK/before/$c.yaml" "$MANIFESTS/$c.yaml"; then
    if [ "$c" = kube-apiserver ] && [ -n "$NEW_CERT" ]; then restart_static_pod kube-apiserver; fi
    continue
  fi
  cp -p "$MANIFESTS/$c.yaml" "$WORK/failed-$c.yaml"
  log "$c: new manifest; waiting for the kubelet to restart it"
  wait_for "$c to start again" "$STATIC_POD_WAIT_SECONDS" replaced "$c" "${OLD_IDS[$c]}" \
    || put_back "$c" "it did not restart within ${STATIC_POD_WAIT_SECONDS}s"
  wait_for "$c to be healthy" "$COMPONENT_READY_SECONDS" healthy "$c" \
    || put_back "$c" "it was not healthy within ${COMPONENT_READY_SECONDS}s"
  rm -f "$WORK/failed-$c.yaml"
  log "$c runs with the new settings and is healthy"
done

# ---- the kubelets' configuration: the cluster's copy, then this node's ---------------------
# kubeadm's way again (kubeadm-reconfigure.md, "Applying kubelet configuration changes"):
# kube-system/kubelet-config (data key kubelet), which joining nodes and `kubeadm upgrade`
# read, then on each node `kubeadm upgrade node phase kubelet-config` writes it to
# /var/lib/kubelet/config.yaml and the kubelet restarts. The ConfigMap is written by
# `kubeadm init phase upload-config kubelet` (phases/kubelet/config.go CreateConfigMap:
# create or update), which defaults our KubeletConfiguration as `kubeadm init` did
# (clusterDNS, clusterDomain, staticPodPath...), never by hand: its --config file is read like
# init's, the KubeletConfiguration document kept as a component config and defaulted
# (cmd/kubeadm/app/util/config/initconfiguration.go BytesToInitConfiguration).
{ cat "$WORK/kubeadm.yaml"; echo "---"; cat "$DIR/kubelet-configuration.yaml"; } > "$WORK/kubelet.yaml"
timeout "$KUBEADM_SECONDS" kubeadm init phase upload-config kubelet --config "$WORK/kubelet.yaml" \
  || fail "kubeadm init phase upload-config kubelet failed"
KUBELET_CONFIG="$ROOT/var/lib/kubelet/config.yaml"
cp -p "$KUBELET_CONFIG" "$WORK/before/kubelet-config.yaml" || fail "cannot read $KUBELET_CONFIG"
timeout "$KUBEADM_SECONDS" kubeadm upgrade node phase kubelet-config \
  || { cp -p "$WORK/before/kubelet-config.yaml" "$KUBELET_CONFIG"; fail "kubeadm upgrade node phase kubelet-config failed; the previous configuration is back"; }
# The kubelet's own health endpoint, as kubeadm waits for it (healthzPort 10248 on localhost:
# cmd/kubeadm/app/constants KubeletHealthzPort), then this Node Ready in the API.
kubelet_healthy() {
  curl -sf --max-time 5 http://127.0.0.1:10248/healthz >/dev/null 2>&1 \
    && control_plane_nodes | grep -qxF "$NODE_NAME True"
}
if ! cmp -s "$WORK/before/kubelet-config.yaml" "$KUBELET_CONFIG"; then
  cp -p "$KUBELET_CONFIG" "$WORK/failed-kubelet-config.yaml"
  log "kubelet: new configuration; restarting it"
  systemctl restart kubelet || fail "systemctl restart kubelet failed"
  if ! wait_for "the kubelet to be healthy" "$COMPONENT_READY_SECONDS" kubelet_healthy; then
    log "kubelet: not healthy within ${COMPONENT_READY_SECONDS}s; putting back its previous configuration"
    cp -p "$WORK/before/kubelet-config.yaml" "$KUBELET_CONFIG"
    systemctl restart kubelet || log "systemctl restart kubelet failed"
    wait_for "the kubelet to be healthy with its previous configuration" "$COMPONENT_READY_SECONDS" kubelet_healthy \
      || log "the kubelet is not healthy with its previous configuration either"
    fail "the kubelet did not take the new configuration; it runs with its previous one (kube-system/kubelet-config holds the new one). The new configuration was: $(head -c 4000 "$WORK/failed-kubelet-config.yaml")"
  fi
  log "kubelet runs with the new configuration and is healthy"
fi

printf '%s\n' "$DIGEST" > "$APPLIED"
log "settings ${DIGEST:0:12} in place on $NODE_NAME"
