#!/usr/bin/env bash
# The emulator's create rate with 0 and with 50,000 tasks held, running and ended (issue #18's goal:
# within 20 %). Prints a Markdown table; exit 1 if any create failed.
#
# Usage: benchmarks/emulator-creates.sh [--held 50000] [--window 3000] [--clients 4]
# Env: KLINGKIT_BIN (default: build `klingkit` in release with SwiftPM), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${KLINGKIT_BIN:-}" ]; then
  echo "building klingkit (release)..." >&2
  swift build -c release --product klingkit --package-path "$here/.." >&2
  KLINGKIT_BIN="$(swift build -c release --product klingkit --package-path "$here/.." --show-bin-path)/klingkit"
fi
exec "${PYTHON:-python3}" "$here/emulator_creates.py" --binary "$KLINGKIT_BIN" "$@"
