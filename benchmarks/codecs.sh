#!/usr/bin/env bash
# Codecs benchmark: ImageCodecs decode, verify (the check path) and header probe beside djpeg, Pillow,
# pyvips and vipsheader on the same files (a 12-megapixel photo as baseline JPEG, progressive JPEG and
# PNG; 1,000 corpus headers for the probe). Prints a table of milliseconds (median of RUNS) and RESULT
# lines whose ratio is anchor / KlingKit (> 1: KlingKit faster). KlingKit times are in-process on
# bytes in memory, like Pillow and pyvips; djpeg and vipsheader are timed as whole processes.
# Usage: benchmarks/codecs.sh   Env: RUNS (default 5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
runs="${RUNS:-5}"
for tool in djpeg vipsheader; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run benchmarks/setup-anchors.sh" >&2; exit 1; }
done
python3 -c "import PIL" 2>/dev/null || { echo "Pillow is missing: pip install pillow" >&2; exit 1; }
echo "building benchmarks/CodecsBench (release)..." >&2
swift build -c release --package-path "$here/CodecsBench" >&2
bin="$(swift build -c release --package-path "$here/CodecsBench" --show-bin-path)/CodecsBench"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || uname -m)" >&2
python3 "$here/codecs_bench.py" "$bin" "$root/../shared/corpus" "$here/work/codecs" "$runs"
