#!/usr/bin/env bash
# cairn's Redis door against redis-server, side by side in one run.
#
# Both servers persist with an append-only log fsynced once a second: redis-server with
# `appendonly yes, appendfsync everysec` (no RDB snapshots), cairn with `--appendfsync
# everysec`. Each runs on a free loopback port with its own data directory; the script stops
# them by PID. redis-benchmark runs the same tests against each, with -P 1 and -P 16 on its
# default single key, then -P 16 with keys drawn from 100,000 (-r), and the script prints ops/s
# and the ratio cairn/redis. A test of 200,000 requests at -P 16 lasts a tenth of a second, so
# each configuration runs ROUNDS times, alternating the servers, and the median of each side is
# reported. Then both load 5M keys and their memory (peak RSS) is reported.
#
# Usage: bench/redis.sh [-n REQUESTS] [--keys N] [--rounds R]     (defaults: 200000, 5000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=200000
KEYS=5000000
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) REQUESTS=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [-n REQUESTS] [--keys N] [--rounds R]" >&2; exit 2 ;;
  esac
done
TESTS=set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset

# shellcheck source=compat/redis-common.sh
. compat/redis-common.sh
ensure_redis

start_servers() {
  REDIS_PORT=$(free_port)
  CAIRN_PORT=$(free_port)
  rm -rf "$WORK/redis" "$WORK/cairn"
  mkdir -p "$WORK/redis" "$WORK/cairn"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no \
    >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  CAIRN_LOG=warn target/release/cairn serve --data "$WORK/cairn" --redis-port "$CAIRN_PORT" --http-port "$(free_port)" --pg-port 0 \
    --appendfsync everysec >"$WORK/cairn.log" 2>&1 &
  CAIRN_PID=$!
  track "$REDIS_PID"
  track "$CAIRN_PID"
  wait_port "$REDIS_PORT"
  wait_port "$CAIRN_PORT"
}
stop_servers() {
  kill "$REDIS_PID" "$CAIRN_PID" 2>/dev/null || true
  wait "$REDIS_PID" "$CAIRN_PID" 2>/dev/null || true
}

# Runs redis-benchmark against a port with a pipeline depth and extra options; prints
# "test,rps" lines.
bench() {
  local port=$1 depth=$2
  shift 2
  timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -n "$REQUESTS" -c 50 -P "$depth" "$@" --csv 2>/dev/null \
    | tail -n +2 | awk -F'","' '{gsub(/"/,"",$1); gsub(/"/,"",$2); print $1","$2}'
}

# The median ops/s of one test in a file of "test,rps" lines (0 if absent).
median() {
  awk -F, -v t="$2" '$1 == t { print $2 }' "$1" | sort -g \
    | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
}

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') vs cairn $(target/release/cairn --version | cut -d' ' -f2)"
echo "redis-benchmark -t $TESTS -n $REQUESTS -c 50; both appendfsync everysec; $(nproc) cores"
echo
# redis-benchmark's default hits one key per test; `-r 100000` spreads the keys of
# SET/GET/INCR (and the members of SADD/HSET/ZADD) over 100,000, as real traffic does.
for run in "1" "16" "16 -r 100000"; do
  read -r P KEYSPACE <<<"$run"
  start_servers
  : >"$WORK/redis.csv"
  : >"$WORK/cairn.csv"
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086 # KEYSPACE is empty or two words
    bench "$REDIS_PORT" "$P" $KEYSPACE >>"$WORK/redis.csv"
    # shellcheck disable=SC2086
    bench "$CAIRN_PORT" "$P" $KEYSPACE >>"$WORK/cairn.csv"
  done
  stop_servers
  echo "### -P $P${KEYSPACE:+ $KEYSPACE} (median of $ROUNDS rounds)"
  echo
  echo "| test | redis ops/s | cairn ops/s | cairn/redis |"
  echo "|---|---|---|---|"
  awk -F, '!seen[$1]++ { print $1 }' "$WORK/redis.csv" | while IFS= read -r test; do
    rps=$(median "$WORK/redis.csv" "$test")
    crps=$(median "$WORK/cairn.csv" "$test")
    awk -v t="$test" -v r="$rps" -v c="$crps" \
      'BEGIN { printf "| %s | %.0f | %.0f | %.2fx |\n", t, r, c, (r > 0 ? c / r : 0) }'
  done
  echo
done

echo "### Memory after loading $KEYS keys (SET key:N to a 16-byte value, through redis-cli --pipe)"
echo
start_servers
for port in "$REDIS_PORT" "$CAIRN_PORT"; do
  awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%016d\r\n", length(k), k, i } }' \
    | timeout 1800 redis-cli -h 127.0.0.1 -p "$port" --pipe >/dev/null
done
peak() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rkeys=$(redis-cli -p "$REDIS_PORT" dbsize)
ckeys=$(redis-cli -p "$CAIRN_PORT" dbsize)
echo "| server | keys | peak RSS MiB | RSS MiB |"
echo "|---|---|---|---|"
echo "| redis | $rkeys | $(peak "$REDIS_PID") | $(rss "$REDIS_PID") |"
echo "| cairn | $ckeys | $(peak "$CAIRN_PID") | $(rss "$CAIRN_PID") |"
stop_servers
