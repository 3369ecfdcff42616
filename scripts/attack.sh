#!/usr/bin/env bash
# Floods a release build of Handoff on loopback (logins, referral links, slowloris) and reports
# whether it holds: 429s a second, peak memory under the login flood (goal < 300 MB), a real
# visitor's redirects during the floods, and no 5xx. See scripts/attack.py for the phases.
#
#   bash scripts/attack.sh [--logins N] [--seconds S] [--sockets N]
#
# Traffic stays on 127.0.0.1 (port 3911). Needs python3 (standard library only).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

echo "[attack] building the release binary"
cargo build --release -q -p server --bin handoff
# The slowloris phase holds thousands of sockets: more than the usual soft limit of 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 scripts/attack.py target/release/handoff "$@"
