#!/usr/bin/env bash
# Proves the README line `npx mcp-remote <url>/mcp --header "X-API-Key:<key>"` works: runs
# exactly that (the pinned mcp-remote, no download) as a stdio child, sends initialize,
# notifications/initialized and tools/list over its stdin, and expects the mcpflow tools back.
# Usage: MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=... infra/mcp/mcp_remote_check.sh
#   MCP_REMOTE_TIMEOUT  seconds for the whole exchange (default 60)
set -euo pipefail
# shellcheck source=infra/mcp/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mcp_need_env MCP_URL MCP_API_KEY
"$MCP_DIR/install.sh"
mcp_node_path
cd "$MCP_NODE_DIR" # so npx resolves the pinned local mcp-remote; --no: never download one

"$MCP_VENV/bin/python" - npx --no mcp-remote "$MCP_URL" --header "X-API-Key:$MCP_API_KEY" <<'PY'
"""Tiny stdio MCP driver: newline-delimited JSON-RPC to the mcp-remote child."""
import json, os, subprocess, sys, threading, time

EXPECTED = {"create_task", "get_task_status", "get_task_result"}
deadline = time.monotonic() + float(os.environ.get("MCP_REMOTE_TIMEOUT", "60"))
stderr_tail: list[str] = []
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
threading.Thread(target=lambda: [stderr_tail.append(l.rstrip()) for l in child.stderr], daemon=True).start()
lines: list[str] = []
threading.Thread(target=lambda: [lines.append(l) for l in child.stdout], daemon=True).start()


def send(message: dict) -> None:
    child.stdin.write(json.dumps(message) + "\n")
    child.stdin.flush()


def wait_for(msg_id: int) -> dict:
    seen = 0
    while time.monotonic() < deadline and child.poll() is None:
        while seen < len(lines):
            line, seen = lines[seen], seen + 1
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("id") == msg_id:
                return message
        time.sleep(0.05)
    raise TimeoutError(f"no answer to request {msg_id} (child exit {child.poll()})")


def verdict(ok: bool, name: str, detail: str) -> bool:
    print(("PASS " if ok else "FAIL ") + name + " - " + " ".join(detail.split())[:300], flush=True)
    return ok


ok = False
try:
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "mcpflow-mcp-remote-check", "version": "0"}}})
    init = wait_for(1)
    if verdict("result" in init, "mcp-remote initialize",
               json.dumps(init.get("result", {}).get("serverInfo") or init.get("error"))):
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        listed = wait_for(2)
        names = {t.get("name") for t in listed.get("result", {}).get("tools", [])}
        ok = verdict(EXPECTED <= names, "mcp-remote tools/list",
                     f"{sorted(names)}" if names else json.dumps(listed.get("error")))
except Exception as exc:  # noqa: BLE001
    verdict(False, "mcp-remote stdio exchange", f"{type(exc).__name__}: {exc}")
finally:
    child.stdin.close()
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait(5)
if not ok:
    print("mcp-remote stderr (last lines):\n  " + "\n  ".join(stderr_tail[-15:]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
