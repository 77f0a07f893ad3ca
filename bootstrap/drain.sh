#!/usr/bin/env bash
# Drain one node, run by Cloud Assistant on a control plane (where the cluster's
# credentials already are; never on the worker being drained). The one drain of this
# project: the staged rollout and the scale-in lifecycle hook both run it.
#
# Arguments: NODE_NAME BUDGET_SECONDS. Cordons the node, then evicts its pods through the
# Eviction API with `kubectl drain`, which honours PodDisruptionBudgets (an eviction a
# budget forbids is answered 429 and retried every 5 s until --timeout:
# kubernetes/kubectl pkg/drain/drain.go evictPods, release-1.32). DaemonSet pods stay;
# emptyDir data goes with its pod; a pod no controller would recreate blocks the drain
# (no --force). The caller's Cloud Assistant Timeout must exceed BUDGET_SECONDS plus
# DRAIN_MARGIN_SECONDS (plan/drain.ts).
#
# Exit 0: drained. Exit 3: the budget ran out or a pod cannot be evicted; the node is
# uncordoned again (unless KUBEADM_ALICLOUD_KEEP_CORDONED=yes, for a node about to be
# removed anyway) and the output names the pods and budgets that blocked it. Exit 4: the
# drain could not start (API unreachable, no such node), or its end could not be recorded
# (the annotation kubeadm-alicloud.io/drained=true, set on success, dropped on failure).
# Exit 2: bad arguments.
# The last line is always one `kubeadm-alicloud-drain: {json}` result for the caller.
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
NODE="${1:-}"
BUDGET="${2:-}"
KUBECONFIG_FILE="${KUBEADM_ALICLOUD_KUBECONFIG:-$ROOT/etc/kubernetes/admin.conf}"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"
DRAINED="kubeadm-alicloud.io/drained"
KEEP_CORDONED="${KUBEADM_ALICLOUD_KEEP_CORDONED:-no}"

result() { # OK REASON PODS BUDGETS
  printf 'kubeadm-alicloud-drain: {"node":"%s","ok":%s,"reason":"%s","pods":[%s],"budgets":[%s]}\n' \
    "$NODE" "$1" "$2" "$3" "$4"
}

if ! [[ "$NODE" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || ! [[ "$BUDGET" =~ ^[0-9]+$ ]] || [ "$BUDGET" -lt 1 ]; then
  echo "usage: drain.sh NODE_NAME BUDGET_SECONDS" >&2
  result false "usage" "" ""
  exit 2
fi
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/drain-$NODE.log"
exec > >(tee -a "$LOG") 2>&1

kube() {
  kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"
}

# JSON strings of "namespace/name" items, comma separated.
quoted() { sed -e 's/.*/"&"/' | paste -sd, -; }

echo "kubeadm-alicloud: draining $NODE within ${BUDGET}s ($(date -u +%FT%TZ))"
if ! kube cordon "$NODE"; then
  echo "kubeadm-alicloud: cannot cordon $NODE: the drain did not start"
  result false "cannot start" "" ""
  exit 4
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if kube drain "$NODE" --ignore-daemonsets --delete-emptydir-data --grace-period=-1 \
  --timeout="${BUDGET}s" 2>&1 | tee "$out"; then
  # Recorded on the node: a cordon alone may be a drain killed halfway, and the rollout
  # removes a replaced node only once this says its drain finished (plan/rollout/pool.ts).
  if ! kube annotate node "$NODE" --overwrite "$DRAINED=true"; then
    echo "kubeadm-alicloud: drained $NODE, but could not record it on the node"
    result false "cannot record" "" ""
    exit 4
  fi
  echo "kubeadm-alicloud: drained $NODE"
  result true "drained" "" ""
  exit 0
fi

# Which pods held it: those kubectl could not evict (a budget's 429), and those it refused
# to touch (no controller, local storage without --delete-emptydir-data).
pods="$(
  {
    sed -n 's/.*error when evicting pods\/"\([^"]*\)" -n "\([^"]*\)".*/\2\/\1/p' "$out"
    sed -n 's/^cannot delete .*): \(.*\)$/\1/p' "$out" | tr ',' '\n' | sed 's/^ *//'
  } | grep -v '^$' | sort -u || true
)"
# The budgets in those pods' namespaces that allow no disruption now.
budgets=""
for ns in $(printf '%s\n' "$pods" | sed -n 's/\/.*//p' | sort -u); do
  budgets+="$(kube get poddisruptionbudgets -n "$ns" \
    -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' \
    2>/dev/null || true)"$'\n'
done
budgets="$(printf '%s' "$budgets" | grep -v '^$' | sort -u || true)"
echo "kubeadm-alicloud: drain of $NODE failed (budget ${BUDGET}s)"
echo "blocked by pods: ${pods:-none named by kubectl}"
echo "budgets allowing no disruption: ${budgets:-none}"
kube annotate node "$NODE" "$DRAINED-" >/dev/null 2>&1 || true
if [ "$KEEP_CORDONED" != "yes" ]; then
  kube uncordon "$NODE" || echo "kubeadm-alicloud: could not uncordon $NODE"
fi
result false "blocked" "$(printf '%s' "$pods" | quoted)" "$(printf '%s' "$budgets" | quoted)"
exit 3
