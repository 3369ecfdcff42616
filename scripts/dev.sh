#!/usr/bin/env bash
# Quick start: installs the build tools if needed, builds the release binary and site, and starts
# Handoff on http://127.0.0.1:3000 (SQLite under ./data unless configured otherwise).
#
#   bash scripts/dev.sh                 # build and serve
#   bash scripts/dev.sh --help          # arguments are passed to `handoff serve`
#
# The first run installs cargo-leptos (about 13 minutes on 2 cores) and builds everything (about
# 6 minutes); later runs only rebuild what changed.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# Sourced: leaves PATH (cargo tools, wasm-opt) and LEPTOS_OUTPUT_NAME exported for the build.
# shellcheck source=scripts/setup.sh
source scripts/setup.sh --release

echo "[dev] cargo leptos build --release"
cargo leptos build --release

export LEPTOS_SITE_ROOT=target/site
export LEPTOS_OUTPUT_NAME=handoff
echo "[dev] starting: target/release/handoff serve $*"
exec target/release/handoff serve "$@"
