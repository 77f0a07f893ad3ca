#!/usr/bin/env bash
# Scale-in of one pool node, run by Cloud Assistant on a control plane (where the
# cluster's credentials already are) while ESS holds the instance in its scale-in
# lifecycle hook (plan/scale-in.ts builds the OOS template that runs this).
#
# Arguments: INSTANCE_ID REGION BUDGET_SECONDS. The node is `<region>.<instance-id>`
# (bootstrap/node-bootstrap.sh names nodes so). Drains it with the one drain
# (KUBEADM_ALICLOUD_DRAIN_SCRIPT, bootstrap/drain.sh), leaving it cordoned if the drain
# fails, then deletes the Node object.
#
# Exit 0: drained and deleted, or no such node (a rerun, or a node that never joined).
# Exit 3: the drain ran out of budget (drain.sh's result names the pods and budgets); the
# Node stays, cordoned: once ESS has released the instance, the cloud-controller-manager
# deletes a Node whose instance is gone and whose Ready condition is Unknown
# (kubernetes/cloud-provider-alibaba-cloud v2.14.0 pkg/controller/node/node_controller.go:333-341).
# Exit 4: the drain could not start (the API does not answer). Exit 5: drained, but the
# Node could not be deleted. Exit 2: bad arguments.
set -euo pipefail
ROOT="${KUBEADM_ALICLOUD_ROOT:-}"
INSTANCE="${1:-}"
REGION="${2:-}"
BUDGET="${3:-}"
DRAIN="${KUBEADM_ALICLOUD_DRAIN_SCRIPT:-}"
KUBECONFIG_FILE="${KUBEADM_ALICLOUD_KUBECONFIG:-$ROOT/etc/kubernetes/admin.conf}"
LOG_DIR="$ROOT/var/log/kubeadm-alicloud"

if ! [[ "$INSTANCE" =~ ^i-[a-z0-9]+$ ]] || ! [[ "$REGION" =~ ^[a-z0-9-]+$ ]] \
  || ! [[ "$BUDGET" =~ ^[0-9]+$ ]] || [ ! -f "$DRAIN" ]; then
  echo "usage: KUBEADM_ALICLOUD_DRAIN_SCRIPT=drain.sh scale-in-drain.sh INSTANCE_ID REGION BUDGET_SECONDS" >&2
  exit 2
fi
NODE="$REGION.$INSTANCE"
mkdir -p "$LOG_DIR"
exec > >(tee -a "$LOG_DIR/scale-in-$NODE.log") 2>&1

kube() {
  kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"
}

echo "kubeadm-alicloud: scale-in of $NODE ($(date -u +%FT%TZ))"
if ! err="$(kube get node "$NODE" -o name 2>&1)"; then
  if [[ "$err" == *NotFound* ]]; then
    echo "kubeadm-alicloud: no node $NODE: nothing to drain"
    exit 0
  fi
  echo "kubeadm-alicloud: the API did not answer: $err"
  exit 4
fi

rc=0
KUBEADM_ALICLOUD_KEEP_CORDONED=yes KUBEADM_ALICLOUD_KUBECONFIG="$KUBECONFIG_FILE" \
  KUBEADM_ALICLOUD_ROOT="$ROOT" bash "$DRAIN" "$NODE" "$BUDGET" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "kubeadm-alicloud: scale-in of $NODE: the drain failed (exit $rc); the node stays cordoned"
  exit "$rc"
fi
if ! kube delete node "$NODE" --wait=false; then
  echo "kubeadm-alicloud: $NODE is drained but its Node could not be deleted"
  exit 5
fi
echo "kubeadm-alicloud: $NODE drained and deleted"
