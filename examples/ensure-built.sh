#!/usr/bin/env bash
# Builds the wasm and the SDK only when they are missing or older than their sources, for the
# examples' CI runs; one example at a time (pnpm -r runs the examples' example:ci in parallel).
#   bash examples/ensure-built.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(
  flock -w 600 9
  cd "$ROOT"
  bash scripts/build-wasm.sh >&2
  # The node bundle is the last file the SDK's build writes (tsc, then build/bundle.mjs).
  dist=packages/recur/dist/node/recur.js
  if [[ ! -f $dist ]] || [[ -n "$(find packages/recur/src packages/recur/build packages/recur/package.json packages/recur/tsconfig.json -newer "$dist" -print -quit)" ]]; then
    pnpm --filter recur run build >&2
  fi
) 9>"${TMPDIR:-/tmp}/recur-examples-build.lock"
