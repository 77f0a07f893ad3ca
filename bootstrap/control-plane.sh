# shellcheck shell=bash
# Sourced by node-bootstrap.sh on control planes: whether this node runs `kubeadm init`
# or joins, through which peer, and removing what a previous incarnation of this node
# left in the cluster. A control plane's identity is its address, never its index.
# Uses from the caller: ROOT, SECRETS, NODE_IP, NODE_NAME, API_DNS_NAME,
# CONTROL_PLANE_PEERS, FIRST_CONTROL_PLANE, PYTHON, log, fail.

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
