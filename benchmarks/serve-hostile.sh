#!/usr/bin/env bash
# Hostile input to `klingkit serve`: truncated and bit-flipped images, pixel bombs (JPEG header,
# HEIC), a real 1 GB streamed body, a 200-socket slowloris, malformed multipart. Each must get its
# documented status; /healthz must answer after each; the server's RSS is printed before and after
# (bounded: the 1 GB body is never held). Exit 1 on any wrong status or a dead server.
#
# Usage: benchmarks/serve-hostile.sh     Env: KLINGKIT_BIN (default .build/debug/klingkit), PYTHON.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${KLINGKIT_BIN:-$root/.build/debug/klingkit}"
exec "${PYTHON:-python3}" "$here/serve_hostile.py" --binary "$bin" --samples "$root/samples" --fixtures "$root/Tests/Fixtures/formats"
