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
# models reads no AWS resource, but its configuration names them: placeholders unless make dev's are used.
export TABLE_NAME="${TABLE_NAME:-unused-by-models}"
export PIPELINE_STATE_MACHINE_ARN="${PIPELINE_STATE_MACHINE_ARN:-arn:aws:states:us-east-1:000000000000:stateMachine:unused}"
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

# The deployed artifact is arm64 (template.yaml); cross-building needs the target's std and zig.
if rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu && command -v sam >/dev/null; then
  log "building arm64 bootstraps as sam build does (cargo lambda build --release --arm64)"
  cargo lambda build --release --arm64 --bin health --bin models >/dev/null
  for fn in health models; do
    printf '%-10s arm64 bootstrap %6.2f MB (budget 8 MB)\n' "$fn" \
      "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1])/1e6)" "$CARGO_TARGET_DIR/lambda/$fn/bootstrap")"
  done
else
  log "arm64 sizes skipped: needs \`rustup target add aarch64-unknown-linux-gnu\` and \`infra/stack/install.sh sam\`"
fi
