# shellcheck shell=bash
# Sourced by node-bootstrap.sh on control planes: whether this node runs `kubeadm init`
# or joins, through which peer, and removing what a previous incarnation of this node
# left in the cluster. A control plane's identity is its address, never its index.
# Uses from the caller: ROOT, SECRETS, NODE_IP, NODE_NAME, API_DNS_NAME,
# CONTROL_PLANE_PEERS, FIRST_CONTROL_PLANE, PYTHON, NETWORK_ATTEMPTS, log, fail, retry; sets
# KUBERNETES_VERSION and KUBERNETES_MINOR when it joins a cluster at another version.

API_PORT="${API_PORT:-6443}"
ETCD_CLIENT_PORT="${ETCD_CLIENT_PORT:-2379}"
PEER_WAIT_SECONDS="${PEER_WAIT_SECONDS:-900}"
PEER_POLL_SECONDS="${PEER_POLL_SECONDS:-15}"

# A peer serves when its API answers /readyz over TLS with a certificate of our cluster
# CA for the endpoint name (anonymous /readyz: plan/hardening.ts HEALTH_PATHS).
peer_ready() {
  curl -fsS --max-time 5 -o /dev/null --cacert "$SECRETS/pki/ca.crt" \
    --resolve "$API_DNS_NAME:$API_PORT:$1" "https://$API_DNS_NAME:$API_PORT/readyz"
}

# The first peer other than this node whose API serves, or nothing.
serving_peer() {
  local peer
  for peer in ${CONTROL_PLANE_PEERS//,/ }; do
    [ "$peer" = "$NODE_IP" ] && continue
    if peer_ready "$peer"; then echo "$peer"; return 0; fi
  done
  return 1
}

wait_for_serving_peer() {
  local deadline=$(( $(date +%s) + PEER_WAIT_SECONDS )) peer
  until peer="$(serving_peer)"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    log "no control plane serves yet (peers: $CONTROL_PLANE_PEERS); again in ${PEER_POLL_SECONDS}s"
    sleep "$PEER_POLL_SECONDS"
  done
  echo "$peer"
}

# Sets KUBEADM_ACTION (init | join) and, to join, JOIN_VIA (a serving peer's address).
# Only the first control plane may init, and only while Pulumi has not recorded that
# the cluster exists (the cluster-initialized parameter, fetched with the secrets) and
# no peer serves: a replaced first control plane joins like any other, so it never
# builds a second cluster beside a living one.
choose_control_plane_action() {
  JOIN_VIA=""
  if JOIN_VIA="$(serving_peer)"; then
    KUBEADM_ACTION="join"
  elif [ "$FIRST_CONTROL_PLANE" = yes ] && [ ! -f "$SECRETS/cluster-initialized" ]; then
    KUBEADM_ACTION="init"
  else
    [ -f "$SECRETS/cluster-initialized" ] && log "the cluster exists: waiting for a control plane that serves, to join through it"
    JOIN_VIA="$(wait_for_serving_peer)" \
      || fail "no control plane among $CONTROL_PLANE_PEERS served within ${PEER_WAIT_SECONDS}s; this node joins an existing cluster and needs one that serves"
    KUBEADM_ACTION="join"
  fi
  log "control plane: kubeadm $KUBEADM_ACTION${JOIN_VIA:+ through $JOIN_VIA}"
}

# A short-lived client certificate signed by a CA this node holds (kubeadm places the
# cluster's CAs on every control plane), for the clean-up calls below.
client_cert() {
  local ca="$1" out="$2" subject="$3"
  (umask 077 && openssl req -new -newkey rsa:2048 -nodes -keyout "$out.key" -subj "$subject" -out "$out.csr" 2>/dev/null)
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > "$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 1 -extfile "$out.ext" -out "$out.crt" 2>/dev/null
  rm -f "$out.csr" "$out.ext"
}

# The Kubernetes version the cluster runs: kubeadm-config's kubernetesVersion, read through
# the peer this node joins by, with a short-lived admin certificate from the CA in its
# secrets (/api/v1/namespaces/kube-system/configmaps/kubeadm-config, data key
# ClusterConfiguration, which `kubeadm upgrade apply` moves: kubernetes/website
# kubeadm-reconfigure.md). Prints X.Y.Z.
cluster_kubernetes_version() {
  local via="$1" json
  client_cert "$SECRETS/pki/ca" "$SECRETS/version-client" "/O=kubeadm:cluster-admins/CN=kubeadm-alicloud-bootstrap"
  json="$(curl -fsS --max-time 10 --cacert "$SECRETS/pki/ca.crt" \
    --cert "$SECRETS/version-client.crt" --key "$SECRETS/version-client.key" \
    --resolve "$API_DNS_NAME:$API_PORT:$via" \
    "https://$API_DNS_NAME:$API_PORT/api/v1/namespaces/kube-system/configmaps/kubeadm-config")" || return 1
  printf '%s' "$json" | "$PYTHON" -c '
import json, re, sys
text = json.load(sys.stdin).get("data", {}).get("ClusterConfiguration", "")
m = re.search(r"^kubernetesVersion:\s*v?([0-9]+\.[0-9]+\.[0-9]+)\s*$", text, re.M)
if not m:
    sys.exit("kubeadm-config names no kubernetesVersion")
print(m.group(1))
'
}

# A joining control plane installs the version the cluster runs, not the one its user data
# names: Pulumi keeps a control plane's user data from its creation (ignoreChanges, also for
# a replacement), so a replaced one's may be older than the cluster, and one created while an
# upgrade waits names the target; kubeadm join and the kubelet must not be newer than the
# cluster, nor lag it (kubernetes/website version-skew-policy.md).
join_at_cluster_version() {
  local version
  version="$(retry "$NETWORK_ATTEMPTS" cluster_kubernetes_version "$1")" \
    || fail "could not read the Kubernetes version the cluster runs (kube-system/kubeadm-config through $1)"
  if [ "$version" != "$KUBERNETES_VERSION" ]; then
    log "the cluster runs Kubernetes $version; this node joins at it, not at the $KUBERNETES_VERSION its user data names"
    KUBERNETES_VERSION="$version"
    # shellcheck disable=SC2034 # read by packages.sh (the repository of this minor)
    KUBERNETES_MINOR="${version%.*}"
  fi
}

# etcd's JSON gateway on the client port (etcd 3.6 api/etcdserverpb/rpc.proto:
# POST /v3/cluster/member/list and /v3/cluster/member/remove; IDs are decimal strings).
etcd_call() {
  curl -fsS --max-time 10 --cacert "$ROOT/etc/kubernetes/pki/etcd/ca.crt" \
    --cert "$SECRETS/etcd-client.crt" --key "$SECRETS/etcd-client.key" \
    -X POST -d "$3" "https://$1:$ETCD_CLIENT_PORT/v3/cluster/$2"
}

# Remove the etcd member registered with this node's peer URL: the member of the
# instance this one replaces (same fixed address), or of this node's own failed join.
# kubeadm would otherwise reuse that member (cmd/kubeadm/app/util/etcd/etcd.go,
# addMember: an existing peer URL is not added again) and start an empty etcd under
# an identity the cluster remembers with data.
remove_own_etcd_member() {
  local via="$1" members ids id
  client_cert "$ROOT/etc/kubernetes/pki/etcd/ca" "$SECRETS/etcd-client" "/CN=kubeadm-alicloud-bootstrap"
  members="$(etcd_call "$via" member/list '{}')" || fail "could not list etcd members through $via"
  ids="$(printf '%s' "$members" | "$PYTHON" -c '
import json, sys
peer = "https://%s:2380" % sys.argv[1]
for m in json.load(sys.stdin).get("members", []):
    if peer in m.get("peerURLs", []):
        print(m["ID"])
' "$NODE_IP")" || fail "could not read etcd's member list"
  for id in $ids; do
    log "removing etcd member $id (peer https://$NODE_IP:2380), left by an earlier instance at this address"
    etcd_call "$via" member/remove "{\"ID\": \"$id\"}" >/dev/null || fail "could not remove etcd member $id through $via"
  done
}

# Delete the Node objects of earlier instances at this address, and this node's own
# from a failed attempt: kubeadm join refuses a Ready Node of the same name
# (cmd/kubeadm/app/cmd/phases/join/kubelet.go), and a dead instance's Node would stay.
remove_own_nodes() {
  local via="$1" names name
  client_cert "$ROOT/etc/kubernetes/pki/ca" "$SECRETS/admin-client" "/O=kubeadm:cluster-admins/CN=kubeadm-alicloud-bootstrap"
  local kubectl_args=(--server "https://$via:$API_PORT" --certificate-authority "$ROOT/etc/kubernetes/pki/ca.crt"
    --client-certificate "$SECRETS/admin-client.crt" --client-key "$SECRETS/admin-client.key" --request-timeout 10s)
  names="$(kubectl "${kubectl_args[@]}" get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')" \
    || fail "could not list Nodes through $via"
  while read -r name address; do
    [ -n "$name" ] || continue
    if [ "$name" = "$NODE_NAME" ] || [ "$address" = "$NODE_IP" ]; then
      log "deleting Node $name ($address), left by an earlier instance or attempt at this address"
      kubectl "${kubectl_args[@]}" delete node "$name" --wait=false >/dev/null || fail "could not delete Node $name"
    fi
  done <<< "$names"
}
