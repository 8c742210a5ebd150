#!/usr/bin/env bash
# Load test of `klingkit serve` beside a Pillow + FastAPI anchor (serve_anchor.py, uvicorn, 2 workers)
# doing the same checks: CLIENTS concurrent clients posting a mix of the samples (valid, too small, too
# wide, EXIF-rotated, the 15 MB PNG, corrupt, a HEIC) for SECONDS to /v1/check, then for SECONDS to
# /v1/prepare (with --mixed: one phase, each client alternating between them, so each route's rate also
# pays for the other's work). Prints per server and route: requests/s, p50/p99 latency, errors (any
# status other than 200 and the designed 413/422/503 for their inputs), RSS at start and end; then the
# ratios of check and prepare throughput (goals: check >= 5x, prepare >= 3x). Rates count the answers
# that arrived within the window (as wrk does); `late` counts requests sent in it and answered after.
# Exit 1 on any error.
#
# Usage: benchmarks/serve-load.sh [--clients 200] [--seconds 60] [--only serve|anchor] [--mixed] [--naive]
# Clients upload as curl does (Expect: 100-continue over 1 MiB) and honour Retry-After; --naive: neither.
# Env: KLINGKIT_BIN (default: build klingkit in release into .build-release), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python3}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then "$python" -m venv "$venv"; fi
"$venv/bin/python" -c "import fastapi, uvicorn, PIL" 2>/dev/null \
  || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check fastapi uvicorn pillow
if [ -z "${KLINGKIT_BIN:-}" ]; then
  echo "building klingkit (release, .build-release)..." >&2
  swift build -c release --product klingkit --package-path "$root" --scratch-path "$root/.build-release" >&2
  KLINGKIT_BIN="$root/.build-release/release/klingkit"
fi
exec "$venv/bin/python" "$here/serve_load.py" --binary "$KLINGKIT_BIN" --anchor-dir "$here" --samples "$root/samples" \
  --fixtures "$root/Tests/Fixtures/formats" "$@"
