#!/usr/bin/env bash
# Runs recur-wasm's wasm tests (crates/recur-wasm/tests/*.rs, wasm-bindgen-test) compiled for
# wasm32 with +simd128, under Node, with wasm-bindgen-test-runner as cargo's runner. Among them
# crates/recur-wasm/tests/kernels_wasm.rs: the core's simd128 GEMM kernels against the reference.
#
#   bash scripts/test-wasm.sh [extra cargo test args, e.g. a test name filter]
#
# Same toolchain choice as scripts/build-wasm.sh (README.md, "Building"): the rustup cargo where
# rustup has the wasm32-unknown-unknown target, else Debian's rustc-web with -Zbuild-std
# (RECUR_WASM_TOOLCHAIN=plain|build-std forces one). Builds into target/wasm/test.
# Doc tests are not run for wasm (`--tests`): the native `cargo test --workspace` runs them.
# Then kernels_wasm.rs again with +simd128,+relaxed-simd (into target/wasm/test-relaxed): the
# relaxed builds' GEMM kernel against the reference and their four-lane math's error bound, under
# --experimental-wasm-relaxed-simd where this Node needs the flag (Node 20; newer ones do not).
# Extra arguments go to the first run only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown
FEATURES="+simd128"

say() { printf '[test-wasm] %s\n' "$*"; }
die() { printf '[test-wasm] ERROR: %s\n' "$*" >&2; exit 1; }

CARGO_HOME_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_HOME_BIN:"*) ;; *) [[ -d "$CARGO_HOME_BIN" ]] && export PATH="$CARGO_HOME_BIN:$PATH" ;; esac

RUNNER="$(command -v wasm-bindgen-test-runner || true)"
[[ -n "$RUNNER" ]] || die "wasm-bindgen-test-runner (wasm-bindgen-cli) missing: run scripts/setup.sh"
command -v node >/dev/null 2>&1 || die "node missing"

TOOLCHAIN="${RECUR_WASM_TOOLCHAIN:-auto}"
if [[ "$TOOLCHAIN" == auto ]]; then
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    TOOLCHAIN=plain
  else
    TOOLCHAIN=build-std
  fi
fi
CARGO=cargo
CARGO_EXTRA=()
RUSTFLAGS_ALL="${RUSTFLAGS:-} -C target-feature=$FEATURES"
case "$TOOLCHAIN" in
  plain)
    say "toolchain: plain ($(rustc --version))"
    ;;
  build-std)
    [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || die "Debian's rustc-web/cargo-web missing: run scripts/setup.sh"
    WASM_LD="$(command -v wasm-ld-19 || true)"
    [[ -n "$WASM_LD" ]] || WASM_LD=/usr/lib/llvm-19/bin/wasm-ld
    [[ -x "$WASM_LD" ]] || die "wasm-ld (lld-19) missing: run scripts/setup.sh"
    CARGO=/usr/bin/cargo
    export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
    [[ -x /usr/bin/rustdoc ]] && export RUSTDOC=/usr/bin/rustdoc
    CARGO_EXTRA=(-Zbuild-std=std,panic_abort)
    RUSTFLAGS_ALL+=" -C linker=$WASM_LD"
    say "toolchain: build-std ($(/usr/bin/rustc --version), linker $WASM_LD)"
    ;;
  *) die "RECUR_WASM_TOOLCHAIN must be plain or build-std, not '$TOOLCHAIN'" ;;
esac
say "runner: $RUNNER ($("$RUNNER" --version)), node $(node --version), target features $FEATURES"

# No debug info in this build (the test profile's default): it would double the time spent
# compiling std and the dependencies for wasm, and the runner reports panics without it.
CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-0}" \
CARGO_TARGET_DIR="$ROOT/target/wasm/test" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$RUNNER" \
RUSTFLAGS="$RUSTFLAGS_ALL" \
  "$CARGO" test -p recur-wasm --target "$TARGET" --tests "${CARGO_EXTRA[@]}" "$@"

source "$ROOT/scripts/relaxed-simd-flag.sh"
# wasm-bindgen-test-runner passes NODE_ARGS to node, split at commas.
NODE_ARGS_RELAXED="${NODE_ARGS:-}"
relaxed_flag="$(relaxed_simd_node_flag)"
[[ -n "$relaxed_flag" ]] && NODE_ARGS_RELAXED="${NODE_ARGS_RELAXED:+$NODE_ARGS_RELAXED,}$relaxed_flag"
say "relaxed-SIMD run: target features +simd128,+relaxed-simd, node args: ${NODE_ARGS_RELAXED:-none}"
CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-0}" \
CARGO_TARGET_DIR="$ROOT/target/wasm/test-relaxed" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$RUNNER" \
NODE_ARGS="$NODE_ARGS_RELAXED" \
RUSTFLAGS="${RUSTFLAGS_ALL/+simd128/+simd128,+relaxed-simd}" \
  "$CARGO" test -p recur-wasm --target "$TARGET" --test kernels_wasm "${CARGO_EXTRA[@]}"
