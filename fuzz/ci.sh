#!/usr/bin/env bash
# Short fuzz run for CI: 40 s of libFuzzer over the JPEG/PNG shim, corpus as seeds (under 60 s total).
#
# The HEIF/AVIF/WebP harness (fuzz/run-formats.sh) is not in this pass yet: on 2026-12-01 it found an
# input (fuzz/findings/heif-oom-7b60b1d7.bin) on which libheif/libde265 asks for more than 2 GiB in one
# allocation: a frame size read from the HEVC parameter sets, which the shim does not yet check against
# the declared image size. Until that is fixed, a 20 s run fails at random, so it runs by hand only.
set -euo pipefail
exec "$(dirname "$0")/run.sh" "${FUZZ_SECONDS:-40}" 1
