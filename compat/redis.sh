#!/usr/bin/env bash
# Drives redis-cli through the same scripted session (compat/redis-session.txt) against a
# real redis-server and against cairn, and compares the replies command by command.
# Installs redis-server and redis-tools if they are missing; starts both servers on free
# loopback ports and stops them by PID. Exits 1 if any reply differs.
#
# Usage: compat/redis.sh [SESSION_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
SESSION=${1:-compat/redis-session.txt}

# shellcheck source=compat/redis-common.sh
. compat/redis-common.sh
ensure_redis

REDIS_PORT=$(free_port)
CAIRN_PORT=$(free_port)
mkdir -p "$WORK/redis" "$WORK/cairn"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
  --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
track $!
CAIRN_LOG=warn target/release/cairn serve --data "$WORK/cairn" --redis-port "$CAIRN_PORT" --http-port "$(free_port)" --pg-port 0 \
  >"$WORK/cairn.log" 2>&1 &
track $!
wait_port "$REDIS_PORT"
wait_port "$CAIRN_PORT"

# Every command is preceded by an ECHO of a marker naming it, so that the two transcripts
# can be cut into one section per command.
grep -v '^#' "$SESSION" | grep -v '^[[:space:]]*$' \
  | awk '{ n++; gsub(/"/, "\\\""); printf "ECHO \"@@ %d %s\"\n", n, $0 } { print }' >"$WORK/script"
# Inside MULTI the ECHO is queued too; both servers see the same, so it still lines up.
timeout 120 redis-cli -p "$REDIS_PORT" <"$WORK/script" >"$WORK/redis.out" 2>&1 || true
timeout 120 redis-cli -p "$CAIRN_PORT" <"$WORK/script" >"$WORK/cairn.out" 2>&1 || true

awk -v redis="$WORK/redis.out" -v cairn="$WORK/cairn.out" '
  function load(file, sections, names,    line, key) {
    key = ""
    while ((getline line < file) > 0) {
      if (line ~ /^@@ [0-9]+ /) { key = line; names[key] = 1; sections[key] = ""; continue }
      if (key != "") sections[key] = sections[key] line "\n"
    }
  }
  BEGIN {
    load(redis, r, names); load(cairn, c, names)
    for (k in names) {
      total++
      if (r[k] == c[k]) { same++ } else {
        bad++
        printf "DIFF %s\n  redis: %s  cairn: %s", substr(k, 4), r[k], c[k]
      }
    }
    printf "\n%d of %d commands answered exactly as redis-server does\n", same, total
    exit bad > 0
  }'
