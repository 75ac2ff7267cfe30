#!/bin/sh
# Merge speed: Weir's weir-vodmerge against a plain `cp` of the same bytes and
# `ffmpeg -f concat -c copy -movflags +faststart` on the same segment files.
#
#   tools/bench/merge_bench.sh [-b build/tools/vodmerge/weir-vodmerge] [-r runs] SEG...
#
# Each tool runs `runs` times (default 3) into a scratch dir next to the
# first segment (same filesystem, so copy_file_range can share extents where
# the filesystem allows: that is part of what is measured); the page cache is
# left warm (run once before timing). Prints wall seconds per run and MB/s of
# segment bytes. Outputs are deleted.
set -eu

BIN=
RUNS=3
while getopts b:r: opt; do
  case $opt in
    b) BIN=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    *) echo "usage: $0 [-b weir-vodmerge] [-r runs] SEG..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-b weir-vodmerge] [-r runs] SEG..." >&2; exit 2; }
if [ -z "$BIN" ]; then
  BIN=$(dirname "$0")/../../build/tools/vodmerge/weir-vodmerge
fi
[ -x "$BIN" ] || { echo "no weir-vodmerge at $BIN (build it: ninja -C build weir-vodmerge)" >&2; exit 2; }

FIRST_DIR=$(cd "$(dirname "$1")" && pwd)
WORK=$(mktemp -d "$FIRST_DIR/.merge-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

BYTES=0
: > "$WORK/list.txt"
for f in "$@"; do
  abs=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
  BYTES=$((BYTES + $(stat -c %s "$abs")))
  # concat demuxer list; single quotes in names are escaped as '\''
  printf "file '%s'\n" "$(printf %s "$abs" | sed "s/'/'\\\\''/g")" >> "$WORK/list.txt"
done

now() { date +%s.%N; }

# bench NAME CMD...: runs CMD $RUNS times, prints the best and mean wall time.
bench() {
  name=$1
  shift
  best=
  total=0
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    rm -f "$WORK"/out.* "$WORK"/cat.bin
    t0=$(now)
    "$@" > "$WORK/log" 2>&1 || { echo "$name failed:" >&2; cat "$WORK/log" >&2; exit 1; }
    t1=$(now)
    dt=$(echo "$t1 - $t0" | bc -l)
    total=$(echo "$total + $dt" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
    i=$((i + 1))
  done
  mean=$(echo "$total / $RUNS" | bc -l)
  mbps=$(echo "$BYTES / 1000000 / $best" | bc -l)
  printf '%-22s best %8.3f s  mean %8.3f s  %9.1f MB/s\n' "$name" "$best" "$mean" "$mbps"
}

cat_all() { cat "$@" > "$WORK/cat.bin"; }

echo "segments: $# files, $BYTES bytes, $RUNS runs each"
cat "$@" > /dev/null  # warm the page cache
bench "cat (copy of the bytes)" cat_all "$@"
bench "weir-vodmerge" "$BIN" --no-fsync -o "$WORK/out.mp4" "$@"
bench "weir-vodmerge +fsync" "$BIN" -o "$WORK/out.mp4" "$@"
bench "ffmpeg concat+faststart" ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$WORK/list.txt" \
  -c copy -movflags +faststart "$WORK/out.ff.mp4"
