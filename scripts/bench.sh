#!/usr/bin/env bash
# The side-by-side benchmark (issue 5): recur against TF.js, brain.js and ONNX Runtime Web.
#   bash scripts/bench.sh            full run: writes bench/RESULTS.md, bench/results.svg, bench/results.json
#   bash scripts/bench.sh --quick    one tiny configuration, under a minute (a smoke test: the
#                                    tests run it through bench/smoke.mjs, which checks that
#                                    every row ran and reads no timing)
# Installs the bench package's dependencies (workspace) and the peers kept apart from the
# workspace (bench/peers: see its package.json) if they are missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v pnpm >/dev/null || npm i -g pnpm@12.4.2 </dev/null
if [[ ! -d bench/node_modules/wabt || ! -d bench/node_modules/brain.js ]]; then
  pnpm install --frozen-lockfile
fi
if [[ ! -d bench/peers/node_modules/@tensorflow/tfjs || ! -d bench/peers/node_modules/onnxruntime-web ]]; then
  (cd bench/peers && pnpm install --ignore-workspace --ignore-scripts --frozen-lockfile)
fi
exec node bench/run.mjs "$@"
