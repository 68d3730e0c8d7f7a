#!/usr/bin/env bash
# CI run of this example (`pnpm run example:ci`): builds what is missing or stale (the wasm and
# the SDK), then the forecast with its check (deno run forecast.ts --check), bounded in time.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# Build the wasm and the SDK only when they are missing or older than their sources, one example
# at a time (pnpm -r runs the examples' example:ci scripts in parallel).
(
  flock -w 600 9
  cd "$ROOT"
  bash scripts/build-wasm.sh >&2
  dist=packages/recur/dist/entrypoints/node.js
  if [[ ! -f $dist ]] || [[ -n "$(find packages/recur/src packages/recur/package.json packages/recur/tsconfig.json -newer "$dist" -print -quit)" ]]; then
    pnpm --filter recur run build >&2
  fi
) 9>"${TMPDIR:-/tmp}/recur-examples-build.lock"
cd "$HERE"
timeout 300 ./node_modules/.bin/deno run --allow-read forecast.ts --check
