#!/usr/bin/env bash
# Runs every KlingKit benchmark beside its anchor tools on the same inputs and prints one table of ratios.
# Usage: benchmarks/run-all.sh [--setup] [--only SUITE]...   (SUITE: codecs base64 prepare sheet gallery emulator)
# Env: EMULATOR_SECONDS (default 60) for the load test's duration; RUNS for the suites that take it.
# Each suite script prints RESULT lines (suite, case, metric, ours, anchor, anchor value, ratio);
# ratio > 1 means KlingKit did better. The full logs go to benchmarks/work/logs/.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
suites=()
while [ $# -gt 0 ]; do
  case "$1" in
    --setup) "$here/setup-anchors.sh"; shift ;;
    --only) suites+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--setup] [--only SUITE]..." >&2; exit 2 ;;
  esac
done
[ ${#suites[@]} -gt 0 ] || suites=(codecs base64 prepare sheet gallery emulator)
mkdir -p "$here/work/logs"
# The binary as it ships (scripts/release-build.sh): release, Swift runtime linked statically (no dynamic
# loading of libswiftCore, Foundation and friends at every launch: about 4 ms of each command's
# start-up), the shipping link flags. Its own build folder.
echo "building klingkit (scripts/release-build.sh)..." >&2
bash "$root/scripts/release-build.sh" "$root/.build-static" >&2 || exit 1
export KLINGKIT_BIN="${KLINGKIT_BIN:-$root/.build-static/release/klingkit}"

results="$here/work/results.tsv"
: > "$results"
failed=()
for suite in "${suites[@]}"; do
  # The emulator suite is its load test (emulator-creates.sh is a separate study, not part of the table).
  if [ "$suite" = emulator ]; then script="$here/emulator-load.sh"
  else script=$(ls "$here/$suite".sh "$here/$suite"-*.sh 2>/dev/null | head -1); fi
  if [ -z "$script" ]; then echo "no script for suite $suite" >&2; failed+=("$suite"); continue; fi
  echo "== $suite: $script" >&2
  log="$here/work/logs/$suite.log"
  args=()
  [ "$suite" = emulator ] && args=(--clients 200 --seconds "${EMULATOR_SECONDS:-60}")
  bash "$script" "${args[@]}" >"$log" 2>&1 || failed+=("$suite")
  grep -P '^RESULT\t' "$log" | cut -f2- >> "$results"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo
echo "KlingKit benchmarks on $(hostname): $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%d)"
echo
printf '| suite | case | metric | KlingKit | anchor | anchor value | ratio (>1: KlingKit better) |\n'
printf '|---|---|---|---:|---|---:|---:|\n'
while IFS=$'\t' read -r suite case metric ours anchor value ratio; do
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$suite" "$case" "$metric" "$ours" "$anchor" "$value" "$ratio"
done < "$results"
# The emulator's load test has no anchor tool: its own table follows.
if [ -f "$here/work/logs/emulator.log" ]; then
  echo
  echo "Emulator under load (200 concurrent clients creating and polling on loopback):"
  echo
  grep '^|' "$here/work/logs/emulator.log"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "suites that failed (see benchmarks/work/logs/): ${failed[*]}"
  exit 1
fi
