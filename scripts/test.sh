#!/usr/bin/env bash
# Runs every test of Handoff, the same way on a laptop and in CI:
#
#   bash scripts/test.sh                  # everything
#   bash scripts/test.sh -- --project chromium-nojs   # arguments after -- go to `playwright test`
#   bash scripts/test.sh --skip-e2e       # everything but the browser tests (says so loudly)
#
# Steps: setup (build tools) -> cargo fmt --check -> throwaway PostgreSQL (unless TEST_DATABASE_URL
# is set) -> cargo nextest/test -> API fuzz (schemathesis, 60 s) -> cargo leptos build ->
# Playwright in Debian's Chromium.
# A failing step does not stop the later ones (unless they depend on it); the exit code is
# non-zero if any step failed, and the last line names the failed steps.
set -uo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT" || exit 1

SKIP_E2E=0
PLAYWRIGHT_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-e2e) SKIP_E2E=1 ;;
    --) shift; PLAYWRIGHT_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# cargo-leptos and cargo test share build artifacts only when this matches (setup.sh exports it too).
export LEPTOS_OUTPUT_NAME=handoff

PASSED=()
FAILED=()
SKIPPED=()
T0=$SECONDS

banner() { printf '\n==> [test.sh] %s\n' "$*"; }

# run_step NAME FUNCTION: runs FUNCTION in this shell (so exports and traps stay), records the result.
run_step() {
  local name="$1" fn="$2" start=$SECONDS rc
  banner "$name"
  "$fn"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    PASSED+=("$name")
    printf '==> [test.sh] %s: ok (%ss)\n' "$name" "$((SECONDS - start))"
  else
    FAILED+=("$name")
    printf '==> [test.sh] %s: FAILED with exit code %s (%ss)\n' "$name" "$rc" "$((SECONDS - start))"
  fi
  return "$rc"
}

skip_step() {
  SKIPPED+=("$1 ($2)")
  printf '\n==> [test.sh] %s: SKIPPED (%s)\n' "$1" "$2"
}

# --- a. build tools --------------------------------------------------------------------------
step_setup() {
  # Sourced, so that PATH and LEPTOS_OUTPUT_NAME reach the later steps. Debug tools only.
  # shellcheck source=scripts/setup.sh
  source "$ROOT/scripts/setup.sh" --debug
}

# --- b. formatting ---------------------------------------------------------------------------
step_fmt() {
  cargo fmt --all -- --check
}

# --- c. PostgreSQL ---------------------------------------------------------------------------
# shellcheck source=scripts/pg-test-cluster.sh
source "$ROOT/scripts/pg-test-cluster.sh"
step_postgres() {
  # Keeps a TEST_DATABASE_URL the caller set; else starts a throwaway cluster, stopped by an EXIT
  # trap; without any PostgreSQL server it warns (outside CI) or installs one (in CI).
  pg_test_cluster_ensure || return 1
  if [ -n "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1; then
    psql "$TEST_DATABASE_URL" -XAtqc 'select 1' >/dev/null || {
      echo "[pg] ERROR: cannot connect to TEST_DATABASE_URL" >&2
      return 1
    }
  fi
}

# --- d. Rust tests ---------------------------------------------------------------------------
step_cargo_test() {
  if cargo nextest --version >/dev/null 2>&1; then
    local rc=0
    cargo nextest run --workspace --no-tests=warn 2>&1 | tee "$COUNTS/rust.log" || rc=$?
    # nextest does not run doctests.
    cargo test --workspace --doc || rc=$?
    return "$rc"
  fi
  cargo test --workspace
}

# --- e. browser tests ------------------------------------------------------------------------
step_leptos_build() {
  cargo leptos build
}

find_chromium() {
  local c p
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
    printf '%s\n' "$CHROMIUM_PATH"
    return 0
  fi
  if [ -x /usr/bin/chromium ]; then
    printf '%s\n' /usr/bin/chromium
    return 0
  fi
  for c in chromium chromium-browser google-chrome google-chrome-stable; do
    if p=$(command -v "$c" 2>/dev/null); then
      printf '%s\n' "$p"
      return 0
    fi
  done
  return 1
}

ensure_chromium() {
  local path
  if path=$(find_chromium); then
    CHROMIUM_PATH="$path"
    export CHROMIUM_PATH
    echo "[e2e] Chromium: $CHROMIUM_PATH"
    return 0
  fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[e2e] Chromium not found: installing Debian's chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null
    if path=$(find_chromium); then
      CHROMIUM_PATH="$path"
      export CHROMIUM_PATH
      echo "[e2e] Chromium: $CHROMIUM_PATH (installed)"
      return 0
    fi
  fi
  cat >&2 <<'EOF'
[e2e] ERROR: no Chromium found (looked for $CHROMIUM_PATH, /usr/bin/chromium, chromium-browser,
[e2e]        google-chrome). Install Debian's Chromium and run again:
[e2e]            sudo apt-get update && sudo apt-get install -y chromium
[e2e]        or point CHROMIUM_PATH at a Chromium/Chrome binary. (Never `npx playwright install`:
[e2e]        it downloads a browser, which this network does not allow.)
EOF
  return 1
}

# npm ci only when node_modules is missing or package-lock.json changed since the last install.
ensure_node_modules() {
  local lock_hash stamp="end2end/node_modules/.handoff-lock.sha256"
  lock_hash=$(sha256sum end2end/package-lock.json | cut -d' ' -f1) || return 1
  if [ -d end2end/node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ] &&
     [ -x end2end/node_modules/.bin/playwright ]; then
    echo "[e2e] end2end/node_modules: up to date with package-lock.json"
    return 0
  fi
  echo "[e2e] npm ci in end2end/ (node_modules missing or package-lock.json changed)"
  # Playwright must never download its own browsers here.
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || return 1
  printf '%s\n' "$lock_hash" >"$stamp"
}

step_e2e() {
  ensure_chromium || return 1
  ensure_node_modules || return 1
  # HANDOFF_E2E_BIN (see end2end/playwright.config.ts) points the tests at another build.
  local bin="${HANDOFF_E2E_BIN:-target/debug/handoff}"
  if [ ! -x "$bin" ]; then
    echo "[e2e] ERROR: $bin is missing: cargo leptos build did not produce the server binary" >&2
    return 1
  fi
  local rc=0
  # The local binary, not npx: npx may ask the registry, and must never fetch anything here.
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ./node_modules/.bin/playwright test "${PLAYWRIGHT_ARGS[@]}") 2>&1 |
    tee "$COUNTS/e2e.log" || rc=$?
  if [ "$rc" -ne 0 ] && [ -f end2end/.e2e-data/server.log ]; then
    echo "[e2e] last lines of end2end/.e2e-data/server.log:"
    tail -n 60 end2end/.e2e-data/server.log | sed 's/^/    /'
  fi
  return "$rc"
}

# --- api fuzz: schemathesis from the OpenAPI document, failing on any 5xx -----------------------
step_api_fuzz() {
  # The binary the Rust tests just built: no second build with other features.
  HANDOFF_BIN=target/debug/handoff bash scripts/fuzz-api.sh 60
}

# --- run -------------------------------------------------------------------------------------
# Test outputs are kept here so the last line can count every test that ran.
COUNTS=$(mktemp -d)

# "N passed, M failed" over the Rust (nextest) and browser (Playwright) runs.
count_tests() {
  local rust_pass rust_fail e2e_pass e2e_fail
  rust_pass=$(grep -oE 'tests run: [0-9]+ passed' "$COUNTS/rust.log" 2>/dev/null | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' | tail -1)
  rust_fail=$(grep -E 'tests run:' "$COUNTS/rust.log" 2>/dev/null | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' | tail -1)
  e2e_pass=$(grep -oE '^ +[0-9]+ passed' "$COUNTS/e2e.log" 2>/dev/null | grep -oE '[0-9]+' | tail -1)
  e2e_fail=$(grep -oE '^ +[0-9]+ failed' "$COUNTS/e2e.log" 2>/dev/null | grep -oE '[0-9]+' | tail -1)
  echo "$(( ${rust_pass:-0} + ${e2e_pass:-0} )) passed, $(( ${rust_fail:-0} + ${e2e_fail:-0} )) failed"
}

run_step setup step_setup
SETUP_OK=$?
run_step fmt step_fmt
run_step postgres step_postgres
run_step cargo-test step_cargo_test
if [ -x target/debug/handoff ]; then
  run_step api-fuzz step_api_fuzz
else
  skip_step api-fuzz "no binary: the Rust build failed"
fi
if [ "$SKIP_E2E" = "1" ]; then
  skip_step leptos-build "--skip-e2e"
  skip_step e2e "--skip-e2e"
  printf '\n[test.sh] WARNING: the browser tests were SKIPPED (--skip-e2e); this is not a full run.\n'
elif [ "$SETUP_OK" -ne 0 ]; then
  skip_step leptos-build "setup failed"
  skip_step e2e "setup failed"
else
  if run_step leptos-build step_leptos_build; then
    run_step e2e step_e2e
  else
    skip_step e2e "cargo leptos build failed"
  fi
fi

# Stop the PostgreSQL cluster now (the EXIT trap would too), so its message comes before the summary.
pg_test_cluster_stop

echo
echo "==> [test.sh] summary after $((SECONDS - T0))s"
[ ${#PASSED[@]} -gt 0 ] && printf '    passed:  %s\n' "${PASSED[*]}"
[ ${#SKIPPED[@]} -gt 0 ] && printf '    skipped: %s\n' "${SKIPPED[@]}"
[ ${#FAILED[@]} -gt 0 ] && printf '    FAILED:  %s\n' "${FAILED[*]}"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "test.sh: FAILED step(s): ${FAILED[*]}"
  echo "tests: $(count_tests)"
  exit 1
fi
if [ "$SKIP_E2E" = "1" ]; then
  echo "test.sh: all steps that ran passed, but the browser tests were skipped (--skip-e2e)"
  exit 0
fi
echo "test.sh: all ${#PASSED[@]} steps passed (${PASSED[*]})"
# The plain closing line CI reads: every Rust and browser test counted.
echo "tests: $(count_tests)"
