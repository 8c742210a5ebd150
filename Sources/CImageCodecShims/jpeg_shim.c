// libjpeg-turbo under setjmp: the error manager, the scan limit and the decoder set-up every JPEG reader
// here shares, and the one-shot decode (full, scaled, or verify-only); encoding lives with the one JPEG
// writer in jpeg_writer.c. Past 400 lines because the error manager's two policies, the scan limit and
// the decode they guard are one setjmp discipline, read together. See
// include/klingkit_codec_shims.h for the contract. Every function here returns a KK_* code and never lets
// libjpeg exit() or print.
#include <stdio.h>   // jpeglib.h needs FILE and size_t first
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <limits.h>
#include <jpeglib.h>
#include <jerror.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "klingkit_codec_shims.h"
#include "kk_internal.h"

// MARK: - Status

void kk_copy_message(kk_status *status, const char *message) {
    size_t n = strlen(message);
    if (n >= sizeof status->message) n = sizeof status->message - 1;
    memcpy(status->message, message, n);
    status->message[n] = '\0';
}

int kk_set_status(kk_status *status, int code, const char *message) {
    status->code = code;
    kk_copy_message(status, message);
    return code;
}

int kk_sticky_enter(const kk_sticky *sticky, const char *what, kk_status *status) {
    memset(status, 0, sizeof *status);
    if (!sticky) {
        char message[64];
        snprintf(message, sizeof message, "no %s", what);
        return kk_set_status(status, KK_INVALID_ARGUMENT, message);
    }
    if (sticky->failed) {
        *status = sticky->failure;
        return sticky->failed;
    }
    return KK_OK;
}

int kk_sticky_fail(kk_sticky *sticky, kk_status *status, int fallback) {
    if (status->code == KK_OK) status->code = fallback;
    sticky->failed = status->code;
    sticky->failure = *status;
    return status->code;
}

// MARK: - Error manager

/// Sorts a decoder's fatal libjpeg error into a KK_* code.
static int kk_jpeg_classify(kk_jpeg_role role, int msg_code) {
    if (role == KK_JPEG_ENCODER) return msg_code == JERR_OUT_OF_MEMORY ? KK_NO_MEMORY : KK_INVALID_ARGUMENT;
    switch (msg_code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_CCIR601_NOTIMPL:
        return KK_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
    case JERR_NO_BACKING_STORE:
        return KK_LIMIT;
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        return KK_TOO_MANY_PIXELS;
    default:
        return KK_CORRUPT;
    }
}

void kk_jpeg_fail(kk_jpeg_error *err, int code, const char *message) {
    if (err->status->code == KK_OK) err->status->code = code;
    kk_copy_message(err->status, message);
    longjmp(err->jump, 1);
}

/// Replaces libjpeg's error_exit (which calls exit()): keep the message, unwind to the setjmp.
static void kk_jpeg_error_exit(j_common_ptr cinfo) {
    kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    err->status->code = kk_jpeg_classify(err->role, err->pub.msg_code);
    kk_jpeg_fail(err, err->status->code, buffer);
}
/// Warnings that mean the entropy-coded (pixel) data is damaged or missing: the "Corrupt JPEG data" and
/// "premature end" family. In strict mode they fail the decode instead of yielding gray or garbled
/// blocks. Tolerated, because no pixel is lost or the problem is metadata only:
/// JWRN_EXTRANEOUS_DATA ("N extraneous bytes before marker": junk between segments, skipped),
/// JWRN_BOGUS_ICC (a bad ICC APP2 segment; the profile is dropped), JWRN_BOGUS_PROGRESSION and
/// JWRN_NOT_SEQUENTIAL (odd but decodable scan parameters), JWRN_ADOBE_XFORM, JWRN_JFIF_MAJOR.
static int kk_jpeg_warning_is_fatal(int msg_code) {
    switch (msg_code) {
    case JWRN_JPEG_EOF:        // "Premature end of JPEG file": truncated, libjpeg pads with gray
    case JWRN_HIT_MARKER:      // "Corrupt JPEG data: premature end of data segment": a scan stops early
    case JWRN_HUFF_BAD_CODE:   // "Corrupt JPEG data: bad Huffman code"
    case JWRN_ARITH_BAD_CODE:  // "Corrupt JPEG data: bad arithmetic code"
    case JWRN_MUST_RESYNC:     // "Corrupt JPEG data: found marker ... instead of RST"
        return 1;
    default:
        return 0;
    }
}

/// Replaces emit_message: trace messages are dropped, warnings counted, fatal ones unwind in strict mode.
static void kk_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
    if (msg_level >= 0) return;
    err->pub.num_warnings++;
    err->status->warnings++;
    if (err->role == KK_JPEG_DECODER && err->strict && kk_jpeg_warning_is_fatal(err->pub.msg_code)) {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        kk_jpeg_fail(err, KK_CORRUPT, buffer);
    }
    if (err->status->message[0] == '\0') {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        kk_copy_message(err->status, buffer);
    }
}

/// Replaces output_message (which writes to stderr): a library never prints.
static void kk_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

void kk_jpeg_error_setup(kk_jpeg_error *err, kk_status *status, kk_jpeg_role role, int strict) {
    jpeg_std_error(&err->pub);
    err->pub.error_exit = kk_jpeg_error_exit;
    err->pub.emit_message = kk_jpeg_emit_message;
    err->pub.output_message = kk_jpeg_output_message;
    err->status = status;
    err->role = role;
    err->strict = strict;
}

// MARK: - Scan limit

/// A progressive stream made of thousands of tiny scans costs a full-image pass each
/// (the libjpeg-turbo "scan limit" advice); refuse past `max_scans`.
static void kk_jpeg_progress_monitor(j_common_ptr cinfo) {
    kk_jpeg_progress *progress = (kk_jpeg_progress *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && dinfo->input_scan_number > progress->max_scans) {
        kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
        char message[96];
        snprintf(message, sizeof message, "JPEG has more than %d scans", progress->max_scans);
        kk_jpeg_fail(err, KK_LIMIT, message);
    }
}

void kk_jpeg_progress_install(j_decompress_ptr cinfo, kk_jpeg_progress *progress, const kk_decode_params *params) {
    progress->pub.progress_monitor = kk_jpeg_progress_monitor;
    progress->max_scans = params->max_scans > 0 ? params->max_scans : KK_DEFAULT_MAX_SCANS;
    cinfo->progress = &progress->pub;
}

// MARK: - Decode

int kk_jpeg_color_space(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return KK_CS_GRAY;
    case JCS_YCbCr: return KK_CS_YCBCR;
    case JCS_RGB: return KK_CS_RGB;
    case JCS_CMYK: return KK_CS_CMYK;
    case JCS_YCCK: return KK_CS_YCCK;
    default: return KK_CS_UNKNOWN;
    }
}

/// The scans (SOS markers) of a JPEG in memory, counted by walking its markers and skipping the
/// entropy-coded data with memchr, without decoding anything (a few milliseconds for megabytes).
static long kk_jpeg_count_scans(const unsigned char *data, size_t size) {
    size_t i = 2;
    long scans = 0;
    while (i + 4 <= size) {
        if (data[i] != 0xFF) return scans;              // lost sync: libjpeg judges the rest
        unsigned marker = data[i + 1];
        if (marker == 0xFF) { i++; continue; }          // fill byte
        if (marker == 0xD9) return scans;               // EOI
        if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
        size_t length = ((size_t)data[i + 2] << 8) | data[i + 3];
        i += 2 + length;
        if (marker != 0xDA) continue;
        scans++;
        // Entropy-coded data runs to the next 0xFF that is not a stuffed 0x00, an RST or a fill byte.
        while (i + 1 < size) {
            const unsigned char *p = memchr(data + i, 0xFF, size - 1 - i);
            if (!p) return scans;
            i = (size_t)(p - data);
            unsigned next = data[i + 1];
            if (next == 0xFF) { i += 1; continue; }
            if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) { i += 2; continue; }
            break;
        }
    }
    return scans;
}

/// Refuses a multi-scan stream whose coefficient buffer (components × blocks × 128 bytes, rounded up to
/// whole MCUs as libjpeg allocates it) exceeds the memory cap, or that has more scans than the limit.
/// Runs after jpeg_read_header, before any scan is decoded.
static int kk_jpeg_check_multiscan(j_decompress_ptr cinfo, const unsigned char *data, size_t size,
                                   const kk_decode_params *params, uint64_t cap, kk_status *status) {
    uint64_t bytes = 0;
    for (int ci = 0; ci < cinfo->num_components; ci++) {
        const jpeg_component_info *comp = &cinfo->comp_info[ci];
        uint64_t columns = ((uint64_t)comp->width_in_blocks + comp->h_samp_factor - 1) / comp->h_samp_factor * comp->h_samp_factor;
        uint64_t rows = ((uint64_t)comp->height_in_blocks + comp->v_samp_factor - 1) / comp->v_samp_factor * comp->v_samp_factor;
        bytes += columns * rows * sizeof(JBLOCK);
    }
    if (bytes > cap) {
        status->code = KK_LIMIT;
        snprintf(status->message, sizeof status->message,
                 "%s JPEG needs %llu MiB for its DCT coefficients, more than the limit of %llu MiB",
                 cinfo->progressive_mode ? "progressive" : "multi-scan",
                 (unsigned long long)((bytes + (1 << 20) - 1) >> 20), (unsigned long long)(cap >> 20));
        return KK_LIMIT;
    }
    int limit = params->max_scans > 0 ? params->max_scans : KK_DEFAULT_MAX_SCANS;
    long scans = kk_jpeg_count_scans(data, size);
    if (scans > limit) {
        status->code = KK_LIMIT;
        snprintf(status->message, sizeof status->message,
                 "JPEG has %ld scans, more than the limit of %d (refused before decoding)", scans, limit);
        return KK_LIMIT;
    }
    return KK_OK;
}

int kk_jpeg_setup(j_decompress_ptr cinfo, const void *data, size_t size,
                         const kk_decode_params *params, kk_jpeg_info *info, kk_status *status) {
    if (size == 0) {
        status->code = KK_CORRUPT;
        kk_copy_message(status, "empty input");
        return KK_CORRUPT;
    }
    if (size > ULONG_MAX) {
        status->code = KK_LIMIT;
        kk_copy_message(status, "input too large");
        return KK_LIMIT;
    }
    uint64_t cap = params->max_memory ? params->max_memory : KK_DEFAULT_MAX_MEMORY;
    cinfo->mem->max_memory_to_use = (long)(cap > LONG_MAX ? LONG_MAX : cap);
    jpeg_mem_src(cinfo, (const unsigned char *)data, (unsigned long)size);
    if (params->want_icc) jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
    (void)jpeg_read_header(cinfo, TRUE);

    memset(info, 0, sizeof *info);
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->components = cinfo->num_components;
    info->color_space = kk_jpeg_color_space(cinfo->jpeg_color_space);
    info->precision = cinfo->data_precision;
    info->progressive = cinfo->progressive_mode ? 1 : 0;
    info->arithmetic = cinfo->arith_code ? 1 : 0;

    if (cinfo->data_precision != 8) {
        status->code = KK_UNSUPPORTED;
        snprintf(status->message, sizeof status->message, "Unsupported JPEG data precision %d", cinfo->data_precision);
        return KK_UNSUPPORTED;
    }
    uint64_t pixels = (uint64_t)cinfo->image_width * (uint64_t)cinfo->image_height;
    if (pixels == 0) {
        status->code = KK_CORRUPT;
        kk_copy_message(status, "Empty JPEG image (zero width or height)");
        return KK_CORRUPT;
    }
    if (params->max_pixels && pixels > params->max_pixels) {
        status->code = KK_TOO_MANY_PIXELS;
        snprintf(status->message, sizeof status->message, "%ux%u is %llu pixels, more than the limit of %llu",
                 cinfo->image_width, cinfo->image_height, (unsigned long long)pixels,
                 (unsigned long long)params->max_pixels);
        return KK_TOO_MANY_PIXELS;
    }

    // A multi-scan stream (progressive, or sequential with components in separate scans) makes libjpeg
    // keep every DCT coefficient and pass over them once a scan: both costs are known before any work.
    if (cinfo->progressive_mode || cinfo->comps_in_scan < cinfo->num_components) {
        int code = kk_jpeg_check_multiscan(cinfo, (const unsigned char *)data, size, params, cap, status);
        if (code != KK_OK) return code;
    }

    int denom = params->scale_denom;
    if (denom != 1 && denom != 2 && denom != 4 && denom != 8) denom = 1;
    cinfo->scale_num = 1;
    cinfo->scale_denom = (unsigned int)denom;
    if (params->scale_eighths >= 1 && params->scale_eighths <= 16) {
        // libjpeg-turbo scales by M/8 for M in 1...16 in the IDCT (libjpeg.txt, "scale_num/scale_denom").
        cinfo->scale_num = (unsigned int)params->scale_eighths;
        cinfo->scale_denom = 8;
    }

    int cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
    if (cmyk) {
        cinfo->out_color_space = JCS_CMYK;   // libjpeg turns YCCK into CMYK; we make RGB per row
        info->output_channels = 3;
    } else if (cinfo->jpeg_color_space == JCS_GRAYSCALE || params->fast) {
        // Gray streams stay gray. In verification only luma is converted: the entropy decoder still
        // reads every block of every component.
        cinfo->out_color_space = JCS_GRAYSCALE;
        info->output_channels = 1;
    } else {
        cinfo->out_color_space = JCS_RGB;
        info->output_channels = 3;
    }
    if (params->fast) {
        cinfo->dct_method = JDCT_IFAST;
        cinfo->do_fancy_upsampling = FALSE;
        cinfo->do_block_smoothing = FALSE;
    }
    jpeg_calc_output_dimensions(cinfo);
    info->output_width = cinfo->output_width;
    info->output_height = cinfo->output_height;
    return KK_OK;
}

int kk_jpeg_read_info(const void *data, size_t size, const kk_decode_params *params,
                      kk_jpeg_info *info, kk_status *status) {
    struct jpeg_decompress_struct cinfo;
    kk_jpeg_error err;
    memset(status, 0, sizeof *status);
    kk_jpeg_error_setup(&err, status, KK_JPEG_DECODER, params->strict);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return status->code;
    }
    jpeg_create_decompress(&cinfo);
    int code = kk_jpeg_setup(&cinfo, data, size, params, info, status);
    jpeg_destroy_decompress(&cinfo);
    return code;
}

void kk_cmyk_row_to_rgb(const JSAMPLE *in, unsigned char *out, JDIMENSION width, int inverted) {
    for (JDIMENSION x = 0; x < width; x++) {
        unsigned c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
        if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        out[3 * x] = (unsigned char)((c * k + 127) / 255);
        out[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
        out[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

int kk_jpeg_decode(const void *data, size_t size, const kk_decode_params *params,
                   void *pixels, size_t pixels_size, kk_jpeg_info *info,
                   void **icc, size_t *icc_size, kk_status *status) {
    struct jpeg_decompress_struct cinfo;
    kk_jpeg_error err;
    kk_jpeg_progress progress;
    JOCTET *volatile icc_data = NULL;
    unsigned int icc_length = 0;
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;

    memset(status, 0, sizeof *status);
    kk_jpeg_error_setup(&err, status, KK_JPEG_DECODER, params->strict);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(icc_data);
        return status->code;
    }
    jpeg_create_decompress(&cinfo);
    kk_jpeg_progress_install(&cinfo, &progress, params);

    int code = kk_jpeg_setup(&cinfo, data, size, params, info, status);
    if (code != KK_OK) {
        jpeg_destroy_decompress(&cinfo);
        return code;
    }
    size_t out_stride = (size_t)info->output_width * (size_t)info->output_channels;
    if (pixels) {
        // Overflow-checked: output_height * stride must fit the caller's buffer.
        if (info->output_height != 0 && out_stride > SIZE_MAX / info->output_height) {
            status->code = KK_LIMIT;
            kk_copy_message(status, "image size overflows");
            jpeg_destroy_decompress(&cinfo);
            return KK_LIMIT;
        }
        if (out_stride * info->output_height > pixels_size) {
            status->code = KK_INVALID_ARGUMENT;
            kk_copy_message(status, "pixel buffer too small");
            jpeg_destroy_decompress(&cinfo);
            return KK_INVALID_ARGUMENT;
        }
    }
    if (pixels) kk_advise_large_buffer(pixels, pixels_size);
    if (params->want_icc) {
        JOCTET *profile = NULL;
        if (jpeg_read_icc_profile(&cinfo, &profile, &icc_length)) icc_data = profile;
    }
    int inverted = cinfo.saw_Adobe_marker ? 1 : 0;

    (void)jpeg_start_decompress(&cinfo);
    int direct = pixels != NULL && cinfo.out_color_space != JCS_CMYK;
    JSAMPARRAY scratch = NULL;
    JDIMENSION batch = cinfo.rec_outbuf_height > 0 ? (JDIMENSION)cinfo.rec_outbuf_height : 1;
    if (!direct) {
        JDIMENSION stride = cinfo.output_width * (JDIMENSION)cinfo.output_components;
        scratch = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, stride, batch);
    }
    unsigned char *out = (unsigned char *)pixels;
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION first = cinfo.output_scanline;
        JSAMPROW rows[16];
        JDIMENSION want = cinfo.output_height - first;
        if (want > batch) want = batch;
        if (want > 16) want = 16;
        for (JDIMENSION i = 0; i < want; i++)
            rows[i] = direct ? (JSAMPROW)(out + (size_t)(first + i) * out_stride) : scratch[i];
        JDIMENSION got = jpeg_read_scanlines(&cinfo, rows, want);
        if (got == 0) {   // cannot happen with a memory source; never spin
            status->code = KK_CORRUPT;
            kk_copy_message(status, "decoder made no progress");
            longjmp(err.jump, 1);
        }
        if (pixels && !direct) {
            for (JDIMENSION i = 0; i < got; i++)
                kk_cmyk_row_to_rgb(scratch[i], out + (size_t)(first + i) * out_stride, cinfo.output_width, inverted);
        }
    }
    // Reads the rest of the stream through EOI: a missing tail is "Premature end of JPEG file".
    (void)jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (icc && icc_data) {
        *icc = icc_data;
        *icc_size = icc_length;
    } else {
        free(icc_data);
    }
    return KK_OK;
}

// MARK: - Memory

void kk_free(void *pointer) { free(pointer); }

void kk_advise_large_buffer(void *pointer, size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!pointer || size < ((size_t)4 << 20)) return;
    uintptr_t start = ((uintptr_t)pointer + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)pointer + size) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);  // advice only: failure is harmless
#else
    (void)pointer;
    (void)size;
#endif
}

