#!/usr/bin/env bash
# Builds crates/recur-wasm for wasm32 into packages/recur/wasm/<variant>/ (recur_wasm.js,
# recur_wasm_bg.wasm, recur_wasm.d.ts, recur_wasm_bg.wasm.d.ts; wasm-bindgen `--target web`),
# then optimizes the .wasm with binaryen's wasm-opt -Oz (and constant address offsets folded into
# loads and stores: see build_variant).
#
#   bash scripts/build-wasm.sh [--force] [VARIANT...]
#        (default variants: simd scalar threads relaxed relaxed-threads)
#
# Variants (target features of the whole build, std included where std is built here); the SDK
# picks one at load time by feature detection (relaxed-threads > threads, relaxed > simd > scalar):
#   simd     +simd128                 packages/recur/wasm/simd/     (the default single-thread build)
#   scalar   no SIMD                  packages/recur/wasm/scalar/   (runtimes without SIMD)
#   relaxed  +simd128,+relaxed-simd   packages/recur/wasm/relaxed/  (f32x4.relaxed_madd GEMM kernel:
#            fused multiply-add where the host CPU has FMA, so its rounding differs from simd's)
#   threads  +simd128,+atomics,+bulk-memory,+mutable-globals       packages/recur/wasm/threads/
#            wasm threads: shared memory (imported, at most RECUR_WASM_MAX_MEMORY bytes, default
#            1 GiB), the TLS exports wasm-bindgen's thread support needs, std rebuilt with
#            atomics (-Zbuild-std=panic_abort,std, also with the plain toolchain, which then
#            needs the rust-src component and RUSTC_BOOTSTRAP=1).
#   relaxed-threads  threads + relaxed-simd                  packages/recur/wasm/relaxed-threads/
#
# Toolchain (README.md, "Building"):
#   - build-std: where Debian's rustc-web (/usr/bin/rustc, /usr/bin/cargo) and LLVM's wasm-ld
#     are installed (scripts/setup.sh installs them), they build std itself:
#     RUSTC_BOOTSTRAP=1, -Zbuild-std=std,panic_abort, linked by wasm-ld. Preferred whenever it
#     is there, even where rustup has the wasm32 target, because only a std built here can be
#     built for size (below): the plain builds are 318-337 KB, over the 300 KB target.
#   - plain: otherwise, where `rustup target list --installed` shows wasm32-unknown-unknown (an
#     ordinary machine), the rustup cargo builds with its prebuilt std; nothing else is changed.
#   RECUR_WASM_TOOLCHAIN=plain|build-std forces one.
# Size (issue: each .wasm <= 300 KB, read as 300,000 bytes): the build-std toolchain also builds
# std for size and drops the panic machinery, which only the std it builds itself allows (nothing
# reads panic messages: a panic is already an abort, a wasm trap):
#   -Zbuild-std-features=optimize_for_size   std's small sort and float-formatting variants
#   -Zunstable-options -Cpanic=immediate-abort   a panic is `unreachable` at once: no message
#                                               formatting, no locations (about 23 KB)
#   The plain toolchain keeps rustup's prebuilt std (and -Cpanic=abort), so its builds are larger.
#   std's float formatting and parsing are not linked at all (recur_core::decimal does both):
#   a build-std build that links them fails (see build_variant).
# The opt-level of each crate is set in Cargo.toml: everything for size ("z", std included where
# it is built here) except crates/recur-kernels (GEMM, math, cell kernels) at 3. wasm-opt -Oz
# instead of -O3: 4 KB smaller, kernels and training step as fast (Node 20, simd build).
# Front end: wasm-pack (`wasm-pack build --target web --no-pack --no-opt`, plus `--mode force` in
# build-std mode, as its wasm32 target check cannot see a std that cargo builds itself);
# RECUR_WASM_FRONTEND=cargo (or no wasm-pack) runs cargo build + wasm-bindgen directly instead.
# Each variant is skipped while its .wasm is newer than every input (Cargo.toml, Cargo.lock,
# crates/**, this script); --force rebuilds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEFAULT_VARIANTS=(simd scalar threads relaxed relaxed-threads)
CRATE=crates/recur-wasm
OUT_NAME=recur_wasm
TARGET=wasm32-unknown-unknown

say() { printf '[build-wasm] %s\n' "$*"; }
die() { printf '[build-wasm] ERROR: %s\n' "$*" >&2; exit 1; }

force=0
variants=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) variants+=("$arg") ;;
  esac
done
((${#variants[@]})) || variants=("${DEFAULT_VARIANTS[@]}")

# Target features of each variant, and what the .wasm must (+) or must not (-) then contain.
variant_features() {
  case "$1" in
    simd) echo "+simd128" ;;
    scalar) echo "" ;;
    relaxed) echo "+simd128,+relaxed-simd" ;;
    threads) echo "+simd128,+atomics,+bulk-memory,+mutable-globals" ;;
    relaxed-threads) echo "+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals" ;;
    *) die "unknown variant '$1' (simd, scalar, relaxed, threads, relaxed-threads)" ;;
  esac
}
variant_expect() {
  case "$1" in
    simd) echo "+simd128 -relaxed-simd" ;;
    scalar) echo "-simd128 -relaxed-simd" ;;
    relaxed) echo "+simd128 +relaxed-simd" ;;
    threads) echo "+simd128 +atomics -relaxed-simd" ;;
    relaxed-threads) echo "+simd128 +relaxed-simd +atomics" ;;
  esac
}

# Extra linker arguments of a variant. Threads: a shared memory the JS side creates (imported, so
# that helper workers can instantiate the module on the same memory), and the exports wasm-bindgen
# uses to give each thread its own TLS block and stack.
RECUR_WASM_MAX_MEMORY="${RECUR_WASM_MAX_MEMORY:-1073741824}"
variant_link_flags() {
  case "$1" in
    threads|relaxed-threads)
      local a
      for a in --shared-memory --import-memory "--max-memory=$RECUR_WASM_MAX_MEMORY" \
        --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base; do
        printf -- '-C link-arg=%s ' "$a"
      done
      ;;
  esac
}

CARGO_HOME_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_HOME_BIN:"*) ;; *) [[ -d "$CARGO_HOME_BIN" ]] && export PATH="$CARGO_HOME_BIN:$PATH" ;; esac

# ---------------------------------------------------------------------------------------------
# Toolchain: plain (rustup has the wasm32 target) or build-std (Debian's rustc-web)
# ---------------------------------------------------------------------------------------------
has_rustup_wasm_target() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"
}
# Debian's rustc-web, cargo-web and wasm-ld: what the build-std toolchain needs.
has_build_std_toolchain() {
  [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] && { command -v wasm-ld-19 >/dev/null 2>&1 || [[ -x /usr/lib/llvm-19/bin/wasm-ld ]]; }
}
TOOLCHAIN="${RECUR_WASM_TOOLCHAIN:-auto}"
if [[ "$TOOLCHAIN" == auto ]]; then
  if has_build_std_toolchain || ! has_rustup_wasm_target; then TOOLCHAIN=build-std; else TOOLCHAIN=plain; fi
fi
CARGO_EXTRA=()   # arguments after the cargo subcommand's own
LINK_FLAGS=""
SIZE_FLAGS=""    # rustc flags of the build-std toolchain that shrink the .wasm (see the top)
VARIANT_TOOLCHAIN="$TOOLCHAIN"
# use_toolchain plain|build-std: sets up the environment of one toolchain (in a subshell per variant).
use_toolchain() {
  VARIANT_TOOLCHAIN="$1"
  case "$1" in
    plain)
      CARGO_EXTRA=()
      LINK_FLAGS=""
      SIZE_FLAGS=""
      say "toolchain: plain ($(rustc --version)); rustup has the $TARGET target"
      ;;
    build-std)
      [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || die "Debian's rustc-web/cargo-web missing: run scripts/setup.sh"
      local wasm_ld
      wasm_ld="$(command -v wasm-ld-19 || true)"
      [[ -n "$wasm_ld" ]] || wasm_ld=/usr/lib/llvm-19/bin/wasm-ld
      [[ -x "$wasm_ld" ]] || die "wasm-ld (lld-19) missing: run scripts/setup.sh"
      # wasm-pack runs `cargo` and `rustc` from PATH: put Debian's first (not all of /usr/bin, which
      # would also shadow ~/.cargo/bin's tools), and make cargo use Debian's rustc, whose std source
      # (rust-web-src) matches it.
      local shim="$ROOT/target/wasm/toolchain-bin"
      mkdir -p "$shim"
      ln -sfn /usr/bin/cargo "$shim/cargo"
      ln -sfn /usr/bin/rustc "$shim/rustc"
      export PATH="$shim:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
      CARGO_EXTRA=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
      LINK_FLAGS="-C linker=$wasm_ld"
      SIZE_FLAGS="-Zunstable-options -Cpanic=immediate-abort"
      say "toolchain: build-std ($(/usr/bin/rustc --version), linker $wasm_ld)"
      ;;
    *) die "RECUR_WASM_TOOLCHAIN must be plain or build-std, not '$1'" ;;
  esac
}
case "$TOOLCHAIN" in
  plain|build-std) ;;
  *) die "RECUR_WASM_TOOLCHAIN must be plain or build-std, not '$TOOLCHAIN'" ;;
esac
# The threads variant rebuilds std whatever the toolchain: with the plain one that needs rustup's
# rust-src component; without it, that variant takes the build-std toolchain (Debian's rustc-web).
toolchain_for() {
  if [[ "$1" == *threads && "$TOOLCHAIN" == plain ]] \
    && ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo build-std
  else
    echo "$TOOLCHAIN"
  fi
}

FRONTEND="${RECUR_WASM_FRONTEND:-auto}"
if [[ "$FRONTEND" == auto ]]; then
  if command -v wasm-pack >/dev/null 2>&1; then FRONTEND=wasm-pack; else FRONTEND=cargo; fi
fi
command -v wasm-bindgen >/dev/null 2>&1 || die "wasm-bindgen (wasm-bindgen-cli) missing: run scripts/setup.sh"
# wasm-opt: $WASM_OPT, else the one scripts/setup.sh puts in .tools/binaryen (binaryen 132), else
# one on PATH. Binaryen before 116 is refused: Debian 12's 108 turns wasm-bindgen's externref table
# into one that cannot be initialized ("Table.set(): Argument 1 is invalid for table").
WASM_OPT="${WASM_OPT:-}"
if [[ -z "$WASM_OPT" ]]; then
  if [[ -x "$ROOT/.tools/binaryen/node_modules/.bin/wasm-opt" ]]; then
    WASM_OPT="$ROOT/.tools/binaryen/node_modules/.bin/wasm-opt"
  else
    WASM_OPT="$(command -v wasm-opt || true)"
  fi
fi
[[ -n "$WASM_OPT" ]] || die "wasm-opt (binaryen) missing: run scripts/setup.sh"
WASM_OPT_VERSION="$("$WASM_OPT" --version | sed -nE 's/^wasm-opt version ([0-9]+).*/\1/p')"
((${WASM_OPT_VERSION:-0} >= 116)) || die "$WASM_OPT is binaryen ${WASM_OPT_VERSION:-?}; 116 or newer is needed: run scripts/setup.sh"
command -v node >/dev/null 2>&1 || die "node missing"
# Node flags that make this node accept relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd;
# newer Node: none), to read and load the relaxed builds.
RELAXED_PROBE='new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,19,1,17,0,65,0,253,15,65,0,253,15,65,0,253,15,253,133,2,11])'
NODE_RELAXED_FLAGS=()
if ! node -e "process.exit(WebAssembly.validate($RELAXED_PROBE) ? 0 : 1)" 2>/dev/null; then
  node --experimental-wasm-relaxed-simd -e "process.exit(WebAssembly.validate($RELAXED_PROBE) ? 0 : 1)" 2>/dev/null \
    && NODE_RELAXED_FLAGS=(--experimental-wasm-relaxed-simd)
fi
say "front end: $FRONTEND ($( [[ $FRONTEND == wasm-pack ]] && wasm-pack --version || cargo --version)), $(wasm-bindgen --version), wasm-opt $WASM_OPT_VERSION ($WASM_OPT)"

# target_features FILE: the features a .wasm declares in its `target_features` section.
target_features() {
  node "${NODE_RELAXED_FLAGS[@]}" -e '
    const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
    const out = [];
    for (const s of WebAssembly.Module.customSections(m, "target_features")) {
      const b = new Uint8Array(s); let i = 0;
      const leb = () => { let r = 0, sh = 0, x; do { x = b[i++]; r |= (x & 0x7f) << sh; sh += 7; } while (x & 0x80); return r; };
      for (let n = leb(); n > 0; n--) {
        const prefix = String.fromCharCode(b[i++]); const len = leb();
        if (prefix !== "-") out.push(new TextDecoder().decode(b.subarray(i, i + len)));
        i += len;
      }
    }
    console.log(out.join(" "));' "$1"
}

# wasm_opt_flags FEATURES...: binaryen's switches for the features rustc declared.
wasm_opt_flags() {
  local f flags=()
  for f in "$@"; do
    case "$f" in
      simd128) flags+=(--enable-simd) ;;
      relaxed-simd) flags+=(--enable-relaxed-simd) ;;
      bulk-memory|bulk-memory-opt) flags+=(--enable-bulk-memory) ;;
      nontrapping-fptoint) flags+=(--enable-nontrapping-float-to-int) ;;
      sign-ext) flags+=(--enable-sign-ext) ;;
      mutable-globals) flags+=(--enable-mutable-globals) ;;
      reference-types|call-indirect-overlong) flags+=(--enable-reference-types) ;;
      multivalue) flags+=(--enable-multivalue) ;;
      atomics) flags+=(--enable-threads) ;;
      exception-handling) flags+=(--enable-exception-handling) ;;
      tail-call) flags+=(--enable-tail-call) ;;
      extended-const) flags+=(--enable-extended-const) ;;
      multimemory) flags+=(--enable-multimemory) ;;
      *) die "no wasm-opt switch known for the wasm feature '$f'" ;;
    esac
  done
  printf '%s\n' "${flags[@]}" | sort -u | tr '\n' ' '
}

# ---------------------------------------------------------------------------------------------
# Build each variant
# ---------------------------------------------------------------------------------------------
build_variant() {
  local variant="$1" features out tdir stage raw feats
  features="$(variant_features "$variant")"
  out="$ROOT/packages/recur/wasm/$variant"
  tdir="$ROOT/target/wasm/$variant"          # one target dir per variant: no flip-flop rebuilds
  stage="$tdir/pkg"
  local wasm="$out/${OUT_NAME}_bg.wasm"

  if ((force == 0)) && [[ -f "$wasm" && -f "$out/$OUT_NAME.js" && -f "$out/$OUT_NAME.d.ts" ]]; then
    local newer
    newer="$(find Cargo.toml Cargo.lock crates scripts/build-wasm.sh scripts/wasm -type f -newer "$wasm" -print -quit)"
    if [[ -z "$newer" ]]; then
      say "skip $variant: $wasm is newer than its inputs"
      return 0
    fi
    say "rebuild $variant: $newer changed"
  fi

  say "build $variant (target features: ${features:-none}) -> ${out#"$ROOT"/}"
  local rustflags="${RUSTFLAGS:-}"
  [[ -n "$features" ]] && rustflags+=" -C target-feature=$features"
  [[ -n "$LINK_FLAGS" ]] && rustflags+=" $LINK_FLAGS"
  [[ -n "$SIZE_FLAGS" ]] && rustflags+=" $SIZE_FLAGS"
  rustflags+=" $(variant_link_flags "$variant")"
  # std must be rebuilt with atomics for threads, whatever the toolchain (the prebuilt std of the
  # wasm32 target has none); panic_abort first, as projects with wasm threads build it.
  local cargo_extra=("${CARGO_EXTRA[@]}")
  local bootstrap="${RUSTC_BOOTSTRAP:-}"
  if [[ "$variant" == *threads ]]; then
    cargo_extra=(-Zbuild-std=panic_abort,std)
    [[ "$VARIANT_TOOLCHAIN" == build-std ]] && cargo_extra+=(-Zbuild-std-features=optimize_for_size)
    bootstrap=1
  fi
  local envs=(CARGO_TARGET_DIR="$tdir" RUSTFLAGS="$rustflags")
  [[ -n "$bootstrap" ]] && envs+=(RUSTC_BOOTSTRAP="$bootstrap")
  rm -rf "$stage"
  mkdir -p "$stage"

  if [[ "$FRONTEND" == wasm-pack ]]; then
    local mode=()
    [[ "$VARIANT_TOOLCHAIN" == build-std ]] && mode=(--mode force)
    # wasm-pack finds wasm-bindgen on PATH (the exact version the lock file names) and
    # downloads nothing; wasm-opt runs below, with the flags of the variant.
    env "${envs[@]}" \
      wasm-pack build "${mode[@]}" --release --target web --no-pack --no-opt --no-gitignore \
      --out-dir "$stage" --out-name "$OUT_NAME" "$CRATE" -- "${cargo_extra[@]}"
  else
    env "${envs[@]}" \
      cargo build --release --lib --target "$TARGET" -p recur-wasm "${cargo_extra[@]}"
    wasm-bindgen --target web --out-dir "$stage" --out-name "$OUT_NAME" \
      "$tdir/$TARGET/release/recur_wasm.wasm"
  fi

  # What rustc compiled in decides wasm-opt's feature switches, and is checked against the variant.
  raw="$tdir/$TARGET/release/recur_wasm.wasm"
  feats="$(target_features "$raw")"
  local e
  for e in $(variant_expect "$variant"); do
    case "$e" in
      +*) [[ " $feats " == *" ${e#+} "* ]] || die "$variant build lacks ${e#+} (features: $feats)" ;;
      -*) [[ " $feats " != *" ${e#-} "* ]] || die "$variant build contains ${e#-} (features: $feats)" ;;
    esac
  done
  # Size: std's float formatting and parsing (core::fmt::float, flt2dec, dec2flt: about 29 KB
  # with their tables) must stay out; recur-core formats and parses floats itself
  # (recur_core::decimal). The raw build still has its function names to check.
  if [[ "$VARIANT_TOOLCHAIN" == build-std ]] && grep -a -q -E 'flt2dec|dec2flt|3fmt5float' "$raw"; then
    die "$variant links std's float formatting or parsing: write floats in messages with recur_core::decimal::Text (or Error::range), parse with recur_core::decimal::parse_f64"
  fi
  local flags
  # shellcheck disable=SC2046
  flags="$(wasm_opt_flags $feats)"
  # --optimize-added-constants-propagate: `load(p + 16)` becomes `load offset=16 (p)`, which V8
  # folds into the x64 addressing mode; rustc/LLVM emit the add (the GEMM kernel's B loads, the
  # cell kernels' row offsets), and V8 then spends an instruction on it per load. Medium LSTM,
  # bindings, Node 20: forward 9.35 -> 8.70 ms, training step 26.8 -> 24.8 ms. binaryen only does
  # this under --low-memory-unused: an `i32.add` wraps where an offset does not, so the two differ
  # only when `p + 16` passes 4 GiB, which an access inside one of the program's objects never
  # does. SIMD loads (the kernel's A loads, v128.load32_splat) are not covered by the pass
  # (binaryen 132): folded just below.
  local opt input="$stage/${OUT_NAME}_bg.wasm"
  # shellcheck disable=SC2206
  opt=(-Oz $flags --low-memory-unused --optimize-added-constants-propagate)
  if [[ " $feats " == *" simd128 "* ]]; then
    # The SIMD loads' added constants, which the pass above leaves, are folded in binaryen's text
    # form first (scripts/wasm/fold-simd-load-offsets.mjs), under the same assumption.
    local folded
    # shellcheck disable=SC2086
    "$WASM_OPT" $flags "$input" --print >"$stage/unfolded.wast"
    folded="$(node "$ROOT/scripts/wasm/fold-simd-load-offsets.mjs" "$stage/unfolded.wast" "$stage/folded.wast")"
    ((folded > 0)) || die "$variant: no SIMD load offset folded (has binaryen's text format changed?)"
    say "folded the added constants of $folded SIMD loads into their offsets"
    input="$stage/folded.wast"
  fi
  say "wasm-opt ${opt[*]} (features: $feats)"
  "$WASM_OPT" "${opt[@]}" "$input" -o "$stage/${OUT_NAME}_bg.opt.wasm"
  mv "$stage/${OUT_NAME}_bg.opt.wasm" "$stage/${OUT_NAME}_bg.wasm"

  mkdir -p "$out"
  local f
  for f in "$OUT_NAME.js" "$OUT_NAME.d.ts" "${OUT_NAME}_bg.wasm.d.ts" "${OUT_NAME}_bg.wasm"; do
    [[ -f "$stage/$f" ]] || die "$variant: $f was not generated"
    cp "$stage/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"   # the .wasm last: it is the stamp
  done
  # Must load: instantiate it in Node and call version().
  node "${NODE_RELAXED_FLAGS[@]}" --input-type=module -e '
    import { readFile } from "node:fs/promises";
    const dir = process.argv[1];
    const mod = await import(dir + "/recur_wasm.js");
    await mod.default({ module_or_path: await readFile(dir + "/recur_wasm_bg.wasm") });
    console.log("[build-wasm] loaded in node: version() = " + mod.version());' "$out"
}

for v in "${variants[@]}"; do
  ( use_toolchain "$(toolchain_for "$v")"; build_variant "$v" )
done

say "sizes:"
for v in "${variants[@]}"; do
  w="packages/recur/wasm/$v/${OUT_NAME}_bg.wasm"
  printf '[build-wasm]   %-15s %8d bytes  %s\n' "$v" "$(stat -c %s "$w")" "$w"
done
