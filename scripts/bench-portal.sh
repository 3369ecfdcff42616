#!/usr/bin/env bash
# Load test of the signed-in referrer portal page `/p/{campaign}` of a referrer with 1,000 leads
# and 100 rewards, on SQLite, against a bare axum server answering with the same bytes
# (server/examples/static_page.rs) and against the same route without a session (the portal
# entrance: Handoff's floor for any page Leptos renders on the server), side by side in one run
# with wrk.
#
#   bash scripts/bench-portal.sh [SECONDS_PER_ROUND] [ROUNDS]     (defaults: 10 and 3)
#
# SERVER_BIN=path runs another build of the server (a copy of an older commit's, say, for a
# before/after in one sitting); SKIP_BUILD=1 skips the release build. DATABASE_URL=postgres://...
# runs it on PostgreSQL (an empty database), and VACUUM=1 vacuums it after seeding (see below).
#
# Needs wrk, curl and python3. Traffic stays on 127.0.0.1. Targets: see docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

DURATION="${1:-10}"
ROUNDS="${2:-3}"
CONNECTIONS=16
HANDOFF_PORT=3911
STATIC_PORT=3912

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done

echo "[bench] building release binaries"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p server --bin handoff --example static_page

DATA=$(mktemp -d /tmp/handoff-bench-portal.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP_DATA:-}" ] || rm -rf "$DATA"; }
trap cleanup EXIT

export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$HANDOFF_PORT" RUST_LOG="${RUST_LOG:-warn}"
SERVER_BIN="${SERVER_BIN:-target/release/handoff}"
KEY=$("$SERVER_BIN" api-key create --name bench 2>/dev/null)
# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
"$SERVER_BIN" serve >"$DATA/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HANDOFF_PORT/healthz" >/dev/null && break; sleep 0.2; done

BASE="http://127.0.0.1:$HANDOFF_PORT"
API="$BASE/api/v1"
post() { curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d "$2" "$API/$1"; }
post campaigns '{"name":"Bench","slug":"bench"}' >/dev/null
JANE=$(post referrers '{"campaign":"bench","name":"Jane Doe","email":"jane@example.com"}')
CODE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["code"])' "$JANE")
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$JANE")

echo "[bench] 100 purchases (leads with rewards) and 900 more leads for one referrer"
python3 - "$API" "$KEY" "$CODE" <<'PY'
import json, sys, urllib.request
api, key, code = sys.argv[1:4]
def post(path, body):
    req = urllib.request.Request(f"{api}/{path}", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"})
    urllib.request.urlopen(req).read()
for i in range(100):
    post("conversions", {"campaign": "bench", "event_id": f"order-{i}", "event": "purchase",
        "referral_code": code, "email": f"buyer{i}@example.org", "amount": 4900, "currency": "USD"})
for i in range(900):
    post("leads", {"campaign": "bench", "email": f"friend{i}@example.org", "referral_code": code})
PY

# VACUUM=1 on PostgreSQL: vacuum and analyse the seeded tables first, as autovacuum does in a
# running instance. Right after the bulk insert the visibility map is empty, so counting the
# referrer's 1,000 leads is a 0.9 ms sequential scan instead of a 0.1 ms index-only scan.
if [ "${VACUUM:-0}" = 1 ] && [[ "${DATABASE_URL:-}" == postgres* ]]; then
  psql -q "$DATABASE_URL" -c "VACUUM ANALYZE"
  echo "[bench] vacuumed and analysed"
fi

# A portal session, as a browser gets one: a signed link, then its button.
LINK=$(post "referrers/$ID/portal-link" '{"ttl_minutes": 60}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
SESSION=$(curl -s -o /dev/null -D - -X POST "$LINK" | sed -n 's/^[Ss]et-[Cc]ookie: handoff_portal=\([^;]*\).*/\1/p')
[ -n "$SESSION" ] || { echo "bench: could not sign in" >&2; exit 1; }
curl -sf -H "Cookie: handoff_portal=$SESSION" "$BASE/p/bench" >"$DATA/page.html"
grep -q "$CODE" "$DATA/page.html" || { echo "bench: the page does not show the code" >&2; exit 1; }
python3 - "$DATA/page.html" <<'PY'
import sys, re
html = open(sys.argv[1]).read()
print(f"[bench] page: {len(html)} bytes; lead rows on it: {html.count('***@example.org</td>')}; reward rows: {html.count('>Thank-you reward</td>')}")
PY
target/release/examples/static_page "127.0.0.1:$STATIC_PORT" "$DATA/page.html" &
PIDS+=($!)
sleep 0.5

run_wrk() { # URL [COOKIE] -> "requests_per_second non2xx"
  local cookie=()
  [ -n "${2:-}" ] && cookie=(-H "Cookie: handoff_portal=$2")
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${cookie[@]}" "$1" | awk '
    /Requests\/sec/ {rps=$2}
    /Non-2xx or 3xx/ {bad=$NF}
    END {print rps, (bad==""?0:bad)}'
}

# Three pages per round, side by side:
# - static: the signed-in page's bytes from a bare axum server (the issue's baseline);
# - entrance: the same route without a session, Handoff's floor for a Leptos page rendered on
#   the server (one query for the campaign, the same shell and stylesheet, a smaller body);
# - portal: the signed-in page (session, campaign, counts, rewards, a page of leads, QR).
curl -sf "$BASE/p/bench" >"$DATA/entrance.html"
echo "[bench] entrance page: $(wc -c <"$DATA/entrance.html") bytes"
RATIOS=()
FLOOR_RATIOS=()
for round in $(seq "$ROUNDS"); do
  read -r static_rps static_bad < <(run_wrk "http://127.0.0.1:$STATIC_PORT/p/bench" "$SESSION")
  read -r entrance_rps entrance_bad < <(run_wrk "$BASE/p/bench")
  read -r hand_rps hand_bad < <(run_wrk "$BASE/p/bench" "$SESSION")
  ratio=$(python3 -c "print(f'{$hand_rps/$static_rps:.3f}')")
  floor=$(python3 -c "print(f'{$hand_rps/$entrance_rps:.3f}')")
  RATIOS+=("$ratio")
  FLOOR_RATIOS+=("$floor")
  echo "[bench] round $round: static ${static_rps} req/s, entrance ${entrance_rps} req/s, portal ${hand_rps} req/s; portal/static ${ratio}, portal/entrance ${floor} (non-2xx: static ${static_bad}, entrance ${entrance_bad}, portal ${hand_bad})"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "[bench] median ratio portal/static: $(median "${RATIOS[@]}") (issue target >= 0.5)"
echo "[bench] median ratio portal/entrance: $(median "${FLOOR_RATIOS[@]}") (what the referrer's own data costs, against Handoff's own floor)"
