#!/usr/bin/env bash
# Fuzz the HEIF/AVIF and WebP decoders (CImageFormatShims over system libheif and libwebp) with
# libFuzzer, seeded with the fixtures of Tests/Fixtures/formats (made by scripts/make-format-fixtures.sh).
#
#   fuzz/run-formats.sh [SECONDS] [JOBS]      default 60 s, 1 job; run from the repository root
#
# Needs clang with libFuzzer (the Swift toolchain's clang has it) and libheif-dev, libwebp-dev, liblcms2-dev.
# Crashes, leaks and sanitizer reports stop the run and leave crash-* files in $FUZZ_WORK (printed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
jobs="${2:-1}"
work="${FUZZ_WORK:-${TMPDIR:-/tmp}/klingkit-fuzz-formats}"
cc="${CC:-clang}"
rm -rf "$work/artifacts"   # findings of an earlier run must not fail this one
mkdir -p "$work/seeds" "$work/found" "$work/artifacts"

# Seeds: every fixture except the 100 KB grid bomb (refused from its header; it only slows mutation).
find "$root/Tests/Fixtures/formats" -type f \( -name '*.heic' -o -name '*.avif' -o -name '*.webp' \) \
    ! -name 'grid-bomb.avif' -exec cp -f {} "$work/seeds/" \;

"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I "$root/Sources/CImageFormatShims/include" \
    "$root/fuzz/fuzz_formats.c" "$root"/Sources/CImageFormatShims/*.c \
    $(pkg-config --cflags --libs libheif libwebpdemux lcms2) -o "$work/fuzz_formats"

echo "fuzzing formats for ${seconds}s (${jobs} job(s)); work dir $work" >&2
cd "$work/artifacts"
# fast_unwind_on_malloc=0: libstdc++ has no frame pointers, so the fast unwinder stops at operator new and
# the suppressions (which name libheif's frames) could not match; the full unwind costs some speed.
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:fast_unwind_on_malloc=0" LSAN_OPTIONS="suppressions=$root/fuzz/lsan-formats.supp" \
"$work/fuzz_formats" "$work/found" "$work/seeds" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=131072 \
    -jobs="$jobs" -workers="$jobs" -print_final_stats=1 2>&1 | tail -n 25
if ls "$work/artifacts"/crash-* "$work/artifacts"/leak-* "$work/artifacts"/timeout-* "$work/artifacts"/oom-* >/dev/null 2>&1; then
    echo "fuzz: findings in $work/artifacts" >&2
    exit 1
fi
echo "fuzz: no crash, leak, timeout or OOM in ${seconds}s" >&2
