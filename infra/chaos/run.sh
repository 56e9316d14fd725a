#!/usr/bin/env bash
# `make chaos`: a stack of its own (ports 8400/5400/9400/3400, stand-in LLM on 4400) where the
# provider fails 30% of calls (429, 500, hangs past the provider timeout) and answers the rest after
# 0-3 s, and the gateway kills task-worker invocations at random mid-batch (CHAOS_KILL_RATE, 0.2).
# CHAOS_TASKS prompts (10000) over CHAOS_CONTEXTS contexts (200) are sent, the run waits until
# every task is finished, and each is checked against what the stand-in answered. The last line is
# `tasks N completed C failed F lost L duplicated D out_of_order O`; it fails unless L, D, O are 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

export DDB_PORT="${CHAOS_DDB_PORT:-8400}" MOTO_PORT="${CHAOS_MOTO_PORT:-5400}"
export LAMBDA_PORT="${CHAOS_LAMBDA_PORT:-9400}" GATEWAY_PORT="${CHAOS_GATEWAY_PORT:-3400}"
export WS_PORT="${CHAOS_WS_PORT:-$((GATEWAY_PORT + 1))}"
export STANDIN_PORT="${CHAOS_STANDIN_PORT:-4400}" STACK_NAME="${CHAOS_STACK:-mcpflow-chaos}"
export MCPFLOW_CHAOS_KILL_RATE="${CHAOS_KILL_RATE:-0.2}"
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/${CHAOS_RUN_DIR:-run-chaos}"
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"

models=$(python3 -c 'import json, os
base = json.load(open("shared/models.json"))
base["providers"].append({"id": "standin", "kind": "openai_compatible", "base_url": "http://127.0.0.1:%s/v1" % os.environ["STANDIN_PORT"],
  "description": "A slow, failing stand-in for the chaos test (infra/stack/llm_standin.py), not an LLM"})
base["models"].append({"id": "standin", "provider": "standin", "provider_model": "standin", "fallback": []})
print(json.dumps(base, separators=(",", ":")))')
# Replies take up to 3 s, so a provider call may take 3.5 s; a task at most 8 s (past it:
# PROVIDER_TIMEOUT); a batch of 5 of one context 40 s, inside the worker's 45 s. The visibility timeout
# is 50 s, not the 6 x AWS advises, so that a killed batch comes back within the run; it still exceeds
# the worker's timeout.
export MCPFLOW_PARAMETERS="ModelCatalog=$models
RateLimits=admin=60000/60,operator=1000/60,agent=1000/60,viewer=1000/60
MaxContextsPerUser=5000
TaskDeadlineSeconds=8
ProviderTimeoutMs=3500
WorkerTimeoutSeconds=45
QueueVisibilityTimeout=50"

mkdir -p "$MCPFLOW_RUN"
rm -f "$MCPFLOW_RUN/standin.jsonl"
trap '"$root/infra/stack/stop.sh" all >/dev/null 2>&1' EXIT
"$root/infra/stack/install.sh" stack
start_service standin "$MCPFLOW_RUN/standin.log" -- env PORT="$STANDIN_PORT" STANDIN_CHAOS=1 \
  STANDIN_LOG="$MCPFLOW_RUN/standin.jsonl" python3 "$root/infra/stack/llm_standin.py"
"$root/infra/stack/dev.sh" --detach

MCPFLOW_ADMIN_KEY=$(<"$MCPFLOW_RUN/admin.key") python3 "$here/chaos.py" \
  --url "http://127.0.0.1:$GATEWAY_PORT" --tasks "${CHAOS_TASKS:-10000}" --contexts "${CHAOS_CONTEXTS:-200}"
