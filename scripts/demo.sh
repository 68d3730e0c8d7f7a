#!/usr/bin/env bash
# The main command: builds what is needed and trains an LSTM on monthly Mauna Loa CO2 through the
# recur SDK in Node, then prints its forecast error against naive baselines.
#
#   bash scripts/demo.sh
#
# setup.sh and build-wasm.sh are idempotent (they skip what is already there / up to date).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[demo] %s\n' "$*" >&2; }

say "setup (skips what is installed)"
bash scripts/setup.sh >&2
say "build the wasm (skips when up to date)"
bash scripts/build-wasm.sh >&2
say "build the SDK (packages/recur)"
pnpm --filter recur run build >&2
say "train: examples/node-forecast/train.mjs"
node examples/node-forecast/train.mjs
