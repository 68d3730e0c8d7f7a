#!/usr/bin/env bash
# CI run of this example (`pnpm run example:ci`): builds what is missing or stale (the wasm and
# the SDK), then ci.mjs: bundle, workerd on a loopback port, forecasts compared with Node, bad requests, bounded in time.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../ensure-built.sh"
cd "$HERE"
timeout 180 node ci.mjs
