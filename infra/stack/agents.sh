#!/usr/bin/env bash
# `make agents`: one reference agent (clients/agent) per stage type against the running `make dev`
# stack, registered with its admin key, so a pipeline runs end to end. Ctrl-C stops them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=infra/stack/env.sh
source "$here/env.sh"

key_file="$MCPFLOW_RUN/admin.key"
[[ -s $key_file ]] || { log "no $key_file: start the stack first (make dev)"; exit 1; }
url="${MCPFLOW_URL:-http://127.0.0.1:$GATEWAY_PORT}"
wait_http "$url/api/v1/health" 5 || { log "$url does not answer: start the stack first (make dev)"; exit 1; }

(cd "$root" && cargo build --locked -q -p mcpflow-agent)
agent="$CARGO_TARGET_DIR/debug/mcpflow-agent"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for type in data-ingestion transformation analysis validation processing output; do
  MCPFLOW_API_KEY=$(<"$key_file") "$agent" --url "$url" --name "ref-$type" --capabilities "$type" --s3-path-style &
  pids+=($!)
done
log "${#pids[@]} reference agents serving $url; Ctrl-C stops them"
wait
