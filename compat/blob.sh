#!/usr/bin/env bash
# The blob store on files made by real tools: ffmpeg's MP4 (plain, fragmented, with
# subtitles), JPEG and PNG. Each file must come back bit-perfect, split into the atoms its
# format has (keyframes, predicted frames, audio samples, subtitles, scans, chunks), and one
# component must be extractable. Then the seed's scenarios, with the storage each saves:
# two videos sharing their first 5 seconds, ten versions of one file with small edits, and
# courses sharing an intro and an outro.
#
# Installs ffmpeg if missing (apt-get); works in a temporary directory; bounded in time.
# Usage: compat/blob.sh   (from anywhere; exit status 1 if a check fails)
set -euo pipefail
cd "$(dirname "$0")/.."
source compat/blob-media.sh

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MEDIA="$WORK/media"
CAIRN="timeout 300 target/release/cairn"
failures=0
check() { # description, command…
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

ensure_tools
make_media

# 1. Splitters on real files.
data="$WORK/splitters"
for f in shared-a subtitled fragmented frame.jpg frame.png; do
  file="$MEDIA/$f"
  [ -f "$file" ] || file="$MEDIA/$f.mp4"
  $CAIRN blob add --as "$f" "$file" --data "$data" >/dev/null
  $CAIRN blob get "$f" -o "$WORK/back" --data "$data" 2>/dev/null
  check "$f comes back bit-perfect" cmp -s "$file" "$WORK/back"
  $CAIRN blob atoms "$f" --data "$data" >"$WORK/atoms-$f.txt"
done
has() { grep -q "$2" "$WORK/atoms-$1.txt"; }
check "MP4 keyframes are IFrame atoms" has shared-a "IFrame"
check "MP4 predicted frames are PFrame or BFrame atoms" bash -c "grep -qE 'PFrame|BFrame' '$WORK/atoms-shared-a.txt'"
check "MP4 audio samples are AudioChunk atoms" has shared-a "AudioChunk"
check "MP4 sample tables are atoms of moov" has shared-a "moov/trak"
check "MP4 subtitles are Subtitle atoms" has subtitled "Subtitle"
check "fragmented MP4 samples are split (moof, IFrame)" bash -c "grep -q moof '$WORK/atoms-fragmented.txt' && grep -q IFrame '$WORK/atoms-fragmented.txt'"
check "JPEG scans are ImageData atoms" has frame.jpg "ImageData"
check "JPEG tables are Metadata atoms" bash -c "grep -q DQT '$WORK/atoms-frame.jpg.txt' && grep -q DHT '$WORK/atoms-frame.jpg.txt'"
check "PNG pixels are ImageData atoms" has frame.png "IDAT"
check "the video's duration is known" has shared-a "duration_seconds: 10"
$CAIRN blob get shared-a --component audio -o "$WORK/audio.raw" --data "$data" 2>/dev/null
audio_bytes=$(stat -c %s "$WORK/audio.raw")
check "the audio component is the audio samples ($audio_bytes bytes)" test "$audio_bytes" -gt 50000
ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$MEDIA/shared-a.mp4" | tr '\n' ' ' | sed 's/^/  streams: /'
echo

# 2. The seed's scenarios: bytes added, bytes stored (compressed), saved.
scenario() { # name, files…
  local name=$1 dir="$WORK/scenario-$1"
  shift
  local i=0
  for f in "$@"; do
    i=$((i + 1))
    $CAIRN blob add --as "$name-$i" "$f" --data "$dir" >/dev/null
  done
  $CAIRN blob verify --data "$dir" >/dev/null || { echo "FAIL $name: verify"; failures=$((failures + 1)); }
  local added stored
  added=$($CAIRN blob stats --data "$dir" | awk -F'┆' '/bytes added/ {gsub(/[ │]/, "", $2); print $2}')
  stored=$($CAIRN blob stats --data "$dir" | awk -F'┆' '/bytes stored/ {gsub(/[ │]/, "", $2); print $2}')
  printf '%-28s %12s %12s %7.1f%%\n' "$name" "$added" "$stored" "$(echo "100 - 100 * $stored / $added" | bc -l)"
}
printf '%-28s %12s %12s %8s\n' scenario "bytes added" "bytes stored" saved
scenario "videos-sharing-5s" "$MEDIA/shared-a.mp4" "$MEDIA/shared-b.mp4"
scenario "courses-intro-outro" "$MEDIA/course-c.mp4" "$MEDIA/course-d.mp4"
# Ten versions of a 20 MB document: each version changes a few bytes in four places and
# inserts a line.
python3 - "$WORK/versions" <<'EOF'
import os, random, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
doc = bytearray(b" ".join(rng.choice(words) for _ in range(3_000_000)))
for v in range(10):
    for _ in range(4):
        at = rng.randrange(len(doc) - 100)
        doc[at:at + 20] = bytes(rng.randrange(256) for _ in range(20))
    at = rng.randrange(len(doc))
    doc[at:at] = b"\ninserted line %d\n" % v
    with open(os.path.join(out, "v%02d.txt" % v), "wb") as f:
        f.write(doc)
EOF
scenario "ten-versions-small-edits" "$WORK"/versions/v*.txt

if [ "$failures" -gt 0 ]; then
  echo "$failures checks failed"
  exit 1
fi
echo "all checks passed"
