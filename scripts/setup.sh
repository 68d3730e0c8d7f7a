#!/usr/bin/env bash
# Installs everything recur needs to build and test, on a bare Debian 12 machine or a developer's
# one. Idempotent: every step checks what is there (and its version) and skips what is present.
#
#   bash scripts/setup.sh
#
# What it installs (see README.md, "Building"):
#   - Debian packages: rustc-web cargo-web rust-web-src lld-19 (a Rust that builds std for wasm32
#     itself, with -Zbuild-std), binaryen (wasm-opt), chromium chromium-driver (browser tests).
#     `apt-get update` runs only when something is missing. Skipped where apt-get is absent.
#   - wasm-bindgen-cli at exactly the version of the `wasm-bindgen` crate pinned in
#     crates/recur-wasm/Cargo.toml (also gives wasm-bindgen-test-runner), and wasm-pack 0.15.1,
#     both with `cargo install` from the crates registry.
#   - binaryen 132's wasm-opt (npm package, into .tools/binaryen): Debian's wasm-opt 108 breaks
#     wasm-bindgen's output.
#   - pnpm 12.4.2 (npm i -g) and the workspace's node_modules (pnpm install --frozen-lockfile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WASM_PACK_VERSION=0.15.1
PNPM_VERSION=12.4.2
APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-19 binaryen chromium chromium-driver)

# cargo install puts its binaries here; a fresh shell may not have it on PATH yet.
CARGO_HOME_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_HOME_BIN:"*) ;; *) export PATH="$CARGO_HOME_BIN:$PATH" ;; esac

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" == "install ok installed" ]]; then
      say "skip apt $pkg: installed ($(dpkg-query -W -f='${Version}' "$pkg"))"
    else
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    SUDO=()
    if [[ "$(id -u)" != 0 ]]; then
      command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
      SUDO=(sudo)
    fi
    say "apt-get update (missing: ${missing[*]})"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    say "apt-get install ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q "${missing[@]}" </dev/null
  fi
else
  say "skip apt: no apt-get here; install ${APT_PACKAGES[*]} (or their equivalents) yourself"
fi

# ---------------------------------------------------------------------------------------------
# 2. cargo-installed tools: wasm-bindgen-cli (exact version of the crate) and wasm-pack
# ---------------------------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (rustup) first"

# The version pinned as `wasm-bindgen = "=X.Y.Z"` in crates/recur-wasm/Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -nE 's/^wasm-bindgen[[:space:]]*=[[:space:]]*"=?([0-9][0-9.]*)".*/\1/p' \
  crates/recur-wasm/Cargo.toml | head -n1)"
[[ -n "$WASM_BINDGEN_VERSION" ]] || die "no wasm-bindgen version pin found in crates/recur-wasm/Cargo.toml"

# installed_version TOOL: the version TOOL --version prints, or nothing.
installed_version() {
  command -v "$1" >/dev/null 2>&1 || return 0
  "$1" --version 2>/dev/null | sed -nE 's/^[^0-9]*([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' | head -n1
}

# cargo_install CRATE VERSION BIN: installs CRATE at exactly VERSION unless BIN reports it.
# Tries --locked first (the crate's own lock file); some crates lock versions the registry no
# longer serves (wasm-bindgen-cli 0.2.130 locks webpki-roots 1.0.11), then it resolves afresh.
cargo_install() {
  local crate="$1" version="$2" bin="$3" have
  have="$(installed_version "$bin")"
  if [[ "$have" == "$version" ]]; then
    say "skip $crate: $bin $have installed ($(command -v "$bin"))"
    return 0
  fi
  say "cargo install $crate --version =$version${have:+ (found $have)}"
  if ! cargo install "$crate" --version "=$version" --locked; then
    say "cargo install --locked of $crate failed; retrying without --locked"
    cargo install "$crate" --version "=$version"
  fi
  have="$(installed_version "$bin")"
  [[ "$have" == "$version" ]] || die "$bin reports '${have:-nothing}' after installing $crate $version"
}

cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
[[ "$(installed_version wasm-bindgen-test-runner)" == "$WASM_BINDGEN_VERSION" ]] \
  || die "wasm-bindgen-test-runner is not $WASM_BINDGEN_VERSION"
cargo_install wasm-pack "$WASM_PACK_VERSION" wasm-pack

# ---------------------------------------------------------------------------------------------
# 3. pnpm and the JavaScript workspace
# ---------------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20+ first"
have_pnpm="$(installed_version pnpm)"
if [[ "$have_pnpm" == "$PNPM_VERSION" ]]; then
  say "skip pnpm: $have_pnpm installed"
else
  say "npm i -g pnpm@$PNPM_VERSION${have_pnpm:+ (found $have_pnpm)}"
  npm i -g "pnpm@$PNPM_VERSION" </dev/null
  hash -r
  [[ "$(installed_version pnpm)" == "$PNPM_VERSION" ]] || die "pnpm $PNPM_VERSION did not install"
fi

# binaryen's wasm-opt, newer than Debian 12's (108, which breaks the externref table that
# wasm-bindgen 0.2.130 emits: "Table.set(): Argument 1 is invalid for table"). The npm package is
# binaryen compiled to wasm, run by node; kept in .tools/ (git-ignored), out of the SDK's deps.
BINARYEN_VERSION=132.0.0
BINARYEN_DIR="$ROOT/.tools/binaryen"
have_wasm_opt="$( [[ -x "$BINARYEN_DIR/node_modules/.bin/wasm-opt" ]] \
  && "$BINARYEN_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | sed -nE 's/^wasm-opt version ([0-9]+).*/\1/p' || true)"
if [[ "$have_wasm_opt" == "${BINARYEN_VERSION%%.*}" ]]; then
  say "skip binaryen: .tools/binaryen has wasm-opt $have_wasm_opt"
else
  say "npm install binaryen@$BINARYEN_VERSION into .tools/binaryen${have_wasm_opt:+ (found $have_wasm_opt)}"
  mkdir -p "$BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION" </dev/null
fi

if [[ -f pnpm-lock.yaml ]]; then
  # pnpm itself skips the work when node_modules already matches the lock file.
  say "pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile </dev/null
else
  say "skip pnpm install: no pnpm-lock.yaml"
fi

say "done"
