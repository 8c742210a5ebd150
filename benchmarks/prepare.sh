#!/usr/bin/env bash
# `klingkit prepare` beside vipsthumbnail (one thread), Pillow and ImageMagick on the same inputs:
#   1. a 12-megapixel JPEG (4000x3000) fitted to 2048 px, JPEG q90;
#   2. a 4000x3000 RGBA PNG to JPEG q90, transparency flattened onto white;
#   3. a batch of 100 phone-style JPEGs (1800x1200, EXIF orientations 1-8) fitted to 1024 px, upright.
# klingkit runs twice per case: on one thread (--jobs 1 --threads 1, the fair match for single-threaded
# vips) and with its defaults (every core). Prints wall time, CPU time and peak RSS per tool,
# then RESULT lines whose ratio is anchor / ours (> 1: klingkit faster or smaller). Rounds interleave
# the tools; figures are the best wall and CPU time of RUNS rounds (CPU time barely moves with load on a
# shared machine, wall time does) and the largest peak RSS.
# Env: KLINGKIT_BIN (default .build/release/klingkit), RUNS (default 5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${KLINGKIT_BIN:-$root/.build/release/klingkit}"
runs="${RUNS:-5}"
work="$here/work/prepare"
[ -x "$bin" ] || { echo "no klingkit binary at $bin (swift build -c release --product klingkit)" >&2; exit 1; }
for tool in vipsthumbnail vips convert mogrify djpeg; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run benchmarks/setup-anchors.sh" >&2; exit 1; }
done
python3 -c "import PIL" 2>/dev/null || { echo "Pillow is missing: pip install pillow" >&2; exit 1; }
mkdir -p "$work"
python3 "$here/prepare_inputs.py" "$root/../shared/corpus/exif-orientation" "$work/inputs"
python3 "$here/prepare_bench.py" "$bin" "$runs" "$work"
