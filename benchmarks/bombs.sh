#!/usr/bin/env bash
# Peak memory and CPU of `check`, `prepare` and `sheet` on the bombs of issue #18 (small files that pass
# the header guard but cost far more to decode or prepare), measured with /usr/bin/time -v.
#
#   benchmarks/bombs.sh [KLINGKIT]      default .build/release/klingkit, else .build/debug/klingkit
#
# Makes the inputs first (benchmarks/make_bombs.py: cjpeg from libjpeg-turbo-progs, Pillow, zlib) in
# $BOMBS (default benchmarks/work/bombs), then prints one row per command: peak RSS, CPU seconds, exit
# status, and the tool's first output line. Every peak must stay at or under $LIMIT_MB (default 100);
# the script exits 1 when one does not.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
klingkit="${1:-}"
if [ -z "$klingkit" ]; then
    klingkit="$root/.build/release/klingkit"
    [ -x "$klingkit" ] || klingkit="$root/.build/debug/klingkit"
fi
bombs="${BOMBS:-$root/benchmarks/work/bombs}"
limit="${LIMIT_MB:-100}"
command -v cjpeg >/dev/null || { echo "bombs.sh: needs cjpeg (apt-get install libjpeg-turbo-progs)" >&2; exit 2; }
[ -f "$bombs/iccp-512mib.png" ] || python3 "$root/benchmarks/make_bombs.py" "$bombs" >/dev/null
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

over=0
printf '%-46s %9s %7s %4s  %s\n' "command" "peak MB" "CPU s" "exit" "first line of output"
run() {
    local label="$1"; shift
    local log="$out/time.log" said="$out/said.txt"
    set +e
    /usr/bin/time -v "$@" >"$said" 2>"$log"
    local status=$?
    set -e
    local rss cpu
    rss=$(awk -F: '/Maximum resident set size/ {print int($2 / 1024)}' "$log")
    cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u + s}' "$log")
    local first
    first=$(grep -v -e '^\s*Command being timed' -e '^\s*[A-Z][a-z ]*([^)]*):' "$said" "$log" | head -n 1 | cut -d: -f2- | cut -c1-110)
    printf '%-46s %9s %7s %4s  %s\n' "$label" "$rss" "$cpu" "$status" "$first"
    if [ "$rss" -gt "$limit" ]; then over=1; fi
}

for f in progressive-10000.jpg many-scans-4000.jpg pad-16000x6250.jpg tall-1x1000000.png \
         wide-20000x5000.png big-10000x10000.png iccp-512mib.png; do
    run "check $f" "$klingkit" check "$bombs/$f"
    run "prepare $f" "$klingkit" prepare --out "$out/prepared" "$bombs/$f"
done
run "prepare --min-side 20000 small-800x600.png" "$klingkit" prepare --min-side 20000 --out "$out/prepared" "$bombs/small-800x600.png"
run "prepare --min-side 12000 --crop wide.png" "$klingkit" prepare --min-side 12000 --crop --out "$out/prepared" "$bombs/wide-20000x5000.png"
run "sheet progressive-10000.jpg" "$klingkit" sheet "$bombs/progressive-10000.jpg" --out "$out/sheet1.png"
run "sheet big-10000x10000.png" "$klingkit" sheet "$bombs/big-10000x10000.png" --out "$out/sheet2.png"
if [ "$over" -ne 0 ]; then echo "bombs.sh: a peak is over ${limit} MB" >&2; exit 1; fi
echo "bombs.sh: every peak at or under ${limit} MB"
