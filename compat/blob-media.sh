# Shared by compat/blob.sh and bench/blob.sh (sourced, not run): installs ffmpeg (and restic
# when asked) if missing, builds cairn, and makes the media both scripts use, in "$MEDIA":
#
#   intro.mp4 outro.mp4 part-{a,b,c,d}.mp4   5-second H.264 + AAC pieces, a keyframe first
#   shared-a.mp4 shared-b.mp4                intro + part-a / intro + part-b (first 5 s shared)
#   course-c.mp4 course-d.mp4                intro + part-c + outro / intro + part-d + outro
#   subtitled.mp4                            video, audio and a mov_text subtitle track
#   fragmented.mp4                           fragmented MP4 (moof/mdat)
#   frame.jpg frame.png                      one frame as JPEG (with EXIF-less JFIF) and PNG
#
# The shared files are joined with `-c copy`, so their shared samples are the same bytes.

ensure_tools() {
  local missing=()
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  if [ "${1:-}" = restic ]; then command -v restic >/dev/null || missing+=(restic); fi
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  cargo build --release -q -p cairn
}

make_media() {
  mkdir -p "$MEDIA"
  local ff=(ffmpeg -hide_banner -loglevel error -y)
  # A fixed bitrate makes the pieces alike in size, so what is shared is a known share.
  local x264=(-c:v libx264 -preset veryfast -g 50 -b:v 800k -maxrate 800k -bufsize 1600k
    -pix_fmt yuv420p -threads 1 -c:a aac -b:a 96k)
  piece() { # name, video source, audio frequency
    "${ff[@]}" -f lavfi -i "$2=size=640x360:rate=25" \
      -f lavfi -i "sine=frequency=$3" -t 5 "${x264[@]}" "$MEDIA/$1.mp4"
  }
  piece intro testsrc 440
  piece outro smptebars 220
  piece part-a mandelbrot 330
  piece part-b gradients 550
  piece part-c testsrc2 660
  piece part-d rgbtestsrc 770
  join() { # output, pieces…
    local out=$1 list="$MEDIA/$1.txt"
    shift
    : >"$list"
    for p in "$@"; do echo "file '$MEDIA/$p.mp4'" >>"$list"; done
    "${ff[@]}" -f concat -safe 0 -i "$list" -c copy "$MEDIA/$out.mp4"
    rm -f "$list"
  }
  join shared-a intro part-a
  join shared-b intro part-b
  join course-c intro part-c outro
  join course-d intro part-d outro
  printf '1\n00:00:00,000 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,500\nWorld\n' >"$MEDIA/subs.srt"
  "${ff[@]}" -i "$MEDIA/intro.mp4" -i "$MEDIA/subs.srt" -map 0 -map 1 -c:v copy -c:a copy -c:s mov_text \
    "$MEDIA/subtitled.mp4"
  "${ff[@]}" -i "$MEDIA/part-c.mp4" -c copy -movflags frag_keyframe+empty_moov "$MEDIA/fragmented.mp4"
  "${ff[@]}" -f lavfi -i "testsrc2=size=1280x720:rate=1" -frames:v 1 -q:v 3 "$MEDIA/frame.jpg"
  "${ff[@]}" -f lavfi -i "testsrc2=size=1280x720:rate=1" -frames:v 1 "$MEDIA/frame.png"
  rm -f "$MEDIA/subs.srt"
}
