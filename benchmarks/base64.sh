#!/usr/bin/env bash
# Base64 benchmark: FastBase64 against Foundation, swift-extras-base64 1.2.0, pybase64, fastpybase64
# (simdutf) and memcpy on 10 MiB and 100 MiB seeded buffers; prints one table of GB/s with ratios.
#
# Usage: benchmarks/base64.sh [--sizes 10,100] [--runs 5] [--seconds 1] [--rounds 3] [--kernels]
#   --rounds    processes per side: the Swift bench and the Python bench run alternately this many times,
#               and the table shows the median of the rounds with their spread (a process's speed on
#               L3-sized buffers depends on where its pages landed, so one process per side is a coin toss)
#   --kernels   also time each FastBase64 kernel (scalar, SSSE3, AVX2, AVX-512 VBMI) on its own
# Env: PYTHON (default python3). pybase64/fastpybase64 are installed with pip when missing, if possible.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sizes=10,100 runs=5 seconds=1 rounds=3 kernels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --kernels) kernels=(--kernels); shift ;;
    *) echo "usage: $0 [--sizes 10,100] [--runs N] [--seconds S] [--rounds N] [--kernels]" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-python3}"

for module in pybase64 fastpybase64; do
  if ! "$python" -c "import $module" 2>/dev/null; then
    echo "installing $module with pip..." >&2
    "$python" -m pip install --quiet "$module" >&2 || echo "could not install $module: its column is skipped" >&2
  fi
done

echo "building benchmarks/Base64Bench (release)..." >&2
swift build -c release --package-path "$here/Base64Bench" >&2
bin="$(swift build -c release --package-path "$here/Base64Bench" --show-bin-path)/Base64Bench"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || uname -m)" >&2
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds" >&2
  "$bin" --sizes "$sizes" --runs "$runs" --seconds "$seconds" --tsv "$work/swift-$round.tsv" "${kernels[@]}"
  "$python" "$here/base64_bench.py" measure --sizes "$sizes" --runs "$runs" --seconds "$seconds" --tsv "$work/python-$round.tsv"
done
"$python" "$here/base64_bench.py" report --sizes "$sizes" "$work"/swift-*.tsv "$work"/python-*.tsv
