#!/usr/bin/env bash
# Fuzz the JPEG/PNG decoders (the C shim over system libjpeg-turbo and libpng) with libFuzzer,
# seeded with every JPEG/PNG of the shared corpus.
#
#   fuzz/run.sh [SECONDS] [JOBS]      default 60 s, 1 job; run from the repository root
#
# Needs clang with libFuzzer (the Swift toolchain's clang has it) and libjpeg-dev, libpng-dev.
# Crashes, leaks and sanitizer reports stop the run and leave crash-* files in $FUZZ_WORK (printed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
jobs="${2:-1}"
work="${FUZZ_WORK:-${TMPDIR:-/tmp}/klingkit-fuzz}"
corpus_dir="${KLINGKIT_CORPUS:-$root/../shared/corpus}"
cc="${CC:-clang}"
mkdir -p "$work/seeds" "$work/found" "$work/artifacts"

# Seeds: the whole corpus, JPEG and PNG, valid and malformed (names do not matter to the fuzzer).
find "$corpus_dir" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.bin' \) \
    -exec cp -f {} "$work/seeds/" \;
# Plus our own: a progressive JPEG with 300 scans (over the harness's limit of 200), for the scan count.
cp -f "$root"/fuzz/seeds/* "$work/seeds/"

"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I "$root/Sources/CImageCodecShims/include" \
    "$root/fuzz/fuzz_codecs.c" "$root"/Sources/CImageCodecShims/*.c \
    $(pkg-config --cflags --libs libjpeg libpng16 lcms2 zlib) -o "$work/fuzz_codecs"

echo "fuzzing for ${seconds}s (${jobs} job(s)); work dir $work" >&2
cd "$work/artifacts"
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
"$work/fuzz_codecs" "$work/found" "$work/seeds" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -jobs="$jobs" -workers="$jobs" -print_final_stats=1 2>&1 | tail -n 25
if ls "$work/artifacts"/crash-* "$work/artifacts"/leak-* "$work/artifacts"/timeout-* "$work/artifacts"/oom-* >/dev/null 2>&1; then
    echo "fuzz: findings in $work/artifacts" >&2
    exit 1
fi
echo "fuzz: no crash, leak, timeout or OOM in ${seconds}s" >&2
