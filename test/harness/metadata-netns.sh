#!/usr/bin/env bash
# Run a command with fake-ecs.py playing both the ECS API (127.0.0.1) and the ECS
# metadata service at its real address, 100.100.100.200:80, which the credential
# library does not let anyone override. Only inside a private network namespace:
#   unshare -rn metadata-netns.sh CONFIG DIR -- COMMAND...
# DIR receives ecs.jsonl and metadata.jsonl (the request logs).
set -euo pipefail
config="$1" dir="$2"
shift 3
here="$(cd "$(dirname "$0")" && pwd)"
ip link set lo up
ip addr add 100.100.100.200/32 dev lo
python3 "$here/fake-ecs.py" "$config" "$dir/metadata.jsonl" "$dir/metadata.port" --host 100.100.100.200 --port 80 --metadata &
metadata=$!
python3 "$here/fake-ecs.py" "$config" "$dir/ecs.jsonl" "$dir/ecs.port" &
api=$!
trap 'kill "$metadata" "$api" 2>/dev/null || true' EXIT
for _ in $(seq 1 500); do
  if [ -f "$dir/metadata.port" ] && [ -f "$dir/ecs.port" ]; then break; fi
  sleep 0.02
done
KUBEADM_ALICLOUD_ECS_ENDPOINT="http://127.0.0.1:$(cat "$dir/ecs.port")"
export KUBEADM_ALICLOUD_ECS_ENDPOINT
"$@"
