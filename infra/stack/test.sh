#!/usr/bin/env bash
# `make test`: installs what is missing, runs every check and test, stops what it started.
# It uses its own ports and run directory, so it can run beside a `make dev`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# Test ports and names: never the dev stack's. Endpoints follow the ports, so drop inherited ones.
export DDB_PORT="${TEST_DDB_PORT:-8100}" MOTO_PORT="${TEST_MOTO_PORT:-5100}"
export LAMBDA_PORT="${TEST_LAMBDA_PORT:-9100}" GATEWAY_PORT="${TEST_GATEWAY_PORT:-3100}" WS_PORT="${TEST_WS_PORT:-3101}"
export STACK_NAME=mcpflow-test
# Bearer JWTs on, with a secret made for this run; the tests sign their tokens with it.
MCPFLOW_TEST_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
export MCPFLOW_TEST_JWT_SECRET MCPFLOW_TEST_JWT_ISSUER=https://issuer.mcpflow.test
# Viewers get 20 requests a minute here, so the rate-limit test runs in seconds.
export MCPFLOW_TEST_VIEWER_LIMIT=20/60
# A small per-user context quota, so the quota test fills it quickly; the load test uses an agent key.
export MCPFLOW_TEST_MAX_CONTEXTS=30
# The built-in model catalog plus a model whose provider is down, to show fallback end to end, and
# `standin`, served by a slow OpenAI-compatible stand-in (infra/stack/llm_standin.py) on STANDIN_PORT.
export STANDIN_PORT="${TEST_STANDIN_PORT:-4100}"
MCPFLOW_TEST_MODELS=$(python3 -c 'import json, os
base = json.load(open("shared/models.json")); extra = json.load(open("functions/tests/e2e/fixtures/models-extra.json"))
base["providers"] += extra["providers"]; base["models"] += extra["models"]
base["providers"].append({"id": "standin", "kind": "openai_compatible", "base_url": "http://127.0.0.1:%s/v1" % os.environ["STANDIN_PORT"],
  "description": "A slow, failing stand-in for tests (infra/stack/llm_standin.py), not an LLM"})
base["models"].append({"id": "standin", "provider": "standin", "provider_model": "standin", "fallback": []})
print(json.dumps(base, separators=(",", ":")))')
export MCPFLOW_PARAMETERS="JwtHs256Secret=$MCPFLOW_TEST_JWT_SECRET
JwtIssuer=$MCPFLOW_TEST_JWT_ISSUER
JwtAudience=mcpflow
RateLimits=admin=600/60,operator=300/60,agent=6000/60,viewer=$MCPFLOW_TEST_VIEWER_LIMIT
MaxContextsPerUser=$MCPFLOW_TEST_MAX_CONTEXTS
MaxContextBytes=3000000
ModelCatalog=$MCPFLOW_TEST_MODELS
McpAllowedOrigins=http://127.0.0.1:*,http://localhost:*
CorsAllowedOrigins=https://console.mcpflow.test
AllowPrivateToolEndpoints=true
TaskDeadlineSeconds=20
ProviderTimeoutMs=30000
WorkerTimeoutSeconds=110
QueueVisibilityTimeout=660
OutboxGraceSeconds=3
RegistryListCacheSeconds=0
MetricsFlushSeconds=0
AgentStaleSeconds=3
AgentInactiveSeconds=6"
# (RegistryListCacheSeconds=0: the tests register items and list them over MCP at once;
# MetricsFlushSeconds=0: they read /metrics right after the calls it counts.)
# The outbox sweep (a rate(1 minute) schedule) every 2 s, so its test takes seconds.
export MCPFLOW_SCHEDULE_PERIOD=2
# The HTTP functions and the authorizer under the gateway's own host too, 16 instances each (agents
# long-poll their next task for up to 20 s, each poll holding one), so their
# Timeout kills as on Lambda (make dev leaves them to cargo lambda watch, which reloads on edits).
export MCPFLOW_HOST_HTTP=16
# Each function answer names the AWS calls its handler made (x-mcpflow-aws-calls), for the round-trip test.
export MCPFLOW_COUNT_CALLS=1
# No incremental compilation caches: a test run builds once, and they take gigabytes per checkout.
export CARGO_INCREMENTAL=0
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-test"
# shellcheck source=infra/stack/env.sh
source "$here/env.sh"

step() { log "== $*"; }
started=$SECONDS

step "install pinned tools"
"$here/install.sh" all
"$root/infra/mcp/install.sh"

step "format and lint"
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings

step "unit tests"
cargo test --locked --workspace

step "template checks"
cfn-lint template.yaml
sam validate --lint --template template.yaml

step "the OpenAPI document (infra/api/openapi.json): valid OpenAPI 3.1, and the routes of template.yaml both ways"
"$MCPFLOW_CACHE/venv-api/bin/python" infra/api/check_openapi.py

export MCPFLOW_TEST_SECRETS_FILE="$MCPFLOW_RUN/test-secrets.txt"
mkdir -p "$MCPFLOW_RUN" && rm -f "$MCPFLOW_TEST_SECRETS_FILE" && touch "$MCPFLOW_TEST_SECRETS_FILE"

step "start the local stack"
trap '"$here/stop.sh" all' EXIT
mkdir -p "$MCPFLOW_RUN"
start_service standin "$MCPFLOW_RUN/standin.log" -- env PORT="$STANDIN_PORT" python3 "$root/infra/stack/llm_standin.py"
"$here/dev.sh" --detach
MCPFLOW_ADMIN_KEY=$(<"$MCPFLOW_RUN/admin.key")
export MCPFLOW_ADMIN_KEY

step "events/ fixtures through cargo lambda invoke, each answering exactly what events/outcomes.txt says"
# The functions behind a function URL (template.yaml's FunctionUrlConfig).
url_functions="completions-stream"
for file in events/*/*.json; do
  fn=$(basename "$(dirname "$file")")
  expected=$(awk -v f="${file#events/}" '$1 == f {print $2}' events/outcomes.txt)
  [[ -n $expected ]] || { log "$file has no line in events/outcomes.txt"; exit 1; }
  if [[ " $url_functions " == *" $fn "* ]]; then
    # A function URL in response-streaming mode: cargo lambda's Invoke API cannot take a streamed
    # answer, so the fixture's request (method, path, headers, body) goes to the function through the
    # gateway, which hosts it as Lambda does (its requestContext is the gateway's, as on AWS).
    outcome=$(python3 - "$file" "http://127.0.0.1:$GATEWAY_PORT" <<'PY'
import json, sys, urllib.error, urllib.request
event = json.load(open(sys.argv[1]))
http = event["requestContext"]["http"]
skip = {"host", "content-length", "x-forwarded-for", "x-forwarded-proto"}
headers = {k: v for k, v in event["headers"].items() if k not in skip}
req = urllib.request.Request(sys.argv[2] + event["rawPath"], data=(event.get("body") or "").encode(),
                             method=http["method"], headers=headers)
try:
    print(urllib.request.urlopen(req, timeout=60).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
    [[ $outcome == "$expected" ]] || { log "$file: $fn answered $outcome, not $expected"; exit 1; }
    log "$file -> $outcome (through the gateway's function URL)"
    continue
  fi
  out=$(cargo lambda invoke "$fn" -A 127.0.0.1 -P "$LAMBDA_PORT" -F "$file" -o json)
  # An HTTP function answers a status; the authorizer a simple response; an SQS consumer its batch
  # item failures; the outbox sweep how many messages it sent.
  outcome=$(python3 -c 'import json,sys; a=json.load(sys.stdin); print(a.get("statusCode") or ("authorizer:"+str(a["isAuthorized"]).lower() if "isAuthorized" in a else "sqs:"+str(len(a["batchItemFailures"])) if "batchItemFailures" in a else "sweep:"+str(a["sent"]) if "sent" in a else "none"))' <<<"$out" || true)
  [[ $outcome == "$expected" ]] || { log "$file: $fn answered $outcome, not $expected: $out"; exit 1; }
  log "$file -> $outcome"
done

step "end-to-end tests"
cargo test --locked -p local-gateway --test emulator -- --ignored
cargo test --locked -p mcpflow-functions --test e2e -- --ignored --skip degraded --skip outage
cargo test --locked -p mcpflow-cli --test e2e -- --ignored

step "Schemathesis with the OpenAPI document: no server error, every answer as documented"
"$root/infra/api/schemathesis.sh"

step "the Python client (clients/python): pip-installed, type-checked, its tests against stand-ins and the local stack"
pyclient="$MCPFLOW_CACHE/venv-pyclient"
[[ -x $pyclient/bin/python ]] || python3 -m venv "$pyclient"
"$pyclient/bin/pip" install -q --disable-pip-version-check "$root/clients/python[test]"
"$pyclient/bin/mypy" --strict "$root/clients/python/mcpflow_client"
MCPFLOW_URL="http://127.0.0.1:$GATEWAY_PORT" MCPFLOW_WS_URL="ws://127.0.0.1:$WS_PORT/v1" MCPFLOW_KEY="$MCPFLOW_ADMIN_KEY" \
  "$pyclient/bin/python" -m pytest -q -p no:cacheprovider "$root/clients/python/tests"

step "the web console (clients/console) in headless Chromium, driven by Playwright: screenshots in $MCPFLOW_RUN/console-screenshots"
cargo build --locked -q -p mcpflow-agent
rm -rf "$MCPFLOW_RUN/console-screenshots"
MCPFLOW_URL="http://127.0.0.1:$GATEWAY_PORT" MCPFLOW_AGENT_BIN="$CARGO_TARGET_DIR/debug/mcpflow-agent" \
  CONSOLE_SCREENSHOTS="$MCPFLOW_RUN/console-screenshots" \
  "$MCPFLOW_CACHE/venv-console/bin/python" -m pytest -q -p no:cacheprovider "$root/clients/console/tests"

step "MCP clients: Python SDK, conformance suite, Inspector CLI, mcp-remote"
MCP_URL="http://127.0.0.1:$GATEWAY_PORT/mcp" MCP_API_KEY="$MCPFLOW_ADMIN_KEY" MCP_CONFORMANCE_PROXY_PORT=3199 MCP_CONFORMANCE_FIXTURES=1 \
  "$root/infra/mcp/check.sh"

step "end-to-end tests with moto stopped, then DynamoDB Local too"
"$here/stop.sh" moto
cargo test --locked -p mcpflow-functions --test e2e -- --ignored degraded
"$here/stop.sh" dynamodb
cargo test --locked -p mcpflow-functions --test e2e -- --ignored outage

step "no secret in any log: the admin key, the JWT secret, and every key and token the tests made"
jwt_secret=$(sed -n "s/^JWT_HS256_SECRET='\(.*\)'$/\1/p" "$MCPFLOW_RUN/functions.env")
printf '%s\n%s\n' "$MCPFLOW_ADMIN_KEY" "$jwt_secret" >>"$MCPFLOW_TEST_SECRETS_FILE"
sort -u -o "$MCPFLOW_TEST_SECRETS_FILE" "$MCPFLOW_TEST_SECRETS_FILE"
sed -i "/^$/d" "$MCPFLOW_TEST_SECRETS_FILE"
log "$(wc -l <"$MCPFLOW_TEST_SECRETS_FILE") secrets checked"
if grep -lF -f "$MCPFLOW_TEST_SECRETS_FILE" "$MCPFLOW_RUN"/*.log; then
  log "a secret appears in the logs above"; exit 1
fi

step "chaos: 200 prompts through a failing provider and killed workers, on a stack of its own"
"$here/stop.sh" all
# The chaos stack is configured as `make chaos` configures it, not as this file's stack.
unset MCPFLOW_SCHEDULE_PERIOD MCPFLOW_HOST_HTTP
# Ports and a run directory of its own, so it runs beside a `make chaos`.
CHAOS_TASKS=200 CHAOS_CONTEXTS=40 CHAOS_DDB_PORT=8600 CHAOS_MOTO_PORT=5600 CHAOS_LAMBDA_PORT=9600 \
  CHAOS_GATEWAY_PORT=3600 CHAOS_STANDIN_PORT=4600 CHAOS_RUN_DIR=run-test-chaos CHAOS_STACK=mcpflow-test-chaos \
  bash "$root/infra/chaos/run.sh"

log "make test passed in $((SECONDS - started)) s"
