#!/usr/bin/env bash
# Batch benchmark: `klingkit batch run` against `klingkit emulator` on loopback — 1,000 lines, a
# 30-slot budget (the emulator's account limit), 2 s tasks — against the budget's theoretical minimum
# (ceil(sum n / budget) x task seconds), with CPU per status query, peak RSS (also for a 200-line batch:
# bounded means independent of the length), and the anchor: the same lines the way users script them
# today, a loop over `klingkit generate` (sequential on a sample, extrapolated; and 30 in parallel with
# xargs -P, which retries blindly into the limit).
#
# Usage: benchmarks/batch.sh [--lines 1000] [--budget 30] [--task-seconds 2] [--poll-interval 0.5] [--sample 40]
# Env: KLINGKIT_BIN (default: build `klingkit` in release with SwiftPM), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${KLINGKIT_BIN:-}" ]; then
  echo "building klingkit (release)..." >&2
  swift build -c release --product klingkit --package-path "$here/.." >&2
  KLINGKIT_BIN="$(swift build -c release --product klingkit --package-path "$here/.." --show-bin-path)/klingkit"
fi
exec "${PYTHON:-python3}" "$here/batch_bench.py" --binary "$KLINGKIT_BIN" "$@"
