#!/usr/bin/env bash
# A 12-megapixel HEIC (4000x3000, HEVC via x265 q85) fitted to 2048 px JPEG q90 by:
#   klingkit prepare --max-side 2048 (the whole CLI, one thread: --jobs 1 --threads 1),
#   heif-convert (to JPEG q90) + vipsthumbnail --size 2048 (VIPS_CONCURRENCY=1),
#   Pillow + pillow-heif (open, LANCZOS thumbnail to 2048, save q90).
# Every tool runs pinned to one core (taskset -c 0) so codec worker threads cannot help. Prints wall
# time, CPU time and peak RSS per tool (best wall/CPU and largest RSS of RUNS interleaved rounds) and
# RESULT lines whose ratio is anchor / ours (> 1: klingkit faster). Goal: >= 1.5x the faster anchor.
# Needs: libheif-examples (heif-enc, heif-convert), libvips-tools, pip install pillow pillow-heif.
# Env: KLINGKIT_BIN (default .build/release/klingkit), RUNS (default 5), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${KLINGKIT_BIN:-$root/.build/release/klingkit}"
runs="${RUNS:-5}"
py="${PYTHON:-python3}"
work="$here/work/heic"
[ -x "$bin" ] || { echo "no klingkit binary at $bin (swift build -c release --product klingkit)" >&2; exit 1; }
for tool in heif-enc heif-convert vipsthumbnail convert taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
"$py" -c "import PIL, pillow_heif" 2>/dev/null || { echo "pip install pillow pillow-heif (for $py)" >&2; exit 1; }
mkdir -p "$work"
input="$work/photo-12mp.heic"
if [ ! -s "$input" ]; then
  convert "$root/../shared/corpus/exif-orientation/Landscape_1.jpg" -resize '4000x3000!' "$work/source.png"
  heif-enc -q 85 "$work/source.png" -o "$input" >/dev/null
fi
"$py" "$here/heic_bench.py" "$bin" "$runs" "$work" "$input" "$py"
