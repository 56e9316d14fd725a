#!/usr/bin/env bash
# `make bench`: release sizes, cold start, warm invocation and peak RSS of the functions.
# `health` calls DynamoDB, SQS and Step Functions, so it is measured only while `make dev` runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"

log "building release binaries for this machine ($(uname -m))"
cargo build --locked --release --bin health --bin models
targets=("$CARGO_TARGET_DIR/release/models:events/models/get.json")
if [[ -f $MCPFLOW_RUN/functions.env ]] && curl -sf -o /dev/null -m 5 "http://127.0.0.1:$GATEWAY_PORT/api/v1/mcp/health"; then
  set -a
  # shellcheck source=/dev/null
  source "$MCPFLOW_RUN/functions.env"
  set +a
  targets+=("$CARGO_TARGET_DIR/release/health:events/health/get.json")
else
  log "health skipped: start \`make dev\` first to measure it against the local stack"
fi
python3 "$here/cold_start.py" --runs "${RUNS:-20}" "${targets[@]}"
