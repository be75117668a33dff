#!/usr/bin/env bash
# cairn's blob store against restic, in one run, on one corpus: the media of compat/ (ffmpeg's
# MP4, JPEG, PNG) and a few hundred MB of mixed files (a tar of system libraries and shared
# data, so binaries and text). Both ingest it into a repository on local disk, then ingest a
# second version in which 1% of the mixed bytes changed (100 scattered edits).
#
# Reported: ingest MB/s of each run; the speed of reading the second version back (cairn blob
# get of every file, restic restore); bytes stored after each — the bytes of every file of
# cairn's blob directory (index and atoms) and of restic's whole repository — and, for
# completeness, their apparent size on disk (`du -sb`, which adds 4 KiB per directory: cairn's
# ab/cd/<hash> sharding makes one directory per atom until the 65,536 shards exist); their
# ratios; and the single-core SHA-256 rate with SHA-NI (`openssl speed -evp sha256`) as the
# physical limit of hashing.
#
# Settings: restic repository version 2 with compression `auto` (zstd at its default speed),
# no password prompt (RESTIC_PASSWORD); cairn with zstd level 4 (its default), atoms and index
# fsynced before each add returns, as restic syncs its packs and index.
#
# Installs restic and ffmpeg if missing (apt-get). Usage: bench/blob.sh [MIXED_MB] (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
source compat/blob-media.sh

MIXED_MB=${1:-300}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MEDIA="$WORK/corpus/media"
ensure_tools restic
make_media

# The mixed files, as one tar (deterministic for a given machine).
tar cf - /usr/lib/x86_64-linux-gnu /usr/share 2>/dev/null | head -c "${MIXED_MB}M" >"$WORK/corpus/mixed.tar" || true
CORPUS_BYTES=$(du -sb "$WORK/corpus" | cut -f1)

edit_one_percent() {
  python3 - "$WORK/corpus/mixed.tar" <<'EOF'
import os, random, sys
path = sys.argv[1]
size = os.path.getsize(path)
rng = random.Random(1)
edit = max(1, size // 100 // 100)
with open(path, "r+b") as f:
    for _ in range(100):
        f.seek(rng.randrange(0, size - edit))
        f.write(os.urandom(edit))
EOF
}

seconds() { date +%s.%N; }
CAIRN="$PWD/target/release/cairn"

# Runs a command, its output dropped; prints the seconds it took.
elapsed() {
  local start
  start=$(seconds)
  "$@" >/dev/null
  echo "$(seconds) - $start" | bc -l
}

cairn_ingest() { # data dir
  for f in "$WORK"/corpus/mixed.tar "$MEDIA"/*; do
    "$CAIRN" blob add --as "$(basename "$f")" "$f" --data "$1"
  done
}

export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$WORK/restic-cache"
restic_ingest() { # repo
  restic -r "$1" backup --quiet --compression auto "$WORK/corpus"
}

restic -r "$WORK/restic" init --repository-version 2 >/dev/null
sync
c1=$(elapsed cairn_ingest "$WORK/cairn"); sync
r1=$(elapsed restic_ingest "$WORK/restic"); sync
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s}'; }
cairn_bytes1=$(file_bytes "$WORK/cairn/blob")
restic_bytes1=$(file_bytes "$WORK/restic")
cairn_du1=$(du -sb "$WORK/cairn/blob" | cut -f1)
restic_du1=$(du -sb "$WORK/restic" | cut -f1)
edit_one_percent
sync
c2=$(elapsed cairn_ingest "$WORK/cairn"); sync
r2=$(elapsed restic_ingest "$WORK/restic"); sync
cairn_bytes2=$(file_bytes "$WORK/cairn/blob")
restic_bytes2=$(file_bytes "$WORK/restic")
cairn_du2=$(du -sb "$WORK/cairn/blob" | cut -f1)
restic_du2=$(du -sb "$WORK/restic" | cut -f1)
"$CAIRN" blob verify --data "$WORK/cairn" >/dev/null

# Reading the second version back: every file to a folder on the same disk.
cairn_restore() {
  mkdir -p "$WORK/out-cairn"
  for f in "$WORK"/corpus/mixed.tar "$MEDIA"/*; do
    "$CAIRN" blob get "$(basename "$f")" -o "$WORK/out-cairn/$(basename "$f")" --data "$WORK/cairn"
  done
}
restic_restore() {
  restic -r "$WORK/restic" restore latest --quiet --target "$WORK/out-restic"
}
sync
g1=$(elapsed cairn_restore); sync
g2=$(elapsed restic_restore); sync
cmp -s "$WORK/out-cairn/mixed.tar" "$WORK/corpus/mixed.tar" || { echo "cairn read back different bytes" >&2; exit 1; }

sha=$(openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null | awk '/^sha256/ {sub(/k$/, "", $NF); print $NF * 1000 / 1e6}')
mb() { echo "$1 / 1000000" | bc -l; }
rate() { echo "$CORPUS_BYTES / $1 / 1000000" | bc -l; }

echo "cairn blob vs $(restic version | cut -d' ' -f1-2) on $(printf '%.0f' "$(mb "$CORPUS_BYTES")") MB ($(ls "$MEDIA" | wc -l) media files and ${MIXED_MB} MB of mixed files); second run: 1% of the mixed bytes changed"
echo "single-core SHA-256 (openssl, SHA-NI): $(printf '%.0f' "$sha") MB/s"
printf '%-26s %14s %14s %8s\n' measure cairn restic ratio
row() { printf '%-26s %14.1f %14.1f %7.2fx\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"; }
row "ingest MB/s (first)" "$(rate "$c1")" "$(rate "$r1")"
row "ingest MB/s (second)" "$(rate "$c2")" "$(rate "$r2")"
row "read back MB/s" "$(rate "$g1")" "$(rate "$g2")"
row "MB stored after first" "$(mb "$cairn_bytes1")" "$(mb "$restic_bytes1")"
row "MB stored after second" "$(mb "$cairn_bytes2")" "$(mb "$restic_bytes2")"
row "MB on disk after first" "$(mb "$cairn_du1")" "$(mb "$restic_du1")"
row "MB on disk after second" "$(mb "$cairn_du2")" "$(mb "$restic_du2")"
printf '%-26s %13.0f%%\n' "first ingest / SHA-256" "$(echo "100 * $(rate "$c1") / $sha" | bc -l)"
printf '%-26s %13.0f%%\n' "second ingest / SHA-256" "$(echo "100 * $(rate "$c2") / $sha" | bc -l)"
