#!/usr/bin/env bash
# Load test of `POST /api/v1/conversions` on SQLite (release build): every request is a new
# event for a new friend with a referral code, so each one creates a lead, qualifies it and
# creates a reward (the heaviest path). Then the same event ids again, to price duplicates.
# The bare axum server (server/examples/bare_redirect.rs) runs in the same session as a yardstick
# for how fast this machine is right now.
#
#   bash scripts/bench-conversions.sh [SECONDS] [CONNECTIONS]     (defaults: 20 and 16)
#
# Needs wrk, sqlite3, curl, python3.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

DURATION="${1:-20}"
CONNECTIONS="${2:-16}"
PORT=3911
BARE_PORT=3912

for tool in wrk sqlite3 curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

echo "[bench] building release binaries"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p server --bin handoff --example bare_redirect

DATA=$(mktemp -d /tmp/handoff-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DATA"; }
trap cleanup EXIT

export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
KEY=$(target/release/handoff api-key create --name bench 2>/dev/null)
# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
target/release/handoff serve >"$DATA/server.log" 2>&1 &
PIDS+=($!)
target/release/examples/bare_redirect "127.0.0.1:$BARE_PORT" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

API="http://127.0.0.1:$PORT/api/v1"
curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"name":"Bench","slug":"bench"}' "$API/campaigns" >/dev/null
: >"$DATA/codes.txt"
for i in $(seq 100); do
  curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "{\"campaign\":\"bench\",\"name\":\"Referrer $i\",\"email\":\"r$i@example.com\"}" "$API/referrers" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])' >>"$DATA/codes.txt"
done

run_wrk() { # URL PREFIX -> "requests_per_second total non2xx"
  KEY="$KEY" PREFIX="$2" CODES_FILE="$DATA/codes.txt" \
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s scripts/bench/conversions.lua "$1" | awk '
    /requests in/ {total=$1}
    /Requests\/sec/ {rps=$2}
    /Non-2xx or 3xx/ {bad=$NF}
    END {print rps, total, (bad==""?0:bad)}'
}
bare() { wrk -t1 -c32 -d5s "http://127.0.0.1:$BARE_PORT/r/x" | awk '/Requests\/sec/ {print $2}'; }

BARE_BEFORE=$(bare)
read -r new_rps new_total new_bad < <(run_wrk "http://127.0.0.1:$PORT" fresh)
read -r dup_rps dup_total dup_bad < <(run_wrk "http://127.0.0.1:$PORT" fresh)
BARE_AFTER=$(bare)
DB="$DATA/handoff.db"
EVENTS=$(sqlite3 "$DB" "select count(*) from conversion_events")
REWARDS=$(sqlite3 "$DB" "select count(*) from rewards")
LEADS=$(sqlite3 "$DB" "select count(*) from leads")
echo "[bench] bare axum yardstick: $BARE_BEFORE req/s before, $BARE_AFTER after"
echo "[bench] new events:  $new_rps events/s ($new_total requests, $new_bad non-2xx)"
echo "[bench] duplicates:  $dup_rps events/s ($dup_total requests, $dup_bad non-2xx; the first $new_total were seen before)"
echo "[bench] database: $EVENTS conversion events, $LEADS leads, $REWARDS rewards"
[ "$EVENTS" = "$LEADS" ] && [ "$EVENTS" = "$REWARDS" ] || { echo "[bench] MISMATCH: every new event should make one lead and one reward" >&2; exit 1; }
