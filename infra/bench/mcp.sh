#!/usr/bin/env bash
# `make bench-mcp`: the release `mcp` function (behind a minimal Lambda Runtime API) against a Python
# FastMCP peer (its own HTTP server), both reading one completed task from DynamoDB Local: cold start,
# warm tools/list and tools/call get_task_status p50/p99, and peak RSS, with Rust/Python ratios.
# Starts a local stack of its own (ports 8300/5300/9300/3300, own run directory) and stops it after.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8300 MOTO_PORT=5300 LAMBDA_PORT=9300 GATEWAY_PORT=3300 WS_PORT=3301 STACK_NAME=mcpflow-bench-mcp
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench-mcp"
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"

# shellcheck source=infra/bench/venv.sh
source "$here/venv.sh"
install_bench_venv
trap '"$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
log "building the release mcp function"
cargo build --locked --release --bin mcp
set -a
# shellcheck source=/dev/null
source "$MCPFLOW_RUN/functions.env"
set +a
python3 "$here/mcp_compare.py" --url "http://127.0.0.1:$GATEWAY_PORT" --key "$(<"$MCPFLOW_RUN/admin.key")" \
  --binary "$CARGO_TARGET_DIR/release/mcp" --event "$root/events/mcp/initialize.json" \
  --peer-python "$BENCH_VENV/bin/python" --peer "$here/fastmcp_peer.py" \
  --cold-runs "${COLD_RUNS:-10}" --warm "${WARM:-200}" --json "$MCPFLOW_RUN/mcp.json"
