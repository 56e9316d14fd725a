#!/usr/bin/env bash
# MCP Inspector CLI (pinned, --cli mode) against $MCP_URL: tools/list, then one tools/call of
# get_task_status for the task id given as $1. Fails on a transport/JSON-RPC error (the CLI
# exits non-zero) and on a tool result with isError: true (the CLI exits 0 on those).
# Usage: MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=... infra/mcp/inspector.sh TASK_ID
set -euo pipefail
# shellcheck source=infra/mcp/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[[ $# == 1 && -n $1 ]] || { echo "usage: MCP_URL=... MCP_API_KEY=... $0 TASK_ID" >&2; exit 2; }
mcp_need_env MCP_URL MCP_API_KEY
"$MCP_DIR/install.sh"
mcp_node_path
task_id=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

inspect() { # inspect OUTFILE ARGS...: one CLI call; its JSON goes to OUTFILE
  local file=$1
  shift
  mcp-inspector --cli "$MCP_URL" --transport http --header "X-API-Key: $MCP_API_KEY" "$@" >"$file" 2>"$file.err"
}

# check NAME FILE CONDITION DETAIL: PASS/FAIL from Python expressions over the CLI's JSON
# output `doc` (and `want`, the task id).
check() {
  WANT=$task_id "$MCP_VENV/bin/python" - "$@" <<'PY'
import json, os, sys
name, path, condition, detail = sys.argv[1:5]
scope = {"doc": json.load(open(path)), "want": os.environ["WANT"]}
ok = bool(eval(condition, scope))
print(("PASS " if ok else "FAIL ") + name + " - " + " ".join(str(eval(detail, scope)).split())[:300])
sys.exit(0 if ok else 1)
PY
}

status=0
if inspect "$out/list.json" --method tools/list; then
  check "inspector tools/list" "$out/list.json" \
    '"get_task_status" in [t["name"] for t in doc.get("tools", [])]' \
    '[t["name"] for t in doc.get("tools", [])]' || status=1
else
  echo "FAIL inspector tools/list - $(tail -n 3 "$out/list.json.err" | tr '\n' ' ')"
  status=1
fi

# A JSON-quoted value: the CLI JSON-parses --tool-arg values, so a bare all-digit id would become a number.
quoted=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$task_id")
if inspect "$out/call.json" --method tools/call --tool-name get_task_status --tool-arg "task_id=$quoted"; then
  check "inspector tools/call get_task_status" "$out/call.json" \
    'not doc.get("isError") and (doc.get("structuredContent") or {}).get("task_id", want) == want' \
    'doc.get("structuredContent") or doc.get("content")' || status=1
else
  echo "FAIL inspector tools/call get_task_status - $(tail -n 3 "$out/call.json.err" | tr '\n' ' ')"
  status=1
fi
exit $status
