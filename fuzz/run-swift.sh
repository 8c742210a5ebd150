#!/usr/bin/env bash
# Fuzz the Swift layer (header probe, EXIF parser, validator, decode through the shim) with libFuzzer.
#
#   fuzz/run-swift.sh [SECONDS]      default 60 s; run from the repository root
#
# Builds fuzz/swift (its own package, never built by the root) with -sanitize=fuzzer,address.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
work="${FUZZ_WORK:-${TMPDIR:-/tmp}/klingkit-fuzz}"
corpus_dir="${KLINGKIT_CORPUS:-$root/../shared/corpus}"
mkdir -p "$work/seeds" "$work/found-swift" "$work/artifacts-swift"
find "$corpus_dir" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.bin' \) \
    -exec cp -f {} "$work/seeds/" \;
(cd "$root/fuzz/swift" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    --scratch-path "$work/swift-build" >&2)
cd "$work/artifacts-swift"
ASAN_OPTIONS="detect_leaks=1" "$work/swift-build/release/FuzzImageCodecs" "$work/found-swift" "$work/seeds" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 2>&1 | tail -n 8
if ls "$work/artifacts-swift"/crash-* "$work/artifacts-swift"/leak-* "$work/artifacts-swift"/timeout-* "$work/artifacts-swift"/oom-* >/dev/null 2>&1; then
    echo "fuzz: findings in $work/artifacts-swift" >&2
    exit 1
fi
echo "fuzz (Swift layer): no crash, leak, timeout or OOM in ${seconds}s" >&2
