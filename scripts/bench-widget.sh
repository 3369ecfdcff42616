#!/usr/bin/env bash
# What the share widget adds to the business's page load, in Chromium on loopback: the same
# host page with and without the widget's script tag, loaded alternately in fresh browser
# contexts (nothing cached), the page's load event timed by the browser (Navigation Timing).
# Also when the widget appears (its delay set to 0). Target ([6/7] §4): under 50 ms added.
#
#   bash scripts/bench-widget.sh [LOADS_EACH]      (default 40)
#
# SERVER_BIN=path runs another build (default target/release/handoff; SKIP_BUILD=1 skips the
# build). Needs the end2end node_modules (Playwright) and Chromium (CHROMIUM_PATH, default
# /usr/bin/chromium), curl and python3.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

LOADS="${1:-40}"
PORT=3921
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p server --bin handoff

DATA=$(mktemp -d /tmp/handoff-bench-widget.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DATA"; }
trap cleanup EXIT

export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-warn}"
SERVER_BIN="${SERVER_BIN:-target/release/handoff}"
KEY=$("$SERVER_BIN" api-key create --name bench 2>/dev/null)
# One address sends every request: the per-client limits would measure 429s.
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
"$SERVER_BIN" serve >"$DATA/server.log" 2>&1 &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
post() { curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d "$2" "$BASE/api/v1/$1"; }
post campaigns '{"name":"Bench","slug":"bench"}' >/dev/null
# The widget's settings as the admin's form saves them (a popup, at once, on every page).
python3 - "$DATA" <<'PY'
import glob, sqlite3, sys
db = sqlite3.connect(glob.glob(f"{sys.argv[1]}/*.db")[0])
db.execute("""UPDATE campaigns SET widget_settings = '{"mode":"popup","paths":[],"delay_seconds":0,"min_page_views":1,"frequency":"until_dismissed","hide_on_small_screens":false}' WHERE slug = 'bench'""")
db.commit()
PY
TOKEN=$(post referrers/widget-token '{"campaign":"bench","email":"ann@example.com","name":"Ann","ttl_minutes":60}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
node end2end/bench/widget-load.mjs "$BASE" bench "$TOKEN" "$LOADS"
