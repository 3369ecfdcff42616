#!/usr/bin/env bash
# Makes sure the build tools Handoff needs are installed, skipping whatever is already there at the
# right version. Safe to run again and again.
#
#   bash scripts/setup.sh             # debug tools: wasm32 target, cargo-leptos, wasm-bindgen, rsvg-convert
#   bash scripts/setup.sh --release   # the same, plus wasm-opt (binaryen from npm) for release builds
#   source scripts/setup.sh [--release]
#
# Sourcing it also leaves PATH (cargo bin dir, wasm-opt) and LEPTOS_OUTPUT_NAME exported in the
# caller's shell; running it only checks and installs.
#
# Why these exact versions (see also shared notes, "cargo-leptos offline"):
# - cargo-leptos 0.3.10 with --locked: 0.3.11's lockfile needs a newer rustc than this toolchain.
#   `--features no_downloads` makes a missing tool an error instead of a download from GitHub,
#   which is unreachable from these machines.
# - wasm-bindgen CLI must equal the `wasm-bindgen` crate in Cargo.lock to the patch (=0.2.130).
#   It is installed WITHOUT --locked: its own lockfile pins a crate that is gone from the index.
# - wasm-opt: Debian's binaryen is too old for current rustc output; npm's binaryen@132 works.
#
# Environment knobs: HANDOFF_SETUP_RELEASE=1 (same as --release), HANDOFF_TOOLS_DIR (default
# $HOME/.cache/handoff, where binaryen is installed).

HANDOFF_CARGO_LEPTOS_VERSION="0.3.10"
HANDOFF_WASM_BINDGEN_VERSION="0.2.130"
HANDOFF_BINARYEN_VERSION="132"

_hs_say() { printf '[setup] %s\n' "$*"; }
_hs_err() { printf '[setup] ERROR: %s\n' "$*" >&2; }

# Prints the version number found in a tool's `--version` output (first number, x[.y[.z]], on the first line).
_hs_version_of() {
  # `|| true`: a missing tool prints nothing, and that must not trip a caller's `set -e -o pipefail`.
  { "$@" 2>/dev/null | head -n 1 | grep -oE '[0-9]+(\.[0-9]+)*' | head -n 1; } || true
}

_hs_check_prereqs() {
  local missing=0
  if ! command -v rustup >/dev/null 2>&1; then
    _hs_err "rustup not found. Install the Rust toolchain with rustup (https://rustup.rs) and make sure ~/.cargo/bin is on PATH."
    missing=1
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    _hs_err "cargo not found. Install the Rust toolchain with rustup (stable, 1.95 or newer) and make sure ~/.cargo/bin is on PATH."
    missing=1
  fi
  if ! command -v cc >/dev/null 2>&1; then
    _hs_err "cc not found (a C compiler/linker is needed by Rust crates). Install it: apt-get install -y gcc   (or build-essential)"
    missing=1
  fi
  if ! command -v node >/dev/null 2>&1; then
    _hs_err "node not found (needed for Playwright browser tests and wasm-opt). Install Node.js 20+: apt-get install -y nodejs npm"
    missing=1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    _hs_err "npm not found (needed for Playwright browser tests and wasm-opt). Install it: apt-get install -y npm"
    missing=1
  fi
  if [ "$missing" -ne 0 ]; then
    return 1
  fi
  _hs_say "prerequisites: rustup, cargo, cc, node $(node --version 2>/dev/null), npm $(npm --version 2>/dev/null): present"
}

_hs_wasm_target() {
  local installed
  installed=$(rustup target list --installed 2>/dev/null) || installed=""
  if grep -qx 'wasm32-unknown-unknown' <<<"$installed"; then
    _hs_say "rust target wasm32-unknown-unknown: present"
    return 0
  fi
  _hs_say "rust target wasm32-unknown-unknown: missing, installing (rustup target add)"
  if ! rustup target add wasm32-unknown-unknown; then
    _hs_err "could not add the wasm32-unknown-unknown target. Run: rustup target add wasm32-unknown-unknown"
    return 1
  fi
  _hs_say "rust target wasm32-unknown-unknown: installed"
}

# Waits for an install of the same crate that is already running (e.g. a background job), instead
# of starting a second build that would fight it for the cargo lock and the CPU.
_hs_wait_for_running_install() {
  local crate="$1" waited=0
  # The bracket keeps pgrep from matching a shell whose own command line contains this pattern.
  while pgrep -f "[c]argo install ${crate}( |$)" >/dev/null 2>&1; do
    if [ "$waited" -eq 0 ]; then
      _hs_say "${crate}: another 'cargo install ${crate}' is running; waiting for it to finish"
    fi
    sleep 15
    waited=$((waited + 15))
    if [ $((waited % 300)) -eq 0 ]; then
      _hs_say "${crate}: still waiting for the running install (${waited}s)"
    fi
  done
}

_hs_cargo_leptos() {
  local want="$HANDOFF_CARGO_LEPTOS_VERSION" have
  _hs_wait_for_running_install cargo-leptos
  have=$(_hs_version_of cargo leptos --version)
  if [ "$have" = "$want" ]; then
    _hs_say "cargo-leptos $want: present"
    return 0
  fi
  local force=()
  if [ -n "$have" ]; then
    _hs_say "cargo-leptos: found $have, need $want; reinstalling (about 13 minutes on 2 cores)"
    force=(--force)
  else
    _hs_say "cargo-leptos $want: missing, installing (about 13 minutes on 2 cores)"
  fi
  if ! cargo install cargo-leptos --version "$want" --locked --features no_downloads "${force[@]}"; then
    _hs_err "installing cargo-leptos failed. Run: cargo install cargo-leptos --version $want --locked --features no_downloads"
    return 1
  fi
  have=$(_hs_version_of cargo leptos --version)
  if [ "$have" != "$want" ]; then
    _hs_err "cargo leptos --version reports '${have:-nothing}' after installing $want (is another cargo-leptos earlier on PATH?)"
    return 1
  fi
  _hs_say "cargo-leptos $want: installed"
}

_hs_wasm_bindgen() {
  local want="$HANDOFF_WASM_BINDGEN_VERSION" have
  _hs_wait_for_running_install wasm-bindgen-cli
  have=$(_hs_version_of wasm-bindgen --version)
  if [ "$have" = "$want" ]; then
    _hs_say "wasm-bindgen CLI $want: present"
  else
    local force=()
    if [ -n "$have" ]; then
      _hs_say "wasm-bindgen CLI: found $have, need $want; reinstalling (a few minutes)"
      force=(--force)
    else
      _hs_say "wasm-bindgen CLI $want: missing, installing (a few minutes)"
    fi
    # No --locked on purpose: the crate's lockfile pins a dependency that is no longer in the index.
    if ! cargo install wasm-bindgen-cli --version "=$want" "${force[@]}"; then
      _hs_err "installing wasm-bindgen-cli failed. Run: cargo install wasm-bindgen-cli --version =$want"
      return 1
    fi
    have=$(_hs_version_of wasm-bindgen --version)
    if [ "$have" != "$want" ]; then
      _hs_err "wasm-bindgen --version reports '${have:-nothing}' after installing $want (is another wasm-bindgen earlier on PATH?)"
      return 1
    fi
    _hs_say "wasm-bindgen CLI $want: installed"
  fi
  # The CLI and the crate must match to the patch, or the front-end build fails late and obscurely.
  if [ -f Cargo.lock ]; then
    local locked
    locked=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock) || locked=""
    if [ -n "$locked" ] && [ "$locked" != "$want" ]; then
      _hs_err "Cargo.lock has wasm-bindgen $locked but the CLI is $want: pin wasm-bindgen = \"=$want\" in Cargo.toml"
      return 1
    fi
  fi
}

_hs_wasm_opt() {
  local want="$HANDOFF_BINARYEN_VERSION"
  local dir="${HANDOFF_TOOLS_DIR:-$HOME/.cache/handoff}/binaryen"
  local bin="$dir/node_modules/.bin"
  local have
  have=$(_hs_version_of "$bin/wasm-opt" --version)
  if [ "${have%%.*}" != "$want" ]; then
    _hs_say "wasm-opt (npm binaryen@$want): missing, installing into $dir"
    mkdir -p "$dir" || return 1
    if [ ! -f "$dir/package.json" ]; then
      printf '{ "name": "handoff-tools-binaryen", "private": true }\n' >"$dir/package.json"
    fi
    if ! (cd "$dir" && npm install --no-audit --no-fund --save-exact "binaryen@$want" >/dev/null); then
      _hs_err "npm install binaryen@$want failed. Run: (mkdir -p $dir && cd $dir && npm install binaryen@$want)"
      return 1
    fi
    have=$(_hs_version_of "$bin/wasm-opt" --version)
    if [ "${have%%.*}" != "$want" ]; then
      _hs_err "wasm-opt from binaryen@$want does not run (got '${have:-nothing}')"
      return 1
    fi
    _hs_say "wasm-opt $have (npm binaryen@$want): installed"
  else
    _hs_say "wasm-opt $have (npm binaryen@$want): present"
  fi
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) PATH="$bin:$PATH" ;;
  esac
  export PATH
  local first
  first=$(command -v wasm-opt) || first=""
  if [ "$first" != "$bin/wasm-opt" ]; then
    _hs_err "PATH finds $first before $bin/wasm-opt"
    return 1
  fi
}

# A command the tests run, from a Debian package, installed when missing:
#   _hs_apt_tool COMMAND PACKAGE WHY
_hs_apt_tool() {
  local tool="$1" package="$2" why="$3"
  if command -v "$tool" >/dev/null 2>&1; then
    _hs_say "$tool: present"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    _hs_err "$tool not found ($why). Install it: apt-get install -y $package"
    return 1
  fi
  _hs_say "$tool: missing, installing (apt-get install -y $package)"
  if ! apt-get install -y "$package" >/dev/null; then
    if ! { apt-get update >/dev/null && apt-get install -y "$package" >/dev/null; }; then
      _hs_err "apt-get install -y $package failed"
      return 1
    fi
  fi
  _hs_say "$tool: installed"
}

handoff_setup() {
  local release="${HANDOFF_SETUP_RELEASE:-0}" arg
  for arg in "$@"; do
    case "$arg" in
      --release) release=1 ;;
      --debug) release=0 ;;
    esac
  done

  # cargo-installed tools live here; a fresh login shell may not have it on PATH yet.
  local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  case ":$PATH:" in
    *":$cargo_bin:"*) ;;
    *) if [ -d "$cargo_bin" ]; then PATH="$cargo_bin:$PATH"; fi ;;
  esac
  export PATH

  # cargo-leptos and plain `cargo test` must agree on this, or they rebuild each other's artifacts.
  export LEPTOS_OUTPUT_NAME=handoff

  _hs_check_prereqs || return 1
  _hs_wasm_target || return 1
  _hs_cargo_leptos || return 1
  _hs_wasm_bindgen || return 1
  # The QR code tests rasterise SVG codes with librsvg before decoding them (tests/api/qr.rs);
  # the print tests read PDFs back with poppler and decode their codes with zbar
  # (tests/api/print.rs).
  _hs_apt_tool rsvg-convert librsvg2-bin "the QR code tests rasterise SVGs with it" || return 1
  _hs_apt_tool pdftoppm poppler-utils "the print tests rasterise PDFs with it" || return 1
  _hs_apt_tool zbarimg zbar-tools "the print tests decode every QR code on a sheet with it" || return 1
  if [ "$release" = "1" ]; then
    _hs_wasm_opt || return 1
  else
    _hs_say "wasm-opt: not needed for debug builds (use --release for it)"
  fi
  _hs_say "all build tools ready"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Run as a script: work from the repository root so the Cargo.lock check sees the right file.
  cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1
  handoff_setup "$@"
  exit $?
else
  handoff_setup "$@"
fi
