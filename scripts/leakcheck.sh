#!/usr/bin/env bash
# valgrind --leak-check=full over the decoders' error paths.
#
#   scripts/leakcheck.sh            run from the repository root; needs valgrind, cc, libjpeg-dev, libpng-dev
#
# 1. The C shim, driven by fuzz/fuzz_codecs.c (header read, full decode at 1/1 and 1/8, strict and
#    lenient, verify) over every malformed/ file, every PngSuite x* file and the rest of the corpus.
# 2. The Swift layer over the same files under LeakSanitizer (SKIP_SWIFT=1 skips it).
# Exit 1 on any leak or memory error.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${KLINGKIT_CORPUS:-$root/../shared/corpus}"
work="${TMPDIR:-/tmp}/klingkit-leakcheck"
mkdir -p "$work"
cc="${CC:-cc}"
"$cc" -g -O1 -I "$root/Sources/CImageCodecShims/include" \
    "$root/fuzz/fuzz_codecs.c" "$root/fuzz/replay_main.c" \
    "$root"/Sources/CImageCodecShims/*.c \
    $(pkg-config --cflags --libs libjpeg libpng16 lcms2 zlib) -o "$work/replay"

mapfile -t files < <(find "$corpus/malformed" "$corpus/png-suite" "$corpus/jpeg" "$corpus/png" -type f \
    \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.bin' -o -iname '*.gif' \) | sort)
echo "leakcheck: shim over ${#files[@]} files" >&2
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=1 "$work/replay" "${files[@]}"

# valgrind 3.19 cannot run Swift binaries (DWARF 5 debuginfo; libdispatch crashes it at exit), so the
# Swift layer is checked with LeakSanitizer instead: the fuzz/swift target built with ASan replays each file.
if [[ "${SKIP_SWIFT:-0}" != 1 ]]; then
    echo "leakcheck: Swift layer (probe, validator, decode) under AddressSanitizer + LeakSanitizer" >&2
    (cd "$root/fuzz/swift" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
        --scratch-path "$work/swift-build" >&2)
    ASAN_OPTIONS="detect_leaks=1" "$work/swift-build/release/FuzzImageCodecs" -runs=1 "${files[@]}" 2>&1 | tail -n 3
fi
echo "leakcheck: no leak, no memory error" >&2
