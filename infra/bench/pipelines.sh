#!/usr/bin/env bash
# `make bench-pipelines`: starts its own local stack (its own ports and run directory, so it runs
# beside `make dev`), runs the brief's six-stage pipeline and a one-stage peer RUNS times each with
# instant agents, and prints the medians, the engine's overhead per stage and the state transitions
# per run (Step Functions bills each), then stops the stack.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8300 MOTO_PORT=5300 LAMBDA_PORT=9300 GATEWAY_PORT=3300 WS_PORT=3301 STACK_NAME=mcpflow-bench-pipe
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench-pipelines"
export MCPFLOW_PARAMETERS="RateLimits=admin=60000/60,operator=300/60,agent=60000/60,viewer=120/60"
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
# shellcheck source=infra/bench/venv.sh
source "$here/venv.sh"
cd "$root"
"$root/infra/stack/install.sh" all
install_bench_venv
trap '"$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
machine=$(sed -n "s/^PIPELINE_STATE_MACHINE_ARN='\?\([^']*\)'\?$/\1/p" "$MCPFLOW_RUN/functions.env")
"$BENCH_VENV/bin/python" "$here/pipeline_runs.py" --url "http://127.0.0.1:$GATEWAY_PORT" \
  --key "$(<"$MCPFLOW_RUN/admin.key")" --state-machine "$machine" --sfn "http://127.0.0.1:$MOTO_PORT" \
  --runs "${RUNS:-10}"
