#!/usr/bin/env bash
# Every MCP client check against a running stack: the official Python SDK, the conformance suite,
# the MCP Inspector CLI and mcp-remote (the README's Claude Desktop line).
# Usage: MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=... infra/mcp/check.sh
set -euo pipefail
# shellcheck source=infra/mcp/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mcp_need_env MCP_URL MCP_API_KEY
"$MCP_DIR/install.sh"

log "== official Python SDK (mcp, pinned)"
# Strict: a check that skips (a capability no longer advertised, say) fails instead of passing quietly.
MCP_STRICT=1 "$MCP_VENV/bin/python" "$MCP_DIR/python_sdk_test.py"

log "== the README's Python example, run as printed there"
"$MCP_VENV/bin/python" - "$MCP_DIR/readme_example.py" "$MCP_DIR/../../README.md" <<'PY'
import sys
example, readme = (open(p).read().rstrip("\n") for p in sys.argv[1:3])
sys.exit(0 if f"```python\n{example}\n```" in readme else "README.md's Python block differs from infra/mcp/readme_example.py")
PY
MCPFLOW_URL="$MCP_URL" MCPFLOW_KEY="$MCP_API_KEY" "$MCP_VENV/bin/python" "$MCP_DIR/readme_example.py" | grep -q 'capital of France'

log "== conformance suite (@modelcontextprotocol/conformance, pinned)"
"$MCP_DIR/conformance.sh"

log "== MCP Inspector CLI"
# A task of our own for the Inspector to read.
created=$(curl -sf "$MCP_URL" -H "X-API-Key: $MCP_API_KEY" -H 'content-type: application/json' \
  -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_task","arguments":{"prompt":"inspector check"}}}')
task_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["task_id"])' <<<"$created")
"$MCP_DIR/inspector.sh" "$task_id"

log "== mcp-remote (the Claude Desktop bridge)"
"$MCP_DIR/mcp_remote_check.sh"
