#!/usr/bin/env bash
# `make bench-prompts`: starts its own local stack (its own ports, run directory and rate limits, so it
# runs beside `make dev`), measures prompt accepted -> task completed for 1 and 20 clients with the
# `local` provider, polling and then waiting on the WebSocket API, and stops the stack. PROFILE=release
# hosts the functions' release builds (venv.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8200 MOTO_PORT=5200 LAMBDA_PORT=9200 GATEWAY_PORT=3200 WS_PORT=3201 STACK_NAME=mcpflow-bench
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench"
# Each client has an operator key of its own; its rate limit must not be what is measured.
export MCPFLOW_PARAMETERS="RateLimits=admin=60000/60,operator=6000/60,agent=600/60,viewer=120/60"
# The HTTP functions as Lambda runs them (one bootstrap process per instance, under the gateway's host),
# not through cargo lambda watch, whose per-instance cargo runs would share the two cores.
export MCPFLOW_HOST_HTTP=16
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"
"$root/infra/stack/install.sh" all
# shellcheck source=infra/bench/venv.sh
source "$here/venv.sh"
install_bench_venv
host_profile
trap '"$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
"$BENCH_VENV/bin/python" "$here/prompt_latency.py" --url "http://127.0.0.1:$GATEWAY_PORT" \
  --ws "ws://127.0.0.1:$WS_PORT/v1" --key "$(<"$MCPFLOW_RUN/admin.key")" --prompts "${PROMPTS:-10}"
