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

case "$name" in
  curl)
    url="" out=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) out="$2"; shift 2 ;;
        -H | -X | --max-time) shift 2 ;;
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
      */meta-data/private-ipv4) printf '10.0.0.21' ;;
      *) if [ -n "$out" ]; then printf 'key for %s\n' "$url" > "$out"; fi ;;
    esac ;;
  apt-get)
    if [ "${1:-}" = update ] && [ "$(count apt-update)" -le "${STUB_APT_FAIL_TIMES:-0}" ]; then
      echo "E: Failed to fetch mirror" >&2; exit 100
    fi ;;
  kubeadm)
    case "${1:-}" in
      config) printf '%s/kube-apiserver:%s\n%s/pause:3.10.1\n%s/etcd:3.6.5-0\n' "$7" "$5" "$7" "$7" ;;
      init | join)
        if [ "$(count kubeadm-run)" -le "${STUB_KUBEADM_FAIL_TIMES:-0}" ]; then
          echo "[ERROR] stub: $1 failed" >&2
          mkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes"; touch "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/kubelet.conf"
          exit 1
        fi
        cp "$3" "$STUB_STATE/kubeadm-config-used.yaml"
        mkdir -p "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes"; touch "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes/kubelet.conf" ;;
      reset) rm -rf "$KUBEADM_ALICLOUD_ROOT/etc/kubernetes" ;;
    esac ;;
  kubectl)
    case "$*" in
      *--raw=/readyz*) if [ "$(count readyz)" -le "${STUB_READYZ_FAIL_TIMES:-0}" ]; then exit 1; fi; echo ok ;;
      *"get nodes"*) printf 'node/cn-hangzhou.i-bp1stub0001\n' ;;
    esac ;;
  *) ;; # apt-mark dnf modprobe sysctl swapoff systemctl sleep: record only
esac
exit 0
