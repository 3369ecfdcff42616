#!/usr/bin/env bash
# Fuzzes the REST API from its own OpenAPI document with schemathesis (PyPI) against a build of
# Handoff on loopback, and fails on any 5xx answer (issue 22 §6). The server runs with the
# default rate limits off (one address sends every request) and a campaign and a referrer to
# aim at; schemathesis generates valid and invalid bodies, parameters and headers for every
# operation.
#
#   bash scripts/fuzz-api.sh [--release] [SECONDS]     (default: 120 seconds of fuzzing, debug build)
#   HANDOFF_BIN=target/debug/handoff bash scripts/fuzz-api.sh 60   # a binary already built (test.sh)
#
# Installs schemathesis with pip when it is missing. Traffic stays on 127.0.0.1 (port 3912).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PROFILE=debug
BUILD=()
if [ "${1:-}" = "--release" ]; then
  PROFILE=release
  BUILD=(--release)
  shift
fi
SECONDS_OF_FUZZING="${1:-120}"
PORT=3912

if ! command -v st >/dev/null 2>&1; then
  echo "[fuzz] installing schemathesis (pip)"
  python3 -m pip install -q 'schemathesis>=4,<5'
  # Under pyenv the new command appears only after its shims are rebuilt.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  command -v st >/dev/null 2>&1 || { echo "[fuzz] schemathesis installed but 'st' is not on PATH" >&2; exit 1; }
fi
if [ -n "${HANDOFF_BIN:-}" ]; then
  BIN="$HANDOFF_BIN"
else
  echo "[fuzz] building the $PROFILE binary"
  cargo build "${BUILD[@]}" -q -p server --bin handoff
  BIN="target/$PROFILE/handoff"
fi

DATA=$(mktemp -d /tmp/handoff-fuzz.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

export HANDOFF_DATA_DIR="$DATA" HANDOFF_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export HANDOFF_RATE_LIMITS="redirects=0 friend_form=0 webhooks=0 api=0"
KEY=$("$BIN" api-key create --name fuzz 2>/dev/null)
"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

API="http://127.0.0.1:$PORT/api/v1"
curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"name":"Fuzz","slug":"fuzz","landing_url":"https://shop.example/join"}' "$API/campaigns" >/dev/null
curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"campaign":"fuzz","name":"Jane Doe","email":"jane@example.com"}' "$API/referrers" >/dev/null

echo "[fuzz] schemathesis: every operation of $API/openapi.json, ${SECONDS_OF_FUZZING}s, failing on 5xx"
status=0
st run "$API/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks not_a_server_error \
  --max-time "$SECONDS_OF_FUZZING" \
  --workers 2 \
  --request-timeout 30 \
  --suppress-health-check all \
  --warnings off || status=$?

panics=$(grep -c 'panicked' "$DATA/server.log" || true)
errors=$(grep -c ' ERROR ' "$DATA/server.log" || true)
echo "[fuzz] server log: $panics panics, $errors error lines"
grep -m 5 -E 'panicked| ERROR ' "$DATA/server.log" || true
if [ "$status" -ne 0 ] || [ "$panics" -ne 0 ]; then
  echo "[fuzz] FAILED: a 5xx answer or a panic (see above)" >&2
  exit 1
fi
echo "[fuzz] no 5xx, no panic"
