#!/usr/bin/env bash
# The admin at scale (issue [5/7] §5): builds `handoff demo --leads N` (default 1,000,000 leads,
# conversions and clicks over 100 referrers, through the CSV import), signs in as an owner, and
# times every admin page, every tab at its first page and 20 pages in, a search by email, a
# lead's page, the overview's numbers, the API's lead list and a filtered CSV export's first
# byte: the median of 5 requests each, as time to first byte on loopback (Leptos renders a page
# whole before its first byte, so that is the server's time).
#
#   bash scripts/bench-admin.sh [LEADS]
#
# SKIP_BUILD=1 reuses target/release; KEEP_DATA=DIR keeps (or, when DIR holds a built data set,
# reuses) the data; DATABASE_URL=postgres://... runs on PostgreSQL (an empty database).
# Needs curl and python3. Target: under 50 ms each. Numbers: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

LEADS="${1:-1000000}"
PORT=3914
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

echo "[bench] building the release binary"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p server --bin handoff
BIN=target/release/handoff

if [ -n "${KEEP_DATA:-}" ]; then
  DATA="$KEEP_DATA"; mkdir -p "$DATA"
else
  DATA=$(mktemp -d /tmp/handoff-admin.XXXXXX)
fi
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; [ -n "${KEEP_DATA:-}" ] || rm -rf "$DATA"; }
trap cleanup EXIT
export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$PORT" RUST_LOG=warn

if [ ! -f "$DATA/built" ]; then
  echo "[bench] handoff demo --leads $LEADS"
  start=$(date +%s.%N)
  "$BIN" demo --leads "$LEADS"
  end=$(date +%s.%N)
  python3 -c "print(f'[bench] data set built in {$end-$start:.0f} s')"
  echo 'bench-owner-password-1' | "$BIN" admin create --email bench@example.com --role owner 2>/dev/null
  # A bulk load leaves PostgreSQL's planner statistics behind until autovacuum comes by.
  if [[ "${DATABASE_URL:-}" == postgres* ]]; then psql -q "$DATABASE_URL" -c "VACUUM ANALYZE"; fi
  touch "$DATA/built"
fi
KEY=$("$BIN" api-key create --name "bench-$$" 2>/dev/null)

# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
BASE="http://127.0.0.1:$PORT"
JAR="$DATA/cookies.txt"
rm -f "$JAR"
curl -sf -o /dev/null -c "$JAR" -b "$JAR" -H "Origin: $BASE" \
  --data-urlencode email=bench@example.com --data-urlencode password=bench-owner-password-1 \
  "$BASE/rpc/login" || { echo "bench: login failed" >&2; exit 1; }

api() { curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/$1"; }
# The cursor 20 pages into a list of the API (`items`, `next_cursor`).
cursor_20_in() {
  local path="$1" after="" sep
  case "$path" in *\?*) sep='&' ;; *) sep='?' ;; esac
  for _ in $(seq 20); do
    after=$(api "$path${after:+${sep}after=$after}" | python3 -c 'import json,sys; c=json.load(sys.stdin)["next_cursor"]; print(c if c is not None else "")')
    [ -n "$after" ] || break
  done
  echo "$after"
}
LEADS_20=$(cursor_20_in "leads?campaign=demo-scale")
AMOUNT_20=$(cursor_20_in "leads?campaign=demo-scale&sort=amount")
REWARDS_20=$(cursor_20_in "rewards?campaign=demo-scale")
LEAD_ID=$(api "leads?campaign=demo-scale" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
REFERRER_ID=$(api "referrers?campaign=demo-scale" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
REFERRERS_2=$(api "referrers?campaign=demo-scale" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"] or "")')
EMAIL="friend$((LEADS / 2))@scale.example"

URLS=(
  "/admin"
  "/admin?campaign=demo-scale&by=week"
  "/admin/campaigns"
  "/admin/campaigns/demo-scale"
  "/admin/referrers?campaign=demo-scale"
  "/admin/referrers?campaign=demo-scale&after=$REFERRERS_2"
  "/admin/referrers/$REFERRER_ID"
  "/admin/leads?campaign=demo-scale"
  "/admin/leads?campaign=demo-scale&after=$LEADS_20"
  "/admin/leads?campaign=demo-scale&status=qualified"
  "/admin/leads?campaign=demo-scale&referrer_id=$REFERRER_ID"
  "/admin/leads?q=$EMAIL"
  "/admin/leads?q=friend12345"
  "/admin/leads?campaign=demo-scale&sort=amount"
  "/admin/leads?campaign=demo-scale&sort=amount&after=$AMOUNT_20"
  "/admin/leads/$LEAD_ID"
  "/admin/rewards?campaign=demo-scale"
  "/admin/rewards?campaign=demo-scale&after=$REWARDS_20"
  "/admin/search?q=$EMAIL"
  "/admin/emails"
  "/admin/imports"
  "/admin/integrations"
  "/admin/api-keys"
  "/admin/print?campaign=demo-scale"
  "/admin/sales"
  "/admin/audit"
  "/admin/leads/export.csv?campaign=demo-scale&status=qualified"
  "/api/v1/leads?campaign=demo-scale"
  "/api/v1/referrers?campaign=demo-scale"
)

echo "[bench] $LEADS leads; median of 5 (after one warm-up), time to first byte, ms"
printf '%8s  %s\n' "ms" "url"
over=0
for url in "${URLS[@]}"; do
  auth=(-b "$JAR")
  case "$url" in /api/*) auth=(-H "Authorization: Bearer $KEY") ;; esac
  times=()
  for i in 0 1 2 3 4 5; do
    # A CSV export streams on: its first byte is what is timed, then the transfer is cut.
    t=$(curl -s -o /dev/null --max-time 30 --range 0-0 "${auth[@]}" -w '%{http_code} %{time_starttransfer}' "$BASE$url" || true)
    code=${t%% *}
    case "$code" in 2*) ;; *) echo "bench: $url answered $code" >&2; exit 1 ;; esac
    [ "$i" = 0 ] || times+=("${t##* }")
  done
  ms=$(python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:])*1000:.1f}')" "${times[@]}")
  flag=""
  python3 -c "import sys; sys.exit(0 if float('$ms') < 50 else 1)" || { flag="  OVER 50 ms"; over=$((over + 1)); }
  printf '%8s  %s%s\n' "$ms" "$url" "$flag"
done
echo "[bench] $over of ${#URLS[@]} over 50 ms"
