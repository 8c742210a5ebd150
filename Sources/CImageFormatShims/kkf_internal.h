// Helpers shared by the HEIF and WebP shims (not part of the module's API).
#pragma once

#include "klingkit_format_shims.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/// Sets `status` and returns `code`. The message is formatted like printf and truncated to fit.
static inline int kkf_fail(kkf_status *status, int code, const char *format, ...) {
    if (status) {
        status->code = code;
        va_list args;
        va_start(args, format);
        vsnprintf(status->message, sizeof status->message, format, args);
        va_end(args);
    }
    return code;
}

static inline void kkf_ok(kkf_status *status) {
    if (status) {
        status->code = KKF_OK;
        status->message[0] = 0;
    }
}

/// width * height * channels without overflow, or 0 when it overflows size_t.
static inline size_t kkf_byte_count(uint64_t width, uint64_t height, uint64_t channels) {
    if (width == 0 || height == 0 || channels == 0) return 0;
    if (width > SIZE_MAX / height) return 0;
    uint64_t pixels = width * height;
    if (pixels > SIZE_MAX / channels) return 0;
    return (size_t)(pixels * channels);
}

/// The EXIF orientation (tag 0x0112) in a TIFF block ("II*\0" or "MM\0*" first; a leading "Exif\0\0"
/// is skipped), 1 when absent, out of range or unreadable. Bounded reads only. Layout from the TIFF 6.0
/// specification (header, IFD0 entry table).
int kkf_tiff_orientation(const uint8_t *p, size_t n);
