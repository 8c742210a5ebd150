#!/usr/bin/env bash
# Builds `klingkit` as it ships: release, Swift runtime linked in (--static-swift-stdlib), into the
# build folder given as the first argument (default .build-static). The one place the shipping link
# flags live; scripts/install.sh and benchmarks/run-all.sh both call it. Extra arguments go to
# `swift build`.
#
# Link flags, each measured on `klingkit --version` peak RSS (Debian 12, 2026-12-03; before: 28.9 MiB):
#  * --no-export-dynamic: the static stdlib's link arguments export every symbol of ours (59,646
#    dynamic symbols); nothing looks them up (the fully static `-static-executable` link does not export
#    them either), and their tables are read at every start: 27.4 MiB.
#  * lld (the toolchain's own) with -z pack-relative-relocs (DT_RELR, glibc >= 2.36): the 154,000
#    relative relocations of a position-independent binary shrink from 3.6 MB of RELA entries, which
#    the loader reads at every start, to 30 KB: 22.0 MiB. Skipped (with a note) on an older glibc, where
#    such a binary would not start.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/.build-static}"
[ $# -gt 0 ] && shift
flags=(-Xlinker --no-export-dynamic)
if [ "$(uname -s)" = Linux ]; then
  glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" = 2.36 ]; then
    flags+=(-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
  else
    echo "release-build.sh: glibc ${glibc:-?} < 2.36: relative relocations left unpacked" >&2
  fi
else
  flags=()  # macOS: ld64 neither exports nor needs these
fi
cd "$root"
# ${flags[@]+...}: an empty array under `set -u` is an error in bash before 4.4 (macOS ships 3.2).
swift build -c release --static-swift-stdlib --scratch-path "$build" --product klingkit ${flags[@]+"${flags[@]}"} "$@"
