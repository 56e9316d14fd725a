# Sourced by the benchmarks that run Python (`make bench-mcp`, `make bench-ws`, …): BENCH_VENV,
# install_bench_venv and host_profile. Needs `here` (infra/bench), `root`, MCPFLOW_CACHE and `log`
# (infra/stack/env.sh).

BENCH_VENV="$MCPFLOW_CACHE/venv-bench"

# venv-bench: fastmcp + mcp (infra/mcp/requirements.txt), boto3 and websockets, rebuilt when a pin
# file changes.
install_bench_venv() {
  local stamp="$MCPFLOW_CACHE/stamps/venv-bench" spec
  spec="python=$(python3 -c 'import sys; print(sys.version.split()[0])') $(cat "$here/requirements.txt" \
    "$root/infra/mcp/requirements.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -f $stamp && $(<"$stamp") == "$spec" && -x $BENCH_VENV/bin/python ]]; then
    log "venv-bench up to date"
    return 0
  fi
  log "installing venv-bench from infra/bench/requirements.txt"
  rm -rf "${BENCH_VENV:?}" "$stamp"
  mkdir -p "$(dirname "$stamp")"
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  "$BENCH_VENV/bin/python" -c 'import fastmcp, boto3, websockets' # fail now, not in the middle of the run
  echo "$spec" >"$stamp"
}

# PROFILE=release: builds the functions' release binaries (fat LTO, one codegen unit: long the first
# time) and has the stack's host run them (infra/stack/dev.sh) instead of the debug builds `make dev`
# runs. Call before dev.sh.
host_profile() {
  if [[ ${PROFILE:-debug} == release ]]; then
    log "building the functions' release binaries (fat LTO, one codegen unit; the first build takes a while)"
    cargo build --locked --release -p mcpflow-functions --bins
    export MCPFLOW_FUNCTIONS_PROFILE=release
  fi
}
