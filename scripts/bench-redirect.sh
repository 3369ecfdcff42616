#!/usr/bin/env bash
# Load test of the referral link `GET /r/{slug}` on SQLite with clicks recorded, against a bare
# axum handler returning a constant 302 (server/examples/bare_redirect.rs), side by side in one
# run with wrk. Then checks that every click reached the database and how long that took.
#
#   bash scripts/bench-redirect.sh [SECONDS_PER_ROUND] [ROUNDS]     (defaults: 10 and 3)
#
# Needs wrk and sqlite3 (apt-get install -y wrk sqlite3). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

DURATION="${1:-10}"
ROUNDS="${2:-3}"
CONNECTIONS=32
HANDOFF_PORT=3901
BARE_PORT=3902

for tool in wrk sqlite3 curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done

echo "[bench] building release binaries"
cargo build --release -q -p server --bin handoff --example bare_redirect

DATA=$(mktemp -d /tmp/handoff-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DATA"; }
trap cleanup EXIT

export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$HANDOFF_PORT" RUST_LOG=warn
KEY=$(target/release/handoff api-key create --name bench 2>/dev/null)
# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
target/release/handoff serve >"$DATA/server.log" 2>&1 &
PIDS+=($!)
target/release/examples/bare_redirect "127.0.0.1:$BARE_PORT" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HANDOFF_PORT/healthz" >/dev/null && break; sleep 0.2; done

API="http://127.0.0.1:$HANDOFF_PORT/api/v1"
curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"name":"Bench","slug":"bench","landing_url":"https://shop.example/join"}' "$API/campaigns" >/dev/null
SLUG=$(curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"campaign":"bench","name":"Jane Doe","email":"jane@example.com"}' "$API/referrers" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["link"].rsplit("/",1)[1])')
echo "[bench] link /r/$SLUG; $ROUNDS rounds of ${DURATION}s each, $CONNECTIONS connections, alternating"

run_wrk() { # URL -> "requests_per_second total_requests"
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$1" | awk '
    /requests in/ {total=$1}
    /Requests\/sec/ {rps=$2}
    /Non-2xx or 3xx/ {bad=$NF}
    END {print rps, total, (bad==""?0:bad)}'
}

TOTAL_HANDOFF=0
RATIOS=()
for round in $(seq "$ROUNDS"); do
  read -r bare_rps _ bare_bad < <(run_wrk "http://127.0.0.1:$BARE_PORT/r/$SLUG")
  read -r hand_rps hand_total hand_bad < <(run_wrk "http://127.0.0.1:$HANDOFF_PORT/r/$SLUG")
  TOTAL_HANDOFF=$((TOTAL_HANDOFF + hand_total))
  ratio=$(python3 -c "print(f'{$hand_rps/$bare_rps:.2f}')")
  RATIOS+=("$ratio")
  echo "[bench] round $round: bare axum ${bare_rps} req/s, handoff /r ${hand_rps} req/s, ratio ${ratio} (non-3xx: bare ${bare_bad}, handoff ${hand_bad})"
done

# Every click must reach the database; measure how long after the load stopped.
start=$(date +%s.%N)
count=0
for _ in $(seq 100); do
  count=$(sqlite3 "$DATA/handoff.db" 'select count(*) from clicks')
  [ "$count" -ge "$TOTAL_HANDOFF" ] && break
  sleep 0.05
done
lag=$(python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')")
median=$(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "[bench] clicks answered: $TOTAL_HANDOFF, clicks in the database: $count (all there ${lag}s after the load stopped)"
echo "[bench] median ratio handoff/bare: $median (target >= 0.60)"
# wrk stops counting at the deadline while the last requests are still answered, so the
# database may hold a few more clicks than wrk counted, never fewer.
[ "$count" -ge "$TOTAL_HANDOFF" ] || { echo "[bench] FAIL: clicks lost" >&2; exit 1; }
