#!/usr/bin/env bash
# Stops local services started through start_service (see env.sh).
# Usage: stop.sh [dynamodb|moto|all]   (default: all)
#   all also stops every other $MCPFLOW_RUN/*.pid (lambda, gateway, ...).
set -euo pipefail
# shellcheck source=infra/stack/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

what=${1:-all}
case $what in
  dynamodb | moto) stop_service "$what" ;;
  all)
    shopt -s nullglob
    for pidfile in "$MCPFLOW_RUN"/*.pid; do
      stop_service "$(basename "$pidfile" .pid)"
    done
    # The gateway's snapshot of the bins: hard links that would keep every replaced build on disk.
    rm -rf "${MCPFLOW_RUN:?}/functions"
    ;;
  *) echo "usage: $0 [dynamodb|moto|all]" >&2; exit 2 ;;
esac
