#!/usr/bin/env bash
# One stub for every system command the bootstrap script calls; it is linked under
# each command's name. It records "<name> <args>" in $STUB_CALLS and imitates the
# command just enough, with failures injected by STUB_* variables (see harness.ts).
set -euo pipefail
name="$(basename "$0")"
printf '%s %s\n' "$name" "$*" >> "$STUB_CALLS"

# count NAME: how many times this key has been seen (including now).
count() {
  local f="$STUB_STATE/count-$1"
  local n=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$f"
  echo "$n"
}

# STUB_FAIL_MATCH: any call whose "<name> <args>" contains it fails (exit 1).
if [ -n "${STUB_FAIL_MATCH:-}" ] && [[ "$name $*" == *"$STUB_FAIL_MATCH"* ]]; then
  echo "stub: $name failed" >&2; exit 1
fi

case "$name" in
  curl)
    url="" out="" resolve="" data=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) out="$2"; shift 2 ;;
        --resolve) resolve="$2"; shift 2 ;;
        -d) data="$2"; shift 2 ;;
        -H | -X | --max-time | --cacert | --cert | --key) shift 2 ;;
        -*) shift ;;
        *) url="$1"; shift ;;
      esac
    done
    if [ -n "${STUB_CURL_FAIL_MATCH:-}" ] && [[ "$url" == *"$STUB_CURL_FAIL_MATCH"* ]] && [ "$(count "curl-$STUB_CURL_FAIL_MATCH")" -le "${STUB_CURL_FAIL_TIMES:-1}" ]; then
      echo "curl: (6) Could not resolve host" >&2; exit 6
    fi
    case "$url" in
      */latest/api/token) printf 'metadata-token' ;;
      */meta-data/region-id) printf 'cn-hangzhou' ;;
      */meta-data/instance-id) printf 'i-bp1stub0001' ;;
      */meta-data/private-ipv4) printf '%s' "${STUB_NODE_IP:-10.0.0.21}" ;;
      # A control plane's /readyz: STUB_SERVING_PEERS lists the addresses that serve.
      # The kubelet's healthz: failing while its config.yaml holds STUB_KUBELET_UNHEALTHY_MATCH.
      *:10248/healthz)
        if [ -n "${STUB_KUBELET_UNHEALTHY_MATCH:-}" ] && grep -q "$STUB_KUBELET_UNHEALTHY_MATCH" "$KUBEADM_ALICLOUD_ROOT/var/lib/kubelet/config.yaml"; then
          echo "curl: (7) Failed to connect" >&2; exit 7
        fi
        printf 'ok' ;;
      */readyz) [[ ",${STUB_SERVING_PEERS:-}," == *",${resolve##*:},"* ]] || { echo "curl: (7) Failed to connect" >&2; exit 7; } ;;
      # A peer's kube-system/kubeadm-config, read by a joining control plane: kubernetesVersion is
      # STUB_CLUSTER_VERSION, else the version the node's own node.env names.
      */api/v1/namespaces/kube-system/configmaps/kubeadm-config)
        v="${STUB_CLUSTER_VERSION:-$(sed -n 's/^KUBERNETES_VERSION=//p' "$KUBEADM_ALICLOUD_ROOT/etc/kubeadm-alicloud/node.env")}"
        printf '{"kind":"ConfigMap","data":{"ClusterConfiguration":"apiVersion: kubeadm.k8s.io/v1beta4\\nkind: ClusterConfiguration\\nkubernetesVersion: v%s\\n"}}' "$v" ;;
      # etcd's gateway: members from STUB_ETCD_MEMBERS ("id=peerURL,..."); removals recorded.
      */v3/cluster/member/list)
        printf '{"members":['; sep=""
        members="${STUB_ETCD_MEMBERS:-},$(tr '\n' ',' < "$STUB_STATE/etcd-added" 2>/dev/null || true)"
        for m in ${members//,/ }; do
          grep -qx "${m%%=*}" "$STUB_STATE/etcd-removed" 2>/dev/null && continue
          printf '%s{"ID":"%s","peerURLs":["%s"]}' "$sep" "${m%%=*}" "${m#*=}"; sep=","
        done
        printf ']}' ;;
      */v3/cluster/member/remove) sed -n 's/.*"ID": *"\([0-9]*\)".*/\1/p' <<< "$data" >> "$STUB_STATE/etcd-removed"; printf '{}' ;;
      *) if [ -n "$out" ]; then printf 'key for %s\n' "$url" > "$out"; fi ;;
    esac ;;
  apt-get)
    if [[ " $* " == *" update "* ]] && [ "$(count apt-update)" -le "${STUB_APT_FAIL_TIMES:-0}" ]; then
      echo "E: Failed to fetch mirror" >&2; exit 100
    fi ;;
  kubeadm)
    case "${1:-}" in
      config) printf '%s/kube-apiserver:%s\n%s/pause:3.10.1\n%s/etcd:3.6.5-0\n' "$7" "$5" "$7" "$7" ;;
      init | join)
        if [ "${2:-}" = phase ]; then
          # reconfigure-control-plane.sh: `init phase certs apiserver` signs a certificate (real
          # openssl) naming the config's certSANs and advertiseAddress; `init phase control-plane
          # all` writes manifests from the config: image, advertise address, the API server's flags.
          config="" prev=""
          for a in "$@"; do if [ "$prev" = --config ]; then config="$a"; fi; prev="$a"; done
          # `init phase upload-config kubelet`: the config's KubeletConfiguration becomes
          # kube-system/kubelet-config ($STUB_STATE/kubelet-config), with a field kubeadm defaults.
          if [ "$3" = upload-config ]; then
            awk 'function flush() { if (doc ~ /kind: KubeletConfiguration/) printf "%s", doc; doc = "" }
                 /^---$/ { flush(); next } { doc = doc $0 "\n" } END { flush() }' "$config" > "$STUB_STATE/kubelet-config"
            grep -q 'kind: KubeletConfiguration' "$STUB_STATE/kubelet-config" || { echo "error: stub: no KubeletConfiguration" >&2; exit 1; }
            echo "staticPodPath: /etc/kubernetes/manifests" >> "$STUB_STATE/kubelet-config"
            exit 0
          fi
          cp "$config" "$STUB_STATE/kubeadm-phase-config.yaml"
          if [ -n "${STUB_KUBEADM_PHASE_FAIL:-}" ] && [[ "$*" == *"$STUB_KUBEADM_PHASE_FAIL"* ]]; then echo "error: stub: phase failed" >&2; exit 1; fi
          pki="$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/pki" manifests="$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/manifests"
          field() { sed -n "s/^ *$1: *\(.*\)$/\1/p" "$config" | head -n 1; }
          adv="$(field advertiseAddress)" version="$(field kubernetesVersion)" repo="$(field imageRepository)"
          case "$3" in
            certs)
              sans="IP:$adv"
              while read -r n; do
                if [[ "$n" =~ ^[0-9.]+$ ]]; then sans="$sans,IP:$n"; else sans="$sans,DNS:$n"; fi
              done < <(awk '/^ *certSANs:/ {on=1; next} on && /^ *- / {print $2; next} on {exit}' "$config")
              openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/apiserver.key" -out "$pki/apiserver.crt" \
                -subj /CN=kube-apiserver -addext "subjectAltName=$sans" -days 1 2>/dev/null ;;
            control-plane)
              for c in kube-apiserver kube-controller-manager kube-scheduler; do
                {
                  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n  - command:\n    - %s\n' "$c" "$c"
                  if [ "$c" = kube-apiserver ]; then
                    printf '    - --advertise-address=%s\n' "$adv"
                    awk '/^apiServer:/ {on=1} on && /^[a-z]/ && !/^apiServer:/ {exit} on && /- name:/ {n=$3} on && /value:/ {gsub(/"/, "", $2); print "    - --" n "=" $2}' "$config"
                  fi
                  printf '    image: %s/%s:%s\n' "$repo" "$c" "$version"
                } > "$manifests/$c.yaml"
              done ;;
          esac
          exit 0
        fi
        if [ "$(count kubeadm-run)" -le "${STUB_KUBEADM_FAIL_TIMES:-0}" ]; then
          echo "[ERROR] stub: $1 failed" >&2
          # A control plane's failed join may leave its etcd member behind (learner or not).
          if [ -n "${STUB_JOIN_LEAVES_MEMBER:-}" ]; then echo "$((900 + $(count leftover)))=https://${STUB_NODE_IP:-10.0.0.21}:2380" >> "$STUB_STATE/etcd-added"; fi
          mkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes"; touch "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/kubelet.conf"
          exit 1
        fi
        if [ -n "${STUB_KUBEADM_REBOOT_AT:-}" ] && [ "$(count kubeadm-reboot)" -eq "$STUB_KUBEADM_REBOOT_AT" ]; then
          # Power lost in the middle of kubeadm: the script dies with no chance to clean up.
          mkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/manifests"; touch "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/manifests/etcd.yaml"
          # (kubeadm runs under timeout: kill the nearest ancestor that is the bootstrap script.)
          pid=$PPID
          while [ "$pid" -gt 1 ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q kubeadm-alicloud-bootstrap; do
            pid=$(awk '{print $4}' "/proc/$pid/stat")
          done
          [ "$pid" -gt 1 ] && kill -KILL "$pid"
          exit 137
        fi
        config="" skip_print=no
        for a in "$@"; do
          [ "$config" = next ] && config="$a"
          [ "$a" = --config ] && config=next
          [ "$a" = --skip-token-print ] && skip_print=yes
        done
        cp "$config" "$STUB_STATE/kubeadm-config-used.yaml"
        cp "$KUBEADM_ALICLOUD_ROOT/etc/hosts" "$STUB_STATE/hosts-at-kubeadm"
        mkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes"; touch "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/kubelet.conf"
        # Like kubeadm init (cmd/kubeadm/app/cmd/init.go): the join command with each
        # bootstrap token in clear, unless --skip-token-print.
        if [ "$1" = init ] && [ "$skip_print" = no ]; then
          sed -n 's/^ *- token: \(.*\)$/kubeadm join api:6443 --token \1 --discovery-token-ca-cert-hash sha256:x/p' "$config"
        fi ;;
      reset) rm -rf "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes" ;;
      # `upgrade node phase kubelet-config`: kube-system/kubelet-config onto this node's config.yaml.
      upgrade)
        if [ "$*" = "upgrade node phase kubelet-config" ]; then
          mkdir -p "$KUBEADM_ALICLOUD_ROOT/var/lib/kubelet"
          cp "$STUB_STATE/kubelet-config" "$KUBEADM_ALICLOUD_ROOT/var/lib/kubelet/config.yaml"
        fi ;;
      certs) # renew-certs.sh: expiry from STUB_CERT_EXPIRES until a renewal sets STUB_CERT_RENEWED_EXPIRES
        if [ "${2:-}" = renew ]; then
          if [ -n "${STUB_KUBEADM_RENEW_FAIL:-}" ]; then echo "error: stub: renewal failed" >&2; exit 1; fi
          echo "${STUB_CERT_RENEWED_EXPIRES:-2099-01-01T00:00:00Z}" > "$STUB_STATE/cert-expires"
          printf '\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n'
          exit 0
        fi
        # check-expiration -o json, shaped as output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo. The
        # earliest leaf is not listed first; an externally managed leaf and a CA expire even earlier (they
        # must not count) and super-admin.conf is missing (as on a joined control plane).
        e="$(date -u -d "$(cat "$STUB_STATE/cert-expires" 2>/dev/null || echo "${STUB_CERT_EXPIRES:-2099-01-01T00:00:00Z}")" +%s)"
        at() { date -u -d "@$(( e + $1 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ; }
        leaf() { printf '{"name":"%s","expirationDate":"%s","residualTime":0,"externallyManaged":%s,"caName":"ca","missing":false}' "$1" "$(at "$2")" "$3"; }
        printf '{"kind":"CertificateExpirationInfo","apiVersion":"output.kubeadm.k8s.io/v1alpha3","certificates":[%s,%s,%s,%s,%s],"certificateAuthorities":[%s]}\n' \
          "$(leaf admin.conf 1 false)" "$(leaf apiserver 1 false)" "$(leaf etcd-peer 0 false)" "$(leaf front-proxy-client -30 true)" \
          '{"name":"super-admin.conf","expirationDate":null,"residualTime":0,"externallyManaged":false,"missing":true}' \
          "$(printf '{"name":"ca","expirationDate":"%s","residualTime":0,"externallyManaged":false,"missing":false}' "$(at -10)")" ;;
    esac ;;
  kubectl)
    case "$*" in
      *--raw=/readyz*) if [ "$(count readyz)" -le "${STUB_READYZ_FAIL_TIMES:-0}" ]; then exit 1; fi; echo ok ;;
      # control-plane.sh: Nodes as "name=InternalIP,..." (STUB_NODES); deletions recorded by the call log.
      *"get nodes -o jsonpath"*) nodes="${STUB_NODES:-}"; for n in ${nodes//,/ }; do printf '%s %s\n' "${n%%=*}" "${n#*=}"; done ;;
      *"delete node"*) ;;
      # reconfigure-control-plane.sh: kubeadm-config's ClusterConfiguration ($STUB_STATE/kubeadm-config,
      # seeded from STUB_KUBEADM_CONFIG), replaced by a merge patch.
      *"get configmap kubeadm-config"*)
        [ -e "$STUB_STATE/kubeadm-config" ] || printf '%s' "${STUB_KUBEADM_CONFIG:-kubernetesVersion: v1.36.5}" > "$STUB_STATE/kubeadm-config"
        cat "$STUB_STATE/kubeadm-config" ;;
      *"patch configmap kubeadm-config"*)
        python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[-1])["data"]["ClusterConfiguration"])' "$@" > "$STUB_STATE/kubeadm-config" ;;
      # renew-certs.sh: nodes and etcd pods as "name:Ready,..." (STUB_CP_NODES, STUB_ETCD_PODS); a Lease in
      # $STUB_STATE/lease ("holder acquireTime resourceVersion"), optionally held from the start (STUB_LEASE_HOLDER).
      *"get nodes -l node-role.kubernetes.io/control-plane"*) tr ',:' '\n ' <<< "${STUB_CP_NODES:-cn-hangzhou.i-bp1stub0001:True}"; echo ;;
      *"get pods -l component=etcd"*) tr ',:' '\n ' <<< "${STUB_ETCD_PODS:-${STUB_CP_NODES:-cn-hangzhou.i-bp1stub0001:True}}"; echo ;;
      *" lease "* | *"-f -"*)
        lease="$STUB_STATE/lease"
        if [ ! -e "$STUB_STATE/lease-init" ]; then
          touch "$STUB_STATE/lease-init"
          if [ -n "${STUB_LEASE_HOLDER:-}" ]; then echo "$STUB_LEASE_HOLDER ${STUB_LEASE_ACQUIRED:-$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)} 7" > "$lease"; fi
        fi
        field() { sed -n "s/^ *$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$STUB_STATE/lease-request"; }
        case "$*" in
          *"create -f -"*)
            cat > "$STUB_STATE/lease-request"
            if [ -e "$lease" ]; then echo 'Error from server (AlreadyExists): leases.coordination.k8s.io "kubeadm-alicloud-cert-renewal" already exists' >&2; exit 1; fi
            echo "$(field holderIdentity) $(field acquireTime) $(count lease-rv)" > "$lease" ;;
          *"replace -f -"*)
            cat > "$STUB_STATE/lease-request"
            if [ ! -e "$lease" ] || [ "$(field resourceVersion)" != "$(cut -d' ' -f3 "$lease")" ]; then echo "Error from server (Conflict): stub" >&2; exit 1; fi
            echo "$(field holderIdentity) $(field acquireTime) $(count lease-rv)" > "$lease" ;;
          *"get lease"*)
            if [ ! -e "$lease" ]; then echo 'Error from server (NotFound): stub' >&2; exit 1; fi
            if [[ "$*" == *acquireTime* ]]; then cat "$lease"; else cut -d' ' -f1 "$lease"; fi ;;
          *"delete lease"*) rm -f "$lease" ;;
        esac ;;
      *"get node "*)
        # get node NAME: found once STUB_NODE_ABSENT_TIMES lookups failed, and only under
        # STUB_NODE_NAME's name; prints its Ready condition (STUB_NODE_READY).
        if [[ "$*" != *"get node ${STUB_NODE_NAME:-cn-hangzhou.i-bp1stub0001} "* ]] || [ "$(count node-get)" -le "${STUB_NODE_ABSENT_TIMES:-0}" ]; then
          echo "Error from server (NotFound): nodes not found" >&2; exit 1
        fi
        printf '%s' "${STUB_NODE_READY:-False}" ;;
      *"get nodes"*) printf 'node/cn-hangzhou.i-bp1stub0001\n' ;;
    esac ;;
  crictl) # renew-certs.sh: a static pod's container runs while its manifest is in place; each time it was
    # seen stopped it comes back with a new id. Seen transitions are recorded as "crictl-saw <name> <state>".
    # STUB_CRICTL_NEVER_STARTS=<name>: that one does not come back.
    c="" prev=""
    for a in "$@"; do if [ "$prev" = --name ]; then c="${a#^}"; c="${c%\$}"; fi; prev="$a"; done
    gen="$STUB_STATE/crictl-gen-$c"
    # reconfigure-control-plane.sh: a manifest whose content changed is restarted by the kubelet
    # ("crictl-saw <name> restarted"), unless STUB_CRICTL_NEVER_STARTS names it: then nothing runs
    # until the manifest it last ran with is back.
    manifest="$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/manifests/$c.yaml"
    if [ -e "$manifest" ]; then
      sum="$(sha256sum "$manifest" | cut -c1-16)"
      if [ -e "$gen.down" ]; then
        if [ "${STUB_CRICTL_NEVER_STARTS:-}" = "$c" ]; then exit 0; fi
        rm "$gen.down"; echo $(( $(cat "$gen" 2>/dev/null || echo 0) + 1 )) > "$gen"; echo "crictl-saw $c started" >> "$STUB_CALLS"
        echo "$sum" > "$gen.sum"
      elif [ -e "$gen.sum" ] && [ "$(cat "$gen.sum")" != "$sum" ]; then
        if [ "${STUB_CRICTL_NEVER_STARTS:-}" = "$c" ]; then exit 0; fi
        echo $(( $(cat "$gen" 2>/dev/null || echo 0) + 1 )) > "$gen"; echo "crictl-saw $c restarted" >> "$STUB_CALLS"
        echo "$sum" > "$gen.sum"
      fi
      [ -e "$gen.sum" ] || echo "$sum" > "$gen.sum"
      echo "$c-$(cat "$gen" 2>/dev/null || echo 0)"
    elif [ ! -e "$gen.down" ]; then
      touch "$gen.down"; echo "crictl-saw $c stopped" >> "$STUB_CALLS"
    fi ;;
  *) ;; # apt-mark dnf modprobe sysctl swapoff systemctl sleep: record only
esac
exit 0
