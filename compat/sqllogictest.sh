#!/usr/bin/env bash
# Runs sqllogictest files through cairn-sql's embedded engine, as the engine `postgresql`:
#   compat/sqllogictest.sh [--timeout SECONDS] [--verbose] [--wire] [FILE_OR_DIR ...]
# With --wire, every file runs over the PostgreSQL wire protocol instead, through the
# `postgres` driver, against a `cairn serve` started for it on free loopback ports.
# With no path it runs the development set of SQLite's corpus in ../shared/corpus/sqllogictest
# (read in place). Prints one line per file and, last, `N passed, M failed` counting records.
# Each file gets a fresh database and its own process; a record running past the time limit
# (30 s by default) fails with the rest of its file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
cargo build --release -q -p cairn-slt -p cairn
args=()
paths=0
while [ $# -gt 0 ]; do
    case "$1" in
        --timeout) args+=("$1" "$2"); shift 2 ;;
        --verbose) args+=("$1"); shift ;;
        --wire) args+=(--wire "$root/target/release/cairn"); shift ;;
        *) args+=("$1"); paths=$((paths + 1)); shift ;;
    esac
done
if [ "$paths" -eq 0 ]; then
    corpus="$root/../shared/corpus/sqllogictest"
    [ -d "$corpus" ] || { echo "no corpus at $corpus: name the files to run" >&2; exit 2; }
    args+=("$corpus")
fi
exec "$root/target/release/cairn-slt" "${args[@]}"
