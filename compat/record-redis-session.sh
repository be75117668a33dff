#!/usr/bin/env bash
# Records redis-server's replies to the scripted session (compat/redis-session.txt) as a
# golden script for cairn-kv (crates/cairn-kv/tests/scripts/redis_session.golden), so that
# `cargo test` checks cairn's replies against Redis's offline. Run it again when the session
# changes; review the diff before committing it.
#
# The replies are redis-cli's (--no-raw, as a terminal shows them). Every command is preceded
# by an ECHO of a marker so the transcript can be cut per command; inside MULTI the marker
# would be queued, so a MULTI … EXEC/DISCARD block is one section: its commands, then their
# replies together.
#
# Installs redis-server and redis-tools if missing; starts redis-server on a free loopback
# port and stops it by PID. Usage: compat/record-redis-session.sh [SESSION] [GOLDEN]
set -euo pipefail
cd "$(dirname "$0")/.."
SESSION=${1:-compat/redis-session.txt}
GOLDEN=${2:-crates/cairn-kv/tests/scripts/redis_session.golden}

# shellcheck source=compat/redis-common.sh
. compat/redis-common.sh
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi

PORT=$(free_port)
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK" --save "" --appendonly no \
  --daemonize no >"$WORK/redis.log" 2>&1 &
track $!
wait_port "$PORT"

grep -v '^#' "$SESSION" | grep -v '^[[:space:]]*$' >"$WORK/commands"
python3 - "$WORK/commands" "$WORK/script" <<'PY'
import sys
commands = open(sys.argv[1]).read().splitlines()
out, in_multi = [], False
for n, cmd in enumerate(commands):
    word = cmd.split()[0].upper()
    if not in_multi:
        out.append(f'ECHO "@@ {n}"')
    out.append(cmd)
    if word == "MULTI":
        in_multi = True
    elif word in ("EXEC", "DISCARD"):
        in_multi = False
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
timeout 120 redis-cli --no-raw -p "$PORT" <"$WORK/script" >"$WORK/out" 2>&1

python3 - "$WORK/commands" "$WORK/out" "$GOLDEN" "$(redis-server --version | awk '{print $3}' | sed 's/^v=//')" <<'PY'
import re, sys
commands = open(sys.argv[1]).read().splitlines()
sections, current = {}, None
for line in open(sys.argv[2]).read().splitlines():
    m = re.fullmatch(r'"@@ (\d+)"', line)
    if m:
        current = int(m.group(1))
        sections[current] = []
    elif current is not None:
        sections[current].append(line)
starts = sorted(sections)
lines = [
    "# redis-server's replies to compat/redis-session.txt, recorded by",
    f"# compat/record-redis-session.sh from Redis {sys.argv[4]} (redis-cli --no-raw).",
    "# cairn-kv's tests/golden.rs runs the commands through Kv and compares.",
]
for i, start in enumerate(starts):
    end = starts[i + 1] if i + 1 < len(starts) else len(commands)
    for cmd in commands[start:end]:
        lines.append("> " + cmd)
    lines.extend(sections[start])
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
print(f"recorded {len(commands)} commands in {len(starts)} sections to {sys.argv[3]}")
PY
