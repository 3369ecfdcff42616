#!/usr/bin/env bash
# A/B of CSV import binaries on this noisy machine: each round runs every variant once, in turn,
# on a fresh copy of the same database, so drifts in the machine's speed hit all variants alike.
#
#   KEEP_DATA=1 bash scripts/bench-import.sh 200000      # prints "[bench] kept DIR"
#   ROUNDS=3 bash scripts/bench-import-ab.sh DIR LABEL:BINARY[:VAR=VALUE...] ...
#
# DIR holds base.db (the database before the import), secret and orders.csv. A variant's
# VAR=VALUE is set in its environment (for switches in an experimental build). Prints wall time,
# peak RSS and CPU per run.
set -euo pipefail
DIR=${1:?usage: bench-import-ab.sh DIR LABEL:BINARY[:VAR=VALUE] ...}
shift
[ $# -gt 0 ] || { echo "bench: name at least one LABEL:BINARY" >&2; exit 1; }
for f in base.db secret orders.csv; do
  [ -e "$DIR/$f" ] || { echo "bench: $DIR/$f is missing (run bench-import.sh with KEEP_DATA=1)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/handoff-ab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for round in $(seq "${ROUNDS:-3}"); do
  for spec in "$@"; do
    label=${spec%%:*}
    rest=${spec#*:}
    binary=${rest%%:*}
    vars=()
    # Several VAR=VALUE are separated by colons.
    [ "$rest" != "$binary" ] && IFS=: read -ra vars <<<"${rest#*:}"
    rm -rf "${WORK:?}"/*
    cp "$DIR/base.db" "$WORK/handoff.db"
    cp "$DIR/secret" "$WORK/"
    result=$(env "${vars[@]}" HANDOFF_DATA_DIR="$WORK" RUST_LOG=warn \
      /usr/bin/time -f "%e s wall, %M KB peak RSS, %U s user, %S s sys" \
      "$binary" import conversions "$DIR/orders.csv" --campaign bench 2>&1 >/dev/null | tail -1)
    echo "round $round $label: $result"
  done
done
