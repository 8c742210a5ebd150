#!/usr/bin/env bash
# Server CPU per request of `klingkit serve`, one request at a time: each input is posted N times (default
# 20) with curl to /v1/check and then /v1/prepare, and the server's user+system time (from /proc) is
# divided by N. No concurrency, so the figures are the work per image, not a throughput.
#   KLINGKIT_BIN=.build-static/release/klingkit benchmarks/serve-cost.sh [N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KLINGKIT_BIN:-$root/.build/release/klingkit}"
n="${1:-20}"
port=18181
"$bin" serve --port "$port" --quiet &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
inputs=("$root"/samples/{portrait-valid.jpg,avatar-tiny.png,panorama-wide.jpg,phone-photo-exif6.jpg,corrupt-truncated.jpg,screenshot-large.png}
        "$root/Tests/Fixtures/formats/landscape.heic")
echo "| route | input | server CPU ms per request |"
echo "|---|---|---|"
for route in check prepare; do
  for file in "${inputs[@]}"; do
    before=$(ticks)
    for _ in $(seq "$n"); do
      curl -s -o /dev/null --data-binary "@$file" -H 'Content-Type: application/octet-stream' "http://127.0.0.1:$port/v1/$route"
    done
    after=$(ticks)
    echo "| /v1/$route | $(basename "$file") | $(( (after - before) * 1000 / hz / n )) |"
  done
done
