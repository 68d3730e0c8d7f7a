#!/usr/bin/env bash
# CI run of this example (`pnpm run example:ci`): builds what is missing or stale (the wasm and
# the SDK), then the forecast with its check (deno run forecast.ts --check), bounded in time.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../ensure-built.sh"
cd "$HERE"
timeout 300 ./node_modules/.bin/deno run --allow-read forecast.ts --check
