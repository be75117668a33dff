# Shared by the PostgreSQL door's compat and bench scripts (sourced, not run): installs
# PostgreSQL 15 (server, psql, pgbench) when missing, starts a PostgreSQL in a temporary
# directory and a cairn on free loopback ports, and stops both by PID when the script exits.

PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=cairn

ensure_postgresql() {
  if [ ! -x "$PG_BIN/postgres" ] || ! command -v psql >/dev/null || ! command -v pgbench >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
  fi
}

postgres_version() {
  "$PG_BIN/postgres" --version | awk '{ print $3 }'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

# Waits until a server answers on 127.0.0.1:PORT.
wait_pg() {
  for _ in $(seq 1 300); do
    psql -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres -Xqc 'SELECT 1' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no server answered on port $1" >&2
  return 1
}

WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=()
track() { PIDS+=("$1"); }
cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# As the user PostgreSQL runs as: initdb and postgres refuse root.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Starts PostgreSQL on 127.0.0.1:PORT with a superuser named cairn (trust on loopback);
# the other arguments are server options (`-c name=value`).
start_postgresql() {
  local port=$1
  shift
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
  as_postgres "$PG_BIN/initdb" -D "$WORK/pg" -U "$PG_USER" -A trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1
  as_postgres "$PG_BIN/postgres" -D "$WORK/pg" -p "$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$WORK/pg" "$@" >"$WORK/postgres.log" 2>&1 &
  track $!
  wait_pg "$port"
  track "$(head -1 "$WORK/pg/postmaster.pid")"
}

# Starts cairn with its PostgreSQL door on 127.0.0.1:PORT and its other doors on free ports.
start_cairn() {
  local port=$1
  CAIRN_LOG=warn target/release/cairn serve --data "$WORK/cairn" --pg-port "$port" \
    --redis-port "$(free_port)" --http-port "$(free_port)" >"$WORK/cairn.log" 2>&1 &
  track $!
  wait_pg "$port"
}
