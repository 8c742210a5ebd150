#!/usr/bin/env bash
# Short fuzz pass for CI (about 80 s including the builds): libFuzzer over the JPEG/PNG shim with the
# corpus as seeds, then over the HEIF/AVIF/WebP shim with the format fixtures as seeds.
#   FUZZ_SECONDS        JPEG/PNG time, default 40
#   FUZZ_FORMATS_SECONDS HEIF/AVIF/WebP time, default 20
set -euo pipefail
here="$(dirname "$0")"
"$here/run.sh" "${FUZZ_SECONDS:-40}" 1
"$here/run-formats.sh" "${FUZZ_FORMATS_SECONDS:-20}" 1
