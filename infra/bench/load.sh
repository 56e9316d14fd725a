#!/usr/bin/env bash
# `make bench-load`: requests/s and latency p50/p95/p99 at 1, 10 and 50 concurrent clients (oha, a Rust
# load generator, pinned below) for a REST read and MCP tools/list through the local gateway, and
# tools/list on the Python FastMCP peer, on a stack of its own (ports 8500/5500/9500/3500), stopped
# after. SECONDS_PER_CELL (default 10) and CLIENTS (default 1,10,50) override the load; PROFILE=release
# hosts the functions' release builds (built first: fat LTO, long the first time) instead of the debug
# builds `make dev` runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8500 MOTO_PORT=5500 LAMBDA_PORT=9500 GATEWAY_PORT=3500 WS_PORT=3501 STACK_NAME=mcpflow-bench-load
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench-load"
# One key makes every request: its rate limit must not be what is measured.
export MCPFLOW_PARAMETERS="RateLimits=admin=60000/60,operator=300/60,agent=600/60,viewer=120/60"
# The HTTP functions as Lambda runs them (a bootstrap process per instance, up to 50 instances each,
# under the gateway's host), not through cargo lambda watch, which starts each instance with cargo.
export MCPFLOW_HOST_HTTP=50
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"

OHA_VERSION=1.16.0
oha="$MCPFLOW_CACHE/tools/bin/oha"
if [[ ! -x $oha ]] || [[ $("$oha" --version) != "oha $OHA_VERSION" ]]; then
  log "installing oha $OHA_VERSION into $MCPFLOW_CACHE/tools (cargo install, a few minutes once)"
  CARGO_TARGET_DIR="$MCPFLOW_CACHE/oha-target" cargo install oha --version "$OHA_VERSION" --locked --root "$MCPFLOW_CACHE/tools"
fi
# shellcheck source=infra/bench/venv.sh
source "$here/venv.sh"
install_bench_venv
"$root/infra/stack/install.sh" all
host_profile
peer_pid=""
trap '[[ -n $peer_pid ]] && kill "$peer_pid"; "$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
set -a
# shellcheck source=/dev/null
source "$MCPFLOW_RUN/functions.env"
set +a
peer_port=3599
"$BENCH_VENV/bin/python" "$here/fastmcp_peer.py" --port "$peer_port" --tenant local >"$MCPFLOW_RUN/peer.log" 2>&1 &
peer_pid=$!
wait_http "http://127.0.0.1:$peer_port/mcp" 60
log "$(date -u +%F), $(nproc) cores, functions' ${PROFILE:-debug} builds; figures also in $MCPFLOW_RUN/load.json"
python3 "$here/load.py" --url "http://127.0.0.1:$GATEWAY_PORT" --key "$(<"$MCPFLOW_RUN/admin.key")" --oha "$oha" \
  --peer-url "http://127.0.0.1:$peer_port" --seconds "${SECONDS_PER_CELL:-10}" --clients "${CLIENTS:-1,10,50}" \
  --json "$MCPFLOW_RUN/load.json" --profile "${PROFILE:-debug}"
