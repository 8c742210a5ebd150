#!/usr/bin/env bash
# Load test of the Kling emulator: 200 concurrent clients (half native JWT, half CometAPI) create
# tasks and poll them to the end for 60 s on 127.0.0.1, then every task is looked up again.
# Prints a table: requests answered, requests/s, errors, latency, tasks created/lost, emulator RSS.
# Exit 0 only if there were no errors, no lost task and a clean SIGTERM exit.
#
# Usage: benchmarks/emulator-load.sh [--clients 200] [--seconds 60] [--task-seconds 2] [--poll-interval 0.25]
# Env: KLINGKIT_BIN (default: build `klingkit` in release with SwiftPM), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${KLINGKIT_BIN:-}" ]; then
  echo "building klingkit (release)..." >&2
  swift build -c release --product klingkit --package-path "$here/.." >&2
  KLINGKIT_BIN="$(swift build -c release --product klingkit --package-path "$here/.." --show-bin-path)/klingkit"
fi
exec "${PYTHON:-python3}" "$here/emulator_load.py" --binary "$KLINGKIT_BIN" "$@"
