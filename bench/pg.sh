#!/usr/bin/env bash
# cairn's PostgreSQL door against PostgreSQL 15, side by side in one run, with pgbench.
#
# PostgreSQL is initialised in a temporary directory (fsync=on, synchronous_commit=on,
# shared_buffers equal to cairn's page cache, 128 MB) and cairn serves its own temporary data
# directory; each listens on a free loopback port and is stopped by PID. Both are loaded with
# `pgbench -i -s SCALE` (its default client-side COPY), then every cell — TPC-B and `-S`
# (select-only), `-M simple` and `-M prepared`, `-c 1` and `-c 4` — runs for SECONDS on one
# server and then the other, alternating, and the script prints the tps of each and the ratio
# cairn/PostgreSQL.
#
# Usage: bench/pg.sh [--scale N] [--time SECONDS]     (defaults: 10, 30)
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=10
SECONDS_PER_CELL=30
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --time) SECONDS_PER_CELL=$2; shift 2 ;;
    *) echo "usage: $0 [--scale N] [--time SECONDS]" >&2; exit 2 ;;
  esac
done

# shellcheck source=compat/pg-common.sh
. compat/pg-common.sh
ensure_postgresql
cargo build --release -q -p cairn

PG_PORT=$(free_port)
CAIRN_PORT=$(free_port)
start_postgresql "$PG_PORT" -c shared_buffers=128MB -c fsync=on -c synchronous_commit=on
start_cairn "$CAIRN_PORT"

# pgbench as the client of a server: `run PORT ARGS…`.
run() {
  local port=$1
  shift
  timeout $((SECONDS_PER_CELL * 4 + 600)) pgbench -h 127.0.0.1 -p "$port" -U "$PG_USER" "$@" postgres
}

for port in "$PG_PORT" "$CAIRN_PORT"; do
  run "$port" -i -q -s "$SCALE" >"$WORK/init-$port.log" 2>&1 || {
    echo "pgbench -i failed on port $port:" >&2
    cat "$WORK/init-$port.log" >&2
    exit 1
  }
done

tps() {
  local port=$1
  shift
  run "$port" -n -T "$SECONDS_PER_CELL" "$@" 2>"$WORK/err.log" | awk '/^tps = / { print $3 }' | grep . \
    || { echo "pgbench failed on port $port: $(tail -3 "$WORK/err.log")" >&2; echo 0; }
}

echo "PostgreSQL $(postgres_version) vs cairn $(target/release/cairn --version | cut -d' ' -f2)"
echo "pgbench scale $SCALE, ${SECONDS_PER_CELL} s a cell, fsync on; $(nproc) cores"
echo
printf '%-22s %12s %12s %8s\n' "cell" "PostgreSQL" "cairn" "ratio"
for script in tpcb select; do
  for mode in simple prepared; do
    for clients in 1 4; do
      args=(-M "$mode" -c "$clients" -j "$clients")
      [ "$script" = select ] && args+=(-S)
      pg=$(tps "$PG_PORT" "${args[@]}")
      cairn=$(tps "$CAIRN_PORT" "${args[@]}")
      ratio=$(awk -v a="$cairn" -v b="$pg" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
      printf '%-22s %12.0f %12.0f %8s\n' "$script -M $mode -c $clients" "$pg" "$cairn" "$ratio"
    done
  done
done
