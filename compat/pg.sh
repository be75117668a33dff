#!/usr/bin/env bash
# psql against PostgreSQL 15 and against cairn, one session each (compat/pg/session.sql:
# DDL, DML, queries, the \d family, \copy, errors), their outputs compared line by line.
# Prints the differences and, last, `N of M lines match` (M: the lines PostgreSQL printed).
#
# Masked before comparing: the port in \conninfo's line (the two servers listen on
# different ports). Nothing else is: the session prints no versions and no OIDs.
#
# PostgreSQL 15 and psql are installed from Debian when missing; both servers run on free
# loopback ports and are stopped by PID.
#
# Usage: compat/pg.sh [--keep DIR]   (--keep: leave both outputs in DIR)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=compat/pg-common.sh
. compat/pg-common.sh
ensure_postgresql
cargo build --release -q -p cairn
SESSION="$PWD/compat/pg/session.sql"

run_session() {
  local port=$1 out=$2
  mkdir -p "$WORK/run-$port"
  (cd "$WORK/run-$port" && timeout 120 psql -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres \
    -X -f "$SESSION" >"$out" 2>&1) || true
  sed -i -E 's/(at port )"[0-9]+"/\1"PORT"/' "$out"
}

PG_PORT=$(free_port)
start_postgresql "$PG_PORT"
run_session "$PG_PORT" "$WORK/postgresql.out"
CAIRN_PORT=$(free_port)
start_cairn "$CAIRN_PORT"
run_session "$CAIRN_PORT" "$WORK/cairn.out"

if [ "${1:-}" = --keep ] && [ -n "${2:-}" ]; then
  mkdir -p "$2"
  cp "$WORK/postgresql.out" "$WORK/cairn.out" "$2/"
fi

python3 - "$WORK/postgresql.out" "$WORK/cairn.out" <<'PY'
import difflib
import sys

expected = open(sys.argv[1], encoding="utf-8").read().splitlines()
actual = open(sys.argv[2], encoding="utf-8").read().splitlines()
matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
matched = sum(block.size for block in matcher.get_matching_blocks())
for line in difflib.unified_diff(expected, actual, "postgresql", "cairn", n=1, lineterm=""):
    print(line)
print(f"{matched} of {len(expected)} lines match")
PY
