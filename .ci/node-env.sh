#!/usr/bin/env bash
# Source this file: it puts Node.js 22 (the oldest line the Pulumi SDK we pin
# supports) first on PATH. If the machine's node is older, the official Node.js
# build is installed from the npm registry package `node-linux-<arch>` into
# .ci/tools (ignored by git), once.
NODE_PIN="22.23.3"
_ci_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_node_major)" -lt 22 ]; then
  # npm finds its global config next to the node that runs it; keep the machine's
  # (registry, CA file) when switching to the Node installed below.
  _global_npmrc="$(npm config get globalconfig 2>/dev/null || true)"
  if [ -n "$_global_npmrc" ] && [ -f "$_global_npmrc" ]; then
    export NPM_CONFIG_GLOBALCONFIG="$_global_npmrc"
  fi
  _tools="$_ci_dir/tools"
  case "$(uname -m)" in
    x86_64) _arch=x64 ;;
    aarch64) _arch=arm64 ;;
    *) echo "node-env: unsupported architecture $(uname -m)" >&2; return 1 ;;
  esac
  _bin="$_tools/node_modules/node-linux-$_arch/bin"
  if [ ! -x "$_bin/node" ] || [ "$("$_bin/node" --version)" != "v$NODE_PIN" ]; then
    mkdir -p "$_tools"
    for _try in 1 2 3; do
      npm install --prefix "$_tools" --no-save --no-audit --no-fund --loglevel=error \
        "node-linux-$_arch@$NODE_PIN" && break
      echo "node-env: npm install failed (try $_try), retrying" >&2
      sleep $((_try * 5))
    done
  fi
  export PATH="$_bin:$PATH"
fi
unset -f _node_major
