#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks. Source this file, then:
#
#   pg_test_cluster_ensure   # TEST_DATABASE_URL already set? keep it. Else start a cluster (and
#                            # stop it on exit), or warn loudly that PostgreSQL tests will be skipped.
#   pg_test_cluster_start    # start a cluster unconditionally; exports TEST_DATABASE_URL
#   pg_test_cluster_stop     # stop it and remove its directory (also runs from the EXIT trap)
#
# Run directly for a quick check:  bash scripts/pg-test-cluster.sh [--keep]
#
# The server refuses to run as root, and CI runs as root: as root the cluster belongs to the
# `postgres` OS user (Debian's packages create it). It listens on 127.0.0.1 at a free port, with
# its socket in its own directory, fsync off (a test cluster is disposable), and room for many
# connections because every test makes its own database.
#
# Return codes of pg_test_cluster_ensure: 0 = TEST_DATABASE_URL is usable (or PostgreSQL is
# knowingly skipped outside CI), 1 = failure (always when CI is set and no server could be had).
#
# Knobs: PG_TEST_TMPDIR (parent of the cluster directory, default /tmp: it must be reachable by
# the `postgres` user, which $TMPDIR under /root is not), PG_TEST_BINDIR (server binaries).

PG_TEST_DIR=""
PG_TEST_PORT=""
PG_TEST_STARTED_URL=""

_pg_say() { printf '[pg] %s\n' "$*"; }
_pg_err() { printf '[pg] ERROR: %s\n' "$*" >&2; }

# Prints the directory holding initdb, pg_ctl and postgres, or fails.
pg_test_find_bindir() {
  local candidates=() d
  if [ -n "${PG_TEST_BINDIR:-}" ]; then candidates+=("$PG_TEST_BINDIR"); fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null) || d=""
    if [ -n "$d" ]; then candidates+=("$d"); fi
  fi
  # Debian keeps the server binaries per major version, newest last in `sort -V`.
  local versioned
  versioned=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) || versioned=""
  for d in $versioned; do candidates+=("$d"); done
  local initdb_path
  initdb_path=$(command -v initdb 2>/dev/null) || initdb_path=""
  if [ -n "$initdb_path" ]; then candidates+=("$(dirname "$(readlink -f "$initdb_path")")"); fi
  for d in "${candidates[@]}"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

# Is TCP port $1 on 127.0.0.1 free? (Nobody answers a connect.)
_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_pg_pick_port() {
  local port tries=0
  while [ "$tries" -lt 200 ]; do
    port=$((20000 + (RANDOM % 30000)))
    if _pg_port_free "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  return 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_install_server() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    _pg_err "no PostgreSQL server binaries, and not root with apt-get to install them"
    return 1
  fi
  _pg_say "no PostgreSQL server binaries: installing Debian's postgresql (CI is set)"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be stale or missing on a fresh machine: update once if the first try fails.
  if ! apt-get install -y postgresql >/dev/null; then
    if ! { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; }; then
      _pg_err "apt-get install -y postgresql failed"
      return 1
    fi
  fi
}

pg_test_cluster_start() {
  local bindir
  if ! bindir=$(pg_test_find_bindir); then
    _pg_err "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found. Install them: apt-get install -y postgresql"
    return 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    _pg_err "running as root but there is no 'postgres' OS user to own the cluster (PostgreSQL refuses to run as root). Install Debian's postgresql package, which creates it."
    return 1
  fi

  local parent="${PG_TEST_TMPDIR:-/tmp}"
  PG_TEST_DIR=$(mktemp -d "$parent/handoff-pg.XXXXXX") || { _pg_err "mktemp failed in $parent"; return 1; }
  chmod 700 "$PG_TEST_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_TEST_DIR"; fi
  local data="$PG_TEST_DIR/data"

  # Run from the cluster directory: the postgres user may not be allowed into the caller's cwd.
  if ! (cd "$PG_TEST_DIR" && _pg_as_owner "$bindir/initdb" -D "$data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1); then
    _pg_err "initdb failed:"
    sed 's/^/    /' "$PG_TEST_DIR/initdb.log" >&2
    pg_test_cluster_stop
    return 1
  fi

  local attempt port started=0
  for attempt in 1 2 3 4 5; do
    port=$(_pg_pick_port) || { _pg_err "no free port found"; break; }
    if (cd "$PG_TEST_DIR" && _pg_as_owner "$bindir/pg_ctl" -D "$data" \
          -o "-p $port -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
          -l "$PG_TEST_DIR/log" -w -t 60 start >/dev/null 2>&1); then
      started=1
      break
    fi
    # Most likely someone took the port between the check and the bind: try another one.
    _pg_say "start on port $port failed (attempt $attempt), retrying"
  done
  if [ "$started" -ne 1 ]; then
    _pg_err "pg_ctl start failed; server log:"
    tail -n 30 "$PG_TEST_DIR/log" 2>/dev/null | sed 's/^/    /' >&2
    pg_test_cluster_stop
    return 1
  fi

  PG_TEST_PORT="$port"
  PG_TEST_BIN="$bindir"
  PG_TEST_STARTED_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export TEST_DATABASE_URL="$PG_TEST_STARTED_URL"
  export PG_TEST_DIR PG_TEST_PORT PG_TEST_BIN
  _pg_add_exit_trap
  _pg_say "throwaway PostgreSQL $("$bindir/postgres" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)?' | head -n 1) on 127.0.0.1:$port (dir $PG_TEST_DIR)"
  _pg_say "TEST_DATABASE_URL=$TEST_DATABASE_URL"
}

pg_test_cluster_stop() {
  if [ -z "${PG_TEST_DIR:-}" ] || [ ! -d "$PG_TEST_DIR" ]; then
    PG_TEST_DIR=""
    return 0
  fi
  local bindir="${PG_TEST_BIN:-}"
  if [ -z "$bindir" ]; then bindir=$(pg_test_find_bindir) || bindir=""; fi
  if [ -n "$bindir" ] && [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
    (cd "$PG_TEST_DIR" && _pg_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1) || true
    _pg_say "stopped the throwaway PostgreSQL on port ${PG_TEST_PORT:-?}"
  fi
  rm -rf "$PG_TEST_DIR"
  if [ -n "$PG_TEST_STARTED_URL" ] && [ "${TEST_DATABASE_URL:-}" = "$PG_TEST_STARTED_URL" ]; then
    unset TEST_DATABASE_URL
  fi
  PG_TEST_DIR=""
  PG_TEST_PORT=""
  PG_TEST_STARTED_URL=""
}

# Stops the cluster whenever the shell exits, keeping any EXIT trap the caller already set.
# INT and TERM are turned into an exit so that the EXIT trap runs for them too.
_pg_add_exit_trap() {
  local existing="" current
  current=$(trap -p EXIT) || current=""
  if [ -n "$current" ]; then
    # `trap -p` prints a quoted `trap -- 'CMD' EXIT`; let the shell unquote it.
    local -a parts
    eval "parts=($current)"
    existing="${parts[2]:-}"
  fi
  case "$existing" in
    *pg_test_cluster_stop*) return 0 ;;
  esac
  if [ -n "$existing" ]; then
    # shellcheck disable=SC2064
    trap "pg_test_cluster_stop; $existing" EXIT
  else
    trap 'pg_test_cluster_stop' EXIT
  fi
  if [ -z "$(trap -p INT)" ]; then trap 'exit 130' INT; fi
  if [ -z "$(trap -p TERM)" ]; then trap 'exit 143' TERM; fi
}

pg_test_cluster_ensure() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    _pg_say "TEST_DATABASE_URL is set: using it ($(printf '%s' "$TEST_DATABASE_URL" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'))"
    return 0
  fi
  if ! pg_test_find_bindir >/dev/null; then
    if [ -n "${CI:-}" ]; then
      _pg_install_server || return 1
    else
      printf '\n' >&2
      printf '[pg] ################################################################\n' >&2
      printf '[pg] WARNING: no PostgreSQL server found (initdb/pg_ctl/postgres).\n' >&2
      printf '[pg] WARNING: the PostgreSQL tests will be SKIPPED; only SQLite is tested.\n' >&2
      printf '[pg] WARNING: install it (apt-get install -y postgresql) or set TEST_DATABASE_URL.\n' >&2
      printf '[pg] ################################################################\n\n' >&2
      return 0
    fi
  fi
  pg_test_cluster_start
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Direct run: start a cluster, prove it answers, stop it (or keep it with --keep).
  set -u
  pg_test_cluster_start || exit 1
  if command -v psql >/dev/null 2>&1; then
    psql "$TEST_DATABASE_URL" -XAtc 'select version()' || exit 1
  fi
  if [ "${1:-}" = "--keep" ]; then
    trap - EXIT INT TERM
    _pg_say "kept running. Stop it with: runuser -u postgres -- $PG_TEST_BIN/pg_ctl -D $PG_TEST_DIR/data stop; rm -rf $PG_TEST_DIR"
    _pg_say "export TEST_DATABASE_URL=$TEST_DATABASE_URL"
  fi
fi
