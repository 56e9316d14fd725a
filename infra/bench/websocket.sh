#!/usr/bin/env bash
# `make bench-ws`: WebSocket push latency (task finished -> task_update received) p50/p95 for 1 and
# WS_CONNECTIONS (500) connections, and the local gateway's RSS with them open. Starts a local stack
# of its own (ports 8400/5400/9400/3400/3401, own run directory) and stops it after.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8400 MOTO_PORT=5400 LAMBDA_PORT=9400 GATEWAY_PORT=3400 WS_PORT=3401 STACK_NAME=mcpflow-bench-ws
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench-ws"
# Every connection's handshake counts against the one key; its limit must not be what is measured.
export MCPFLOW_PARAMETERS="RateLimits=admin=60000/60,operator=300/60,agent=600/60,viewer=120/60"
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"
# shellcheck source=infra/bench/venv.sh
source "$here/venv.sh"
"$root/infra/stack/install.sh" all
install_bench_venv
trap '"$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
"$BENCH_VENV/bin/python" "$here/ws_push.py" --url "http://127.0.0.1:$GATEWAY_PORT" --ws "ws://127.0.0.1:$WS_PORT/v1" \
  --key "$(<"$MCPFLOW_RUN/admin.key")" --gateway-pid "$(<"$MCPFLOW_RUN/gateway.pid")" \
  --connections "${WS_CONNECTIONS:-500}" --prompts "${PROMPTS:-10}"
