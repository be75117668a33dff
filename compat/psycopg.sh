#!/usr/bin/env bash
# psycopg 3 (Python's PostgreSQL driver) against cairn's PostgreSQL door: parameterised
# queries, executemany, COPY, server-side cursors, transactions and errors
# (compat/psycopg_check.py). psycopg is installed from PyPI into a virtualenv in a temporary
# directory; cairn runs on a free loopback port and is stopped by PID.
#
# Usage: compat/psycopg.sh [--against-postgresql]   (the second runs the same checks on PostgreSQL 15)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=compat/pg-common.sh
. compat/pg-common.sh
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "psycopg[binary]>=3.1"
PORT=$(free_port)
if [ "${1:-}" = --against-postgresql ]; then
  ensure_postgresql
  start_postgresql "$PORT"
else
  cargo build --release -q -p cairn
  start_cairn "$PORT"
fi
timeout 300 "$WORK/venv/bin/python" compat/psycopg_check.py "host=127.0.0.1 port=$PORT user=$PG_USER dbname=postgres"
