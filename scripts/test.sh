#!/usr/bin/env bash
# The project's test command (README.md): installs what is missing, then runs every test suite,
# stopping at the first failure.
#
#   bash scripts/test.sh
#
# Stages: setup (scripts/setup.sh) -> native Rust tests (cargo test --workspace, host toolchain)
# -> wasm build (scripts/build-wasm.sh) -> wasm tests under Node (scripts/test-wasm.sh)
# -> SDK tests (pnpm -r test) -> conformance replay through the SDK (node test/conformance/run.mjs)
# -> benchmark smoke run (node bench/smoke.mjs) -> examples (pnpm run example:ci in each)
# -> docs (pnpm run docs:check, cargo doc).
# The SDK, conformance and benchmark stages skip when their files (packages/recur/package.json,
# test/conformance/run.mjs, bench/smoke.mjs) are absent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Native builds use rustup's toolchain: ~/.cargo/bin first on PATH (Debian's /usr/bin/cargo is
# only for the wasm builds, which select it themselves).
CARGO_HOME_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
[[ -d "$CARGO_HOME_BIN" ]] && export PATH="$CARGO_HOME_BIN:$PATH"

STAGES=()
CURRENT=""
STAGE_START=0
RUN_START=$SECONDS

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

summary() {
  local rc=$?
  if [[ -n "$CURRENT" ]]; then
    STAGES+=("$(printf '%-28s %8s  %s' "$CURRENT" "$(fmt $((SECONDS - STAGE_START)))" "FAILED (exit $rc)")")
  fi
  printf '\n==================== test.sh summary ====================\n'
  local s
  for s in "${STAGES[@]}"; do printf '  %s\n' "$s"; done
  printf '  %-28s %8s  %s\n' "total" "$(fmt $((SECONDS - RUN_START)))" "$([[ $rc == 0 ]] && echo ok || echo FAILED)"
}
trap summary EXIT

stage() {
  CURRENT="$1"
  STAGE_START=$SECONDS
  printf '\n==================== %s ====================\n' "$CURRENT"
}
done_stage() {
  STAGES+=("$(printf '%-28s %8s  %s' "$CURRENT" "$(fmt $((SECONDS - STAGE_START)))" "${1:-ok}")")
  CURRENT=""
}

stage "setup"
bash scripts/setup.sh
done_stage

stage "native: cargo test"
cargo --version
cargo test --workspace
done_stage

stage "wasm: build"
node --test scripts/wasm/
bash scripts/build-wasm.sh
done_stage

stage "wasm: tests under node"
bash scripts/test-wasm.sh
done_stage

stage "sdk: pnpm -r test"
if [[ -f packages/recur/package.json ]]; then
  pnpm -r test
  done_stage
else
  echo "skip: no packages/recur/package.json"
  done_stage "skipped"
fi

# Once per wasm build (each forced with --variant; the threads builds with 2 threads, the threads
# build also in-process, on this thread with one helper), then with
# the build the SDK detects. The relaxed builds need a node that validates relaxed SIMD: Node 20
# only with --experimental-wasm-relaxed-simd (newer Node: no flag).
stage "sdk: conformance replay"
if [[ -f test/conformance/run.mjs ]]; then
  source scripts/relaxed-simd-flag.sh
  # shellcheck disable=SC2207
  relaxed_flags=($(relaxed_simd_node_flag))
  for run in "scalar" "simd" "threads --threads 2" "threads --threads 2 --mode inprocess" "relaxed" "relaxed-threads --threads 2" "auto"; do
    read -r variant rest <<<"$run"
    flags=()
    [[ "$variant" == relaxed* ]] && flags=("${relaxed_flags[@]}")
    echo "--- node ${flags[*]} test/conformance/run.mjs --variant $variant $rest"
    # shellcheck disable=SC2086
    node "${flags[@]}" test/conformance/run.mjs --variant "$variant" $rest
  done
  done_stage
else
  echo "skip: no test/conformance/run.mjs"
  done_stage "skipped"
fi

# The benchmark's quick run (tiny configuration, every library): each of its rows must run. It
# checks that the benchmark still works, not how fast anything is.
stage "bench: quick smoke run"
if [[ -f bench/smoke.mjs ]]; then
  node bench/smoke.mjs
  done_stage
else
  echo "skip: no bench/smoke.mjs"
  done_stage "skipped"
fi

# Each example (examples/*/package.json) has an `example:ci` script: a short real run with
# checks of its output (a browser example also takes its screenshot there).
stage "examples"
pnpm -r --filter "./examples/*" --if-present run example:ci
done_stage

# The API reference (typedoc) and the Rust crates' docs (rustdoc: no broken or ambiguous
# intra-doc links) must build without warnings.
stage "docs"
pnpm -r --if-present run docs:check
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
done_stage
