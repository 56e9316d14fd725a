#!/usr/bin/env bash
# Builds the console into OUT (the first argument; default clients/console/dist): the pinned esbuild
# and TypeScript (package-lock.json) are installed with `npm ci` into $MCPFLOW_CACHE/console-node
# once per lock, the sources type-checked (strict), bundled, and the static files copied beside.
# With CONSOLE_CONFIG set (JSON: `api_url`, and `ws_url` or `ws_port`) it also writes it to
# OUT/config.json, where the console finds its APIs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/stack/env.sh
source "$here/../../infra/stack/env.sh"
out="${1:-$here/dist}"
tools="$MCPFLOW_CACHE/console-node"
stamp="$MCPFLOW_CACHE/stamps/console-node"
spec=$(cd "$here" && sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(<"$stamp") != "$spec" || ! -x $tools/node_modules/.bin/esbuild ]]; then
  log "installing the console's build tools (npm ci) into $tools"
  rm -rf "${tools:?}" && mkdir -p "$tools" "$(dirname "$stamp")"
  cp "$here/package.json" "$here/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$spec" >"$stamp"
fi
"$tools/node_modules/.bin/tsc" -p "$here/tsconfig.json" --noEmit
mkdir -p "$out"
"$tools/node_modules/.bin/esbuild" "$here/src/main.ts" --bundle --minify --sourcemap --target=es2022 \
  --log-level=warning --outfile="$out/app.js"
cp "$here/index.html" "$here/style.css" "$out/"
if [[ -n ${CONSOLE_CONFIG:-} ]]; then
  python3 -c 'import json, sys; json.loads(sys.argv[1])' "$CONSOLE_CONFIG" # fail on a typo, not in the browser
  printf '%s\n' "$CONSOLE_CONFIG" >"$out/config.json"
fi
log "console built into $out"
