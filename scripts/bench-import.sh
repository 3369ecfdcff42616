#!/usr/bin/env bash
# CSV import speed and memory: `handoff import conversions` of a generated file (every row a new
# friend with a referral code, so every row creates a lead, qualifies it and earns a reward)
# against `sqlite3 .import` of the same file into a bare table, in the same run. A third number
# is the floor: the rows Handoff writes for the file, inserted by sqlite3 itself with set-based
# SQL (scripts/import-floor-sql.py), the best ratio to `.import` this schema allows. A fourth
# is the least any importer doing what issue 3 asks could write (`import-floor-sql.py --least`:
# a lead, an event, a reward and a timeline row per row, short columns, only the unique keys):
# no importer reaches a higher ratio to `.import` than that, and a real one, which also parses
# and decides every row, stays well below it.
#
#   bash scripts/bench-import.sh [ROWS]     (default 1000000)
#
# Every qualified row tells its referrer ("your referral qualified"), an email written in the
# import's own transaction. QUALIFIED_EMAILS=off switches that email off for the campaign first,
# as an admin does on its Email templates page, to measure the import without it.
#
# Needs sqlite3, curl, python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

ROWS="${1:-1000000}"
PORT=3913
for tool in sqlite3 curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

echo "[bench] building the release binary"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p server --bin handoff

DATA=$(mktemp -d /tmp/handoff-import.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; [ "${KEEP_DATA:-0}" = 1 ] && echo "[bench] kept $DATA" || rm -rf "$DATA"; }
trap cleanup EXIT
export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
KEY=$(target/release/handoff api-key create --name bench 2>/dev/null)
# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
target/release/handoff serve >"$DATA/server.log" 2>&1 &
SERVER=$!
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
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
sqlite3 "$DATA/handoff.db" "pragma wal_checkpoint(truncate);" >/dev/null
if [ "${QUALIFIED_EMAILS:-on}" = off ]; then
  # What "Send on its own" unticked on the campaign's Email templates page saves.
  sqlite3 "$DATA/handoff.db" "insert into email_templates (campaign_id, kind, subject, body, auto_send, updated_at)
    select id, 'referral_qualified', 'Your referral qualified', '{friend_name} qualified.', 0, '2026-12-05T00:00:00Z'
    from campaigns where slug = 'bench'"
  echo "[bench] the 'referral qualified' email is off for this campaign"
fi
cp "$DATA/handoff.db" "$DATA/floor.db"
# With KEEP_DATA=1, base.db is the database before the import, for profiling runs.
[ "${KEEP_DATA:-0}" = 1 ] && cp "$DATA/handoff.db" "$DATA/base.db"

echo "[bench] generating $ROWS rows"
python3 - "$DATA/codes.txt" "$DATA/orders.csv" "$ROWS" <<'PY'
import sys
codes = [l.strip() for l in open(sys.argv[1]) if l.strip()]
rows = int(sys.argv[3])
with open(sys.argv[2], "w") as f:
    f.write("order_id,email,referral_code,amount,currency,date\n")
    for i in range(rows):
        f.write(f"ord-{i},friend{i}@bench.test,{codes[i % len(codes)]},{10 + i % 90}.{i % 100:02d},USD,2026-03-{1 + i % 28:02d}\n")
PY
ls -l "$DATA/orders.csv" | awk '{printf "[bench] file: %.1f MB\n", $5/1048576}'

start=$(date +%s.%N)
sqlite3 "$DATA/bare.db" ".mode csv" ".import $DATA/orders.csv bare"
end=$(date +%s.%N)
SQLITE_S=$(python3 -c "print(f'{$end-$start:.2f}')")

/usr/bin/time -v target/release/handoff import conversions "$DATA/orders.csv" --campaign bench \
  >"$DATA/import.out" 2>"$DATA/import.err"
HANDOFF_S=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$DATA/import.err")
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DATA/import.err")
cat "$DATA/import.out"
python3 - "$ROWS" "$SQLITE_S" "$HANDOFF_S" "$RSS_KB" <<'PY'
import sys
rows, s, h, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"[bench] sqlite3 .import: {s:.2f} s, {rows/s:,.0f} rows/s")
print(f"[bench] handoff import:  {h:.2f} s, {rows/h:,.0f} rows/s, peak RSS {rss/1024:.0f} MB")
print(f"[bench] ratio handoff/sqlite3: {s/h:.3f}")
PY
# Runs `import-floor-sql.py ROWS [FLAG]` with sqlite3 in DB (in $DATA) and prints its rate and
# its ratio to `.import` after LABEL, checking that it wrote a reward per row.
set_based() {
  local db=$1 label=$2 start end seconds
  python3 scripts/import-floor-sql.py "$ROWS" "${@:3}" >"$DATA/$db.sql"
  start=$(date +%s.%N)
  (cd "$DATA" && sqlite3 "$db.db" <"$db.sql" >/dev/null)
  end=$(date +%s.%N)
  seconds=$(python3 -c "print(f'{$end-$start:.2f}')")
  python3 - "$ROWS" "$SQLITE_S" "$seconds" "$(sqlite3 "$DATA/$db.db" "select count(*) from rewards")" "$label" <<'PY'
import sys
rows, s, f, written, label = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
assert written == rows, f"{label}: {written} rewards for {rows} rows"
print(f"[bench] {label}, as set-based SQL: {f:.2f} s, {rows/f:,.0f} rows/s, ratio to .import {s/f:.3f}")
PY
}
set_based floor "floor, the same rows"
set_based least "least any importer writes" --least
EVENTS=$(sqlite3 "$DATA/handoff.db" "select count(*) from conversion_events")
REWARDS=$(sqlite3 "$DATA/handoff.db" "select count(*) from rewards")
EMAILS=$(sqlite3 "$DATA/handoff.db" "select count(*) from emails")
echo "[bench] database: $EVENTS conversion events, $REWARDS rewards, $EMAILS emails"
