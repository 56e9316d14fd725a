#!/usr/bin/env bash
# Runs the pinned MCP conformance suite's server scenarios against $MCP_URL.
# Usage: MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=... infra/mcp/conformance.sh
#   MCP_API_KEY            optional; sent as X-API-Key through a loopback header proxy,
#                          since the suite (0.1.16) has no option for extra headers
#   MCP_CONFORMANCE_PROXY_PORT  fixed port for that proxy (default: any free one); the suite's
#                          browser-like requests then carry Origin http://127.0.0.1:<port>
#   MCP_CONFORMANCE_OUT    results dir (default $MCPFLOW_RUN/conformance/<time>)
#   MCP_CONFORMANCE_FIXTURES=1  register the suite's fixture tools, resources and prompts through
#                          the REST API (fixtures.py; the stack must allow private tool endpoints),
#                          run the scenarios that use them, and delete them after
# Skips the scenarios in conformance-skips.txt, the fixture scenarios without
# MCP_CONFORMANCE_FIXTURES=1, logging-set-level when the server declares no logging capability and
# dns-rebinding-protection when MCP_URL is not loopback. Exits 1 if a run scenario fails.
set -euo pipefail
# shellcheck source=infra/mcp/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mcp_need_env MCP_URL
"$MCP_DIR/install.sh"
mcp_node_path

SKIPS_FILE="$MCP_DIR/conformance-skips.txt"
OUT="${MCP_CONFORMANCE_OUT:-$MCPFLOW_RUN/conformance/$(date +%Y%m%dT%H%M%S)}"
mkdir -p "$OUT"
proxy_pid=
fixtures_pid=

cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null
  # fixtures.py deletes what it registered when told to stop: wait for it.
  if [[ -n $fixtures_pid ]]; then
    kill "$fixtures_pid" 2>/dev/null && wait "$fixtures_pid" 2>/dev/null
  fi
  true
}
trap cleanup EXIT

# start_fixtures: serve the fixture tools' endpoints and register every fixture in the key's tenant.
start_fixtures() {
  local ready="$OUT/fixtures.ready" api=${MCP_URL%/mcp}
  rm -f "$ready"
  python3 "$MCP_DIR/fixtures.py" "$api" "$MCP_API_KEY" "$ready" >"$OUT/fixtures.log" 2>&1 &
  fixtures_pid=$!
  for _ in $(seq 300); do
    [[ -s $ready ]] && break
    kill -0 "$fixtures_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -s $ready ]] || { log "fixtures.py did not register the fixtures; see $OUT/fixtures.log"; cat "$OUT/fixtures.log" >&2; exit 1; }
  log "fixtures: $(<"$ready")"
}

# start_proxy: serve $MCP_URL with X-API-Key added; sets TARGET_URL to the proxy's URL.
start_proxy() {
  local base path portfile="$OUT/proxy.port"
  base=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"{p.scheme}://{p.netloc}")' "$MCP_URL")
  path=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.path + ("?" + p.query if p.query else ""))' "$MCP_URL")
  rm -f "$portfile"
  PROXY_PORT="${MCP_CONFORMANCE_PROXY_PORT:-}" PROXY_HEADER_VALUE="$MCP_API_KEY" python3 "$MCP_DIR/header_proxy.py" "$base" X-API-Key "$portfile" \
    2>"$OUT/proxy.log" &
  proxy_pid=$!
  for _ in $(seq 50); do
    [[ -s $portfile ]] && break
    sleep 0.1
  done
  [[ -s $portfile ]] || { log "header proxy did not start; see $OUT/proxy.log"; exit 1; }
  TARGET_URL="http://127.0.0.1:$(<"$portfile")$path"
}

# server_capabilities: the capability keys of the server's initialize answer, one a line.
server_capabilities() {
  curl -s -m 20 -X POST "$TARGET_URL" -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcpflow-conformance-probe","version":"0"}}}' |
    python3 -c '
import json, sys
text = sys.stdin.read()
data = [l[5:] for l in text.splitlines() if l.startswith("data:")]
doc = json.loads(data[0] if data else text)
print("\n".join(doc.get("result", {}).get("capabilities", {})))' || true
}

is_loopback_url() {
  python3 -c 'import sys, urllib.parse as u; sys.exit(u.urlsplit(sys.argv[1]).hostname not in ("127.0.0.1", "localhost", "::1"))' "$1"
}

declare -A SKIP
load_skips() {
  local line name
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    name=${line%%:*}
    SKIP[$name]=$(echo "${line#*:}" | sed 's/^ *//')
  done <"$SKIPS_FILE"
}

if [[ -n ${MCP_API_KEY:-} ]]; then
  start_proxy
else
  TARGET_URL=$MCP_URL
fi
load_skips
if [[ ${MCP_CONFORMANCE_FIXTURES:-} == 1 ]]; then
  mcp_need_env MCP_API_KEY
  start_fixtures
else
  while IFS= read -r name; do
    SKIP[$name]="uses the suite's fixtures: run with MCP_CONFORMANCE_FIXTURES=1 on a stack that allows private tool endpoints"
  done < <(python3 "$MCP_DIR/fixtures.py" --scenarios)
fi
mapfile -t SCENARIOS < <(conformance list --server | sed -n 's/^  - \([^ ]*\).*/\1/p')
((${#SCENARIOS[@]})) || { log "conformance list --server listed no scenarios"; exit 1; }
for name in "${!SKIP[@]}"; do
  [[ " ${SCENARIOS[*]} " == *" $name "* ]] || log "note: $name in conformance-skips.txt is not a scenario of this suite"
done
caps=$(server_capabilities)
grep -qx logging <<<"$caps" || SKIP[logging-set-level]="server declares no capabilities.logging (logging/setLevel is optional)"
is_loopback_url "$MCP_URL" || SKIP[dns-rebinding-protection]="MCP_URL is not loopback; the scenario applies to localhost servers"

log "conformance $(conformance --version): ${#SCENARIOS[@]} server scenarios against $MCP_URL${MCP_API_KEY:+ (X-API-Key via proxy $TARGET_URL)}; results in $OUT"
passed=() failed=() skipped=()
for scenario in "${SCENARIOS[@]}"; do
  if [[ -n ${SKIP[$scenario]:-} ]]; then
    skipped+=("$scenario: ${SKIP[$scenario]}")
    continue
  fi
  logfile="$OUT/$scenario.log"
  if conformance server --url "$TARGET_URL" --scenario "$scenario" -o "$OUT" >"$logfile" 2>&1; then
    passed+=("$scenario: $(grep -m1 '^Passed:' "$logfile" || echo 'no summary')")
    echo "PASS $scenario - $(grep -m1 '^Passed:' "$logfile" || true)"
  else
    failed+=("$scenario: $(grep -m1 '^Passed:' "$logfile" || echo 'did not run; see log') (log $logfile)")
    echo "FAIL $scenario - $(grep -m1 '^Passed:' "$logfile" || true); see $logfile"
    sed -n '/=== Failed Checks ===/,$p' "$logfile" | grep -E '^  - [A-Za-z]|^    Error:' | sed 's/^/    /' || true
  fi
done

echo
echo "Ran ${#passed[@]} + ${#failed[@]} scenario(s):"
for line in "${passed[@]}"; do echo "  passed  $line"; done
for line in "${failed[@]}"; do echo "  FAILED  $line"; done
echo "Skipped ${#skipped[@]}:"
for line in "${skipped[@]}"; do echo "  skipped $line"; done
echo "${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
((${#failed[@]} == 0))
