#!/usr/bin/env bash
# Schemathesis against a running local stack with infra/api/openapi.json: examples, fuzzing
# and stateful (the document's links: create a context, then get, prompt, delete it, …) phases, failing
# on any server error or any answer outside the document (status, content type, schema). It runs as an
# admin of a tenant of its own (its keys, contexts and registry fill up only that tenant's limits), and
# prints the number of requests it made.
#
# Usage: infra/api/schemathesis.sh   (GATEWAY_PORT or MCPFLOW_URL name the stack; make test runs it)
#   SCHEMATHESIS_EXAMPLES (default 10): examples per operation and phase;
#   SCHEMATHESIS_SEED: a fixed seed, to repeat a run; SCHEMATHESIS_PHASES: the phases (default examples,fuzzing,stateful: the coverage phase makes
#   thousands of requests, over ten minutes at the admin rate limit; add it for a longer run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"

base="${MCPFLOW_URL:-http://127.0.0.1:$GATEWAY_PORT}"
venv="$MCPFLOW_CACHE/venv-api"
[[ -x $venv/bin/schemathesis ]] || "$root/infra/stack/install.sh" all
report="$MCPFLOW_RUN/schemathesis"
rm -rf "$report" && mkdir -p "$report"

# An admin key of a tenant of this run's own, made as make dev makes the first one.
table=$(sed -n "s/^TABLE_NAME='\(.*\)'$/\1/p" "$MCPFLOW_RUN/functions.env")
tenant="schemathesis-$(date +%s)"
created=$("$CARGO_TARGET_DIR/debug/mcpflow" admin create-key --table "$table" --tenant "$tenant")
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' <<<"$created")
[[ -n ${MCPFLOW_TEST_SECRETS_FILE:-} ]] && printf '%s\n' "$key" >>"$MCPFLOW_TEST_SECRETS_FILE"

# Admins may make 600 requests a minute on the test stack: stay under it, so answers are not all 429.
# No secrets in the output; the HAR file has every request and answer for a failure's post-mortem.
status=0
# From the report directory: Schemathesis keeps its cache (.schemathesis/) in the working directory.
cd "$report"
"$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$here/openapi.json" --url "$base" \
  --header "X-API-Key: $key" --generation-with-security-parameters false \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases "${SCHEMATHESIS_PHASES:-examples,fuzzing,stateful}" --max-examples "${SCHEMATHESIS_EXAMPLES:-10}" \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --workers 1 --rate-limit 480/m --request-timeout 30 --generation-database none --no-color \
  --report har --report-har-path "$report/requests.har" --output-truncate true || status=$?

requests=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$report/requests.har" 2>/dev/null || echo "?")
log "schemathesis made $requests requests against $base (tenant $tenant); every one is in $report/requests.har"
exit "$status"
