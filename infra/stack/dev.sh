#!/usr/bin/env bash
# `make dev`: installs what is missing, starts the emulators, provisions template.yaml's resources,
# runs the functions under `cargo lambda watch` and the local gateway, then waits; Ctrl-C stops it all.
# With --detach it returns once the gateway answers and leaves everything running (tests use this).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=infra/stack/env.sh
source "$here/env.sh"

detach=false
[[ ${1:-} == --detach ]] && detach=true
STACK_NAME="${STACK_NAME:-mcpflow-local}"

"$here/install.sh" stack
log "building the functions and the gateway (first build takes a few minutes)"
(cd "$root" && cargo build --locked --bins -p mcpflow-functions -p local-gateway -p mcpflow-cli)
# The web console, served by the gateway at /console/: the API on its own origin, the WebSocket API
# on WS_PORT of the same host.
CONSOLE_CONFIG="{\"api_url\": \"\", \"ws_port\": $WS_PORT}" "$root/clients/console/build.sh" "$MCPFLOW_RUN/console"

$detach || trap '"$here/stop.sh" all' EXIT
"$here/start.sh" all

gateway="$CARGO_TARGET_DIR/debug/local-gateway"
env_file="$MCPFLOW_RUN/functions.env"
# MCPFLOW_PARAMETERS overrides template parameters, as sam deploy --parameter-overrides does: one
# Name=Value per line (so a value may hold spaces, as a JSON model catalog does).
params=()
while IFS= read -r p; do if [ -n "$p" ]; then params+=(--parameter "$p"); fi; done <<< "${MCPFLOW_PARAMETERS:-}"
(cd "$root" && "$gateway" provision --template template.yaml --stack "$STACK_NAME" --env-file "$env_file" \
  --ws-port "$WS_PORT" "${params[@]}")
log "provisioned stack $STACK_NAME; function environment in $env_file"

# The first admin key of the local tenant, printed once and kept for the tests (mode 600).
table=$(sed -n "s/^TABLE_NAME='\(.*\)'$/\1/p" "$env_file")
created=$("$CARGO_TARGET_DIR/debug/mcpflow" admin create-key --table "$table" --tenant "${MCPFLOW_TENANT:-local}")
admin_key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' <<<"$created")
(umask 077 && printf '%s\n' "$admin_key" >"$MCPFLOW_RUN/admin.key")

if port_busy "$LAMBDA_PORT" && ! pid_alive "$MCPFLOW_RUN/lambda.pid"; then
  log "port $LAMBDA_PORT is busy (cargo lambda watch): stop what uses it or set LAMBDA_PORT"; exit 1
fi
# --ignore-changes in detached runs: a test run must not rebuild under its own feet. Each HTTP
# function runs up to MCPFLOW_HTTP_CONCURRENCY (16) instances at once, as Lambda runs several (an
# agent's long-poll for its next task holds one for up to 20 s).
reload=()
$detach && reload=(--ignore-changes)
(cd "$root" && start_service lambda "$MCPFLOW_RUN/lambda.log" -- \
  cargo lambda watch --quiet "${reload[@]}" --concurrency "${MCPFLOW_HTTP_CONCURRENCY:-16}" \
  -A 127.0.0.1 -P "$LAMBDA_PORT" --env-file "$env_file")
wait_http "http://127.0.0.1:$LAMBDA_PORT/" 60 || { log "cargo lambda watch did not start; see $MCPFLOW_RUN/lambda.log"; exit 1; }

if port_busy "$GATEWAY_PORT" && ! pid_alive "$MCPFLOW_RUN/gateway.pid"; then
  log "port $GATEWAY_PORT is busy (local gateway): stop what uses it or set GATEWAY_PORT"; exit 1
fi
if port_busy "$WS_PORT" && ! pid_alive "$MCPFLOW_RUN/gateway.pid"; then
  log "port $WS_PORT is busy (local gateway's WebSocket API): stop what uses it or set WS_PORT"; exit 1
fi
# The SQS-triggered functions (the task worker) run under the gateway's own host, as Lambda runs
# them: each invocation ends at the function's Timeout, killed with its process, with as many
# instances as the triggers' MaximumConcurrency. MCPFLOW_CHAOS_KILL_RATE kills some at random.
# A snapshot of the bins (hard links where possible), so a later build cannot swap them mid-run.
# MCPFLOW_FUNCTIONS_PROFILE=release hosts the release builds instead (the caller builds them first:
# `make bench-load PROFILE=release` does).
profile="${MCPFLOW_FUNCTIONS_PROFILE:-debug}"
functions_dir="$MCPFLOW_RUN/functions"
rm -rf "$functions_dir" && mkdir -p "$functions_dir"
for bin in "$root"/functions/src/bin/*.rs; do
  name=$(basename "$bin" .rs)
  built="$CARGO_TARGET_DIR/$profile/$name"
  [[ -x $built ]] || { log "no $profile build of $name at $built"; exit 1; }
  cp -l "$built" "$functions_dir/" 2>/dev/null || cp "$built" "$functions_dir/"
done
(cd "$root" && start_service gateway "$MCPFLOW_RUN/gateway.log" -- \
  "$gateway" serve --template template.yaml --stack "$STACK_NAME" --port "$GATEWAY_PORT" --ws-port "$WS_PORT" \
  --functions-dir "$functions_dir" --console-dir "$MCPFLOW_RUN/console" --env-file "$env_file" "${params[@]}" \
  --chaos-kill-rate "${MCPFLOW_CHAOS_KILL_RATE:-0}" ${MCPFLOW_SCHEDULE_PERIOD:+--schedule-period "$MCPFLOW_SCHEDULE_PERIOD"} \
  ${MCPFLOW_HOST_HTTP:+--host-http "$MCPFLOW_HOST_HTTP"})
base="http://127.0.0.1:$GATEWAY_PORT"
for _ in $(seq 1 120); do
  [[ $(curl -s -o /dev/null -m 30 -w '%{http_code}' "$base/api/v1/mcp/health" || true) == 200 ]] && break
  sleep 0.5
done
status=$(curl -s -o /dev/null -m 30 -w '%{http_code}' "$base/api/v1/mcp/health" || true)
[[ $status == 200 ]] || { log "health answered $status; see $MCPFLOW_RUN/*.log"; exit 1; }

log "mcpflow is up: $base  (try: curl $base/api/v1/mcp/health); WebSocket API: ws://127.0.0.1:$WS_PORT/v1"
log "web console: $base/console/ (sign in with the admin key below)"
log "admin API key for tenant ${MCPFLOW_TENANT:-local} (also in $MCPFLOW_RUN/admin.key):"
log "  $admin_key"
$detach && exit 0
log "logs: $MCPFLOW_RUN/{gateway,lambda,dynamodb,moto}.log — Ctrl-C stops everything"
tail -n 0 -F "$MCPFLOW_RUN/gateway.log" "$MCPFLOW_RUN/lambda.log" &
wait
