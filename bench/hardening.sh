#!/usr/bin/env bash
# What one client can make the server do to the others (issue 22's probe), on redis-server and
# cairn side by side: O(n) commands (RPUSH of 1M values, LINSERT and LREM near the tail of a
# 1M list, FLUSHALL of 1M keys) with the worst PING of another client meanwhile, an RPUSH
# with 2,000 clients blocked on other keys, 3,000 connections in a row, and the memory of
# unauthenticated and large requests. Both servers run with a password and appendfsync
# everysec, each on a free loopback port with its own data directory, stopped by PID.
#
# Usage: bench/hardening.sh [N]     (N elements and keys, default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}

# shellcheck source=compat/redis-common.sh
. compat/redis-common.sh
ensure_redis
ulimit -n 20000 2>/dev/null || true

run() {
  local name=$1 port=$2 pid=$3
  wait_port_auth "$port"
  timeout 1200 python3 bench/hardening.py "$name" "$port" "$pid" pw "$N" >"$WORK/$name.txt"
}
wait_port_auth() {
  for _ in $(seq 1 300); do
    redis-cli -p "$1" -a pw --no-auth-warning ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis" "$WORK/cairn"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --requirepass pw \
  --appendonly yes --appendfsync everysec --save "" --maxclients 10000 --daemonize no \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
track "$REDIS_PID"
run redis "$REDIS_PORT" "$REDIS_PID"
kill "$REDIS_PID"

CAIRN_PORT=$(free_port)
CAIRN_LOG=warn target/release/cairn serve --data "$WORK/cairn" --redis-port "$CAIRN_PORT" \
  --http-port "$(free_port)" --pg-port 0 --requirepass pw --appendfsync everysec >"$WORK/cairn.log" 2>&1 &
CAIRN_PID=$!
track "$CAIRN_PID"
run cairn "$CAIRN_PORT" "$CAIRN_PID"
kill "$CAIRN_PID"

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') vs cairn $(target/release/cairn --version | cut -d' ' -f2); N = $N; $(nproc) cores"
echo
printf '| %s | %s | %s |\n' "test" "redis" "cairn"
printf '|---|---:|---:|\n'
join -t'|' -j1 <(awk -F'|' '{ printf "%03d %s|%s\n", NR, $1, $2 }' "$WORK/redis.txt" | sort) \
  <(awk -F'|' '{ printf "%03d %s|%s\n", NR, $1, $2 }' "$WORK/cairn.txt" | sort) \
  | sed 's/^[0-9]* //' | awk -F'|' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
