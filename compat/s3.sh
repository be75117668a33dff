#!/usr/bin/env bash
# The blob store on real object storage: a moto S3 server (PyPI `moto[server]`, installed in a
# virtualenv here) on a free loopback port, and cairn's blob CLI adding, reading back,
# verifying, removing and collecting against it through `--backend s3://bucket/prefix`, with
# credentials and endpoint from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION, AWS_ENDPOINT, AWS_ALLOW_HTTP), as a user of MinIO or S3 would run it.
#
# Checks: files and a directory added; restored byte for byte (single files and the
# directory prefix); the atoms are objects in the bucket under the prefix; a second version
# shares the unchanged atoms; verify passes; rm + gc deletes exactly the atoms no file uses
# any more, from the bucket; verify passes after. Exits 1 at the first check that fails.
#
# Usage: compat/s3.sh (needs python3 with venv and network access to PyPI the first time)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

VENV=${CAIRN_S3_VENV:-target/compat-s3-venv}
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install -q 'moto[server]' boto3
fi
cargo build --release -q -p cairn
CAIRN=target/release/cairn

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=cairn AWS_SECRET_ACCESS_KEY=cairn-secret AWS_REGION=us-east-1
export AWS_ENDPOINT="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true
BUCKET=cairn-compat
BACKEND="s3://$BUCKET/atoms"
s3() { "$VENV/bin/python" - "$@" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
cmd = sys.argv[1]
if cmd == "mb":
    s3.create_bucket(Bucket=sys.argv[2])
elif cmd == "count":
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
        n += page.get("KeyCount", 0)
    print(n)
PY
}
s3 mb "$BUCKET"

passed=0
quiet() { "$@" >/dev/null; }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $what"; else echo "FAIL $what"; exit 1; fi
}

# A corpus: a directory of text and random bytes, and a large file of its own.
mkdir -p "$WORK/corpus/tree/sub"
for i in $(seq 1 20); do seq "$i" 5000 >"$WORK/corpus/tree/text-$i.txt"; done
head -c 3000000 /dev/urandom >"$WORK/corpus/tree/sub/random.bin"
head -c 8000000 /dev/urandom >"$WORK/corpus/big.bin"
DATA="$WORK/data"
blob() { (cd "$WORK/corpus" && timeout 300 "$OLDPWD/$CAIRN" blob "$@" --data "$DATA" --backend "$BACKEND"); }

echo "== add (moto S3 on 127.0.0.1:$PORT, backend $BACKEND)"
blob add tree big.bin
objects=$(s3 count "$BUCKET" atoms/)
check "the atoms are objects under the prefix ($objects)" test "$objects" -gt 20
check "ls lists the 22 files" test "$(blob ls | grep -c 'tree/\|big.bin')" -eq 22

echo "== get"
blob get big.bin -o "$WORK/big.out" 2>/dev/null
check "big.bin reads back byte for byte" cmp -s "$WORK/big.out" "$WORK/corpus/big.bin"
blob get tree/ -o "$WORK/restored" 2>/dev/null
check "the directory prefix restores byte for byte" diff -r "$WORK/restored" "$WORK/corpus/tree"
check "verify passes" quiet blob verify

echo "== a second version shares the unchanged atoms"
printf 'one more line\n' >>"$WORK/corpus/big.bin"
blob add big.bin | tee "$WORK/second.txt"
after_second=$(s3 count "$BUCKET" atoms/)
check "a few new objects for an appended line ($objects -> $after_second)" \
  test $((after_second - objects)) -le 3

echo "== rm + gc"
blob rm big.bin >/dev/null
blob gc | tee "$WORK/gc.txt"
after_gc=$(s3 count "$BUCKET" atoms/)
check "gc deleted big.bin's atoms from the bucket ($after_second -> $after_gc)" test "$after_gc" -lt "$objects"
check "verify passes after gc" quiet blob verify
blob get tree/sub/random.bin -o "$WORK/random.out" 2>/dev/null
check "the other files still read back" cmp -s "$WORK/random.out" "$WORK/corpus/tree/sub/random.bin"

echo
echo "s3: $passed checks passed against moto $("$VENV/bin/pip" show moto 2>/dev/null | awk '/^Version/ {print $2}')"
