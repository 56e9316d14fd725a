#!/usr/bin/env bash
# Starts the local AWS emulators in the background (pids/logs in $MCPFLOW_RUN).
# Usage: start.sh [dynamodb|moto|all]   (default: all)
set -euo pipefail
# shellcheck source=infra/stack/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

what=${1:-all}
case $what in
  dynamodb | moto | all) ;;
  *) echo "usage: $0 [dynamodb|moto|all]" >&2; exit 2 ;;
esac

# preflight NAME PORT LABEL VAR: returns 1 when NAME already runs (skip it),
# exits when someone else holds the port (we would only talk to the wrong server).
preflight() {
  if pid_alive "$MCPFLOW_RUN/$1.pid"; then
    log "$1 already running (pid $(<"$MCPFLOW_RUN/$1.pid"))"
    return 1
  fi
  if port_busy "$2"; then
    log "port $2 is busy ($3): stop what uses it or set $4"
    exit 1
  fi
}

# wait_up NAME URL SECONDS: wait for HTTP; on failure show the log and stop it.
wait_up() {
  local t0=$SECONDS
  if ! wait_http "$2" "$3"; then
    log "$1 did not answer on $2 within $3 s; last log lines:"
    tail -n 20 "$MCPFLOW_RUN/$1.log" >&2 || true
    stop_service "$1"
    exit 1
  fi
  log "$1 answers on $2 (after $((SECONDS - t0)) s)"
}

start_dynamodb() {
  preflight dynamodb "$DDB_PORT" "DynamoDB Local" DDB_PORT || return 0
  local dir
  dir=$(ddb_jar_dir) || { log "DynamoDB Local not installed: run infra/stack/install.sh"; exit 1; }
  # DynamoDB Local has no bind-address option: it listens on all interfaces.
  # -disableTelemetry: it otherwise phones home on startup.
  start_service dynamodb "$MCPFLOW_RUN/dynamodb.log" -- \
    java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT"
  wait_up dynamodb "http://127.0.0.1:$DDB_PORT" 60
}

start_moto() {
  preflight moto "$MOTO_PORT" "moto" MOTO_PORT || return 0
  command -v moto_server >/dev/null || { log "moto not installed: run infra/stack/install.sh"; exit 1; }
  # MOTO_PORT in moto's env makes generated URLs (e.g. SQS QueueUrl) use our port. moto_server.py is
  # moto_server with its FIFO redelivery order fixed (see the file).
  start_service moto "$MCPFLOW_RUN/moto.log" -- \
    env MOTO_PORT="$MOTO_PORT" "$MCPFLOW_CACHE/venv-stack/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" \
    -H 127.0.0.1 -p "$MOTO_PORT"
  wait_up moto "http://127.0.0.1:$MOTO_PORT/moto-api/" 60
  # Without this, moto's Step Functions only records executions and never runs
  # the states. Must precede any CreateStateMachine (it picks another backend).
  # moto echoes only batch/lambda config back, so the 201 status is the check.
  local code
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X POST \
    "http://127.0.0.1:$MOTO_PORT/moto-api/config" -H 'Content-Type: application/json' \
    -d '{"stepfunctions":{"execute_state_machine":true}}')
  if [[ $code != 201 ]]; then
    log "moto rejected stepfunctions config (HTTP $code)"
    stop_service moto # so the next start.sh retries instead of "already running"
    exit 1
  fi
  log "moto stepfunctions execute_state_machine enabled"
}

mkdir -p "$MCPFLOW_RUN"
[[ $what == moto ]] || start_dynamodb
[[ $what == dynamodb ]] || start_moto
