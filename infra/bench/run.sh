#!/usr/bin/env bash
# `make bench`: every function's release binary, sizes (x86_64 and the arm64 bootstrap sam build
# deploys), cold start, warm invocation, own CPU time per invocation, AWS round trips and peak RSS
# (infra/bench/functions.py), each invoked with one of its events/ fixtures against a local stack of
# its own (ports 8400/5400/9400/3400, own run directory), stopped after. RUNS and WARM override the
# starts per function and the warm events per start; ONLY=fn,fn builds and measures some functions only;
# ARM64=0 skips the arm64 build; PEER_ENV="VAR=value …" measures the same functions again with those
# settings and prints both cold starts side by side.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DDB_PORT=8400 MOTO_PORT=5400 LAMBDA_PORT=9400 GATEWAY_PORT=3400 WS_PORT=3401 STACK_NAME=mcpflow-bench-fns
export MCPFLOW_RUN="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}/run-bench-functions"
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER
# shellcheck source=infra/stack/env.sh
source "$root/infra/stack/env.sh"
cd "$root"

# ONLY=fn,fn builds those functions' binaries only (each is a fat-LTO link of its own).
bins=(--bins)
if [[ -n ${ONLY:-} ]]; then
  bins=()
  for fn in ${ONLY//,/ }; do bins+=(--bin "$fn"); done
fi
log "building the release binaries for this machine ($(uname -m)); the first build of all takes a while (fat LTO, one codegen unit)"
cargo build --locked --release -p mcpflow-functions "${bins[@]}"

"$root/infra/stack/install.sh" all   # the emulators, and cargo-lambda with its zig
# The deployed artifact is arm64 (template.yaml); cross-building needs the target's std and cargo-lambda's zig.
arm64=()
if [[ ${ARM64:-1} == 0 ]]; then
  log "arm64 sizes skipped (ARM64=0)"
elif rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu && command -v cargo-lambda >/dev/null; then
  log "building the arm64 bootstraps as sam build does (cargo lambda build --release --arm64)"
  lambda_bins=()
  [[ ${bins[0]} == --bins ]] || lambda_bins=("${bins[@]}")
  cargo lambda build --locked --release --arm64 -p mcpflow-functions "${lambda_bins[@]}" >/dev/null
  arm64=(--arm64-dir "$CARGO_TARGET_DIR/lambda")
else
  log "arm64 sizes skipped: needs \`rustup target add aarch64-unknown-linux-gnu\` and \`infra/stack/install.sh all\`"
fi

trap '"$root/infra/stack/stop.sh" all' EXIT
"$root/infra/stack/dev.sh" --detach
set -a
# shellcheck source=/dev/null
source "$MCPFLOW_RUN/functions.env"
set +a
log "$(date -u +%F), $(nproc) cores, $(uname -m); figures also in $MCPFLOW_RUN/functions.json"
python3 "$here/functions.py" --release-dir "$CARGO_TARGET_DIR/release" "${arm64[@]}" \
  --runs "${RUNS:-10}" --warm "${WARM:-20}" ${ONLY:+--only "$ONLY"} --json "$MCPFLOW_RUN/functions.json"

if [[ -n ${PEER_ENV:-} ]]; then
  # The same binaries on the same stack, with settings changed (e.g. PEER_ENV=METRICS_FLUSH_SECS=0),
  # as the peer of the run above.
  log "the same functions again with $PEER_ENV (figures also in $MCPFLOW_RUN/functions-peer.json)"
  env $PEER_ENV python3 "$here/functions.py" --release-dir "$CARGO_TARGET_DIR/release" "${arm64[@]}" --warmup 0 \
    --runs "${RUNS:-10}" --warm "${WARM:-20}" ${ONLY:+--only "$ONLY"} --json "$MCPFLOW_RUN/functions-peer.json"
  python3 - "$MCPFLOW_RUN/functions.json" "$MCPFLOW_RUN/functions-peer.json" "$PEER_ENV" <<'PY'
import json, statistics, sys
ours = {r["function"]: r for r in json.load(open(sys.argv[1]))}
peer = {r["function"]: r for r in json.load(open(sys.argv[2]))}
print(f"\n| function | cold p50 ms | with {sys.argv[3]} | ratio |")
print("| --- | --- | --- | --- |")
ratios = []
for fn in sorted(ours.keys() & peer.keys()):
    a, b = ours[fn]["cold_ms"], peer[fn]["cold_ms"]
    ratios.append(a / b)
    print(f"| `{fn}` | {a:.1f} | {b:.1f} | {a / b:.2f} |")
if ratios:
    print(f"\nmedian ratio {statistics.median(ratios):.2f} over {len(ratios)} functions")
PY
fi

if [[ -n ${ONLY:-} ]]; then
  # The bill adds up the authorizer and every function on a path: it needs the whole table.
  log "no bill with ONLY: run \`make bench\` without it for infra/bench/cost.py's figures"
  exit 0
fi
log "the AWS bill per million calls, from these figures (infra/bench/cost.py)"
peer="${MCPFLOW_CACHE}/run-bench-mcp/mcp.json"
[[ -f $peer ]] || log "no $peer: run \`make bench-mcp\` for the FastMCP peer's line"
python3 "$here/cost.py" --functions "$MCPFLOW_RUN/functions.json" ${peer:+$([[ -f $peer ]] && echo --mcp "$peer")}
