#!/usr/bin/env bash
# Short fuzz run for CI: 40 s of libFuzzer over the JPEG/PNG shim, corpus as seeds (under 60 s total).
set -euo pipefail
"$(dirname "$0")/run-formats.sh" "${FUZZ_FORMATS_SECONDS:-20}" 1  # HEIF/AVIF/WebP shim (issue #13)
exec "$(dirname "$0")/run.sh" "${FUZZ_SECONDS:-40}" 1
