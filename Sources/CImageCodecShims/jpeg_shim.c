// libjpeg-turbo under setjmp: header read, decode (full, scaled, or verify-only), encode.
// See include/klingkit_codec_shims.h for the contract. Every function here returns a KK_* code and
// never lets libjpeg exit() or print.
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
#include "kk_fd_output.h"
#include "kk_internal.h"

#define KK_DEFAULT_JPEG_MEMORY ((uint64_t)1 << 30)
#define KK_DEFAULT_MAX_SCANS 1000

// MARK: - Error manager

void kk_copy_message(kk_status *status, const char *message) {
    size_t n = strlen(message);
    if (n >= sizeof status->message) n = sizeof status->message - 1;
    memcpy(status->message, message, n);
    status->message[n] = '\0';
}

/// Sorts a libjpeg fatal error into a KK_* code.
static int kk_jpeg_classify(int msg_code) {
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

/// Replaces libjpeg's error_exit (which calls exit()): keep the message, unwind to the setjmp.
static void kk_jpeg_error_exit(j_common_ptr cinfo) {
    kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    err->status->code = kk_jpeg_classify(err->pub.msg_code);
    kk_copy_message(err->status, buffer);
    longjmp(err->jump, 1);
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
    if (err->strict && kk_jpeg_warning_is_fatal(err->pub.msg_code)) {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        err->status->code = KK_CORRUPT;
        kk_copy_message(err->status, buffer);
        longjmp(err->jump, 1);
    }
    if (err->status->message[0] == '\0') {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        kk_copy_message(err->status, buffer);
    }
}

/// Replaces output_message (which writes to stderr): a library never prints.
void kk_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

void kk_jpeg_error_setup(kk_jpeg_error *err, int strict) {
    jpeg_std_error(&err->pub);
    err->pub.error_exit = kk_jpeg_error_exit;
    err->pub.emit_message = kk_jpeg_emit_message;
    err->pub.output_message = kk_jpeg_output_message;
    err->strict = strict;
}

static void kk_jpeg_error_init(kk_jpeg_error *err, kk_status *status, int strict) {
    memset(status, 0, sizeof *status);
    kk_jpeg_error_setup(err, strict);
    err->status = status;
}

// MARK: - Scan limit

/// A progressive stream made of thousands of tiny scans costs a full-image pass each
/// (the libjpeg-turbo "scan limit" advice); refuse past `max_scans`.
void kk_jpeg_progress_monitor(j_common_ptr cinfo) {
    kk_jpeg_progress *progress = (kk_jpeg_progress *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && dinfo->input_scan_number > progress->max_scans) {
        kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
        err->status->code = KK_LIMIT;
        snprintf(err->status->message, sizeof err->status->message,
                 "JPEG has more than %d scans", progress->max_scans);
        longjmp(err->jump, 1);
    }
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

/// Runs inside the caller's setjmp: creates the source, reads the header, applies params, computes
/// output dimensions. Returns KK_OK or a code with `status` filled.
static int kk_jpeg_setup(j_decompress_ptr cinfo, const void *data, size_t size,
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
    cinfo->mem->max_memory_to_use = (long)(params->max_memory ? params->max_memory : KK_DEFAULT_JPEG_MEMORY);
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
    kk_jpeg_error_init(&err, status, params->strict);
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

/// Converts one row of CMYK samples to RGB. Adobe (Photoshop) files store CMYK inverted
/// (0 = full ink), which is what libjpeg hands back when an APP14 marker was seen; plain CMYK
/// is converted with the usual (1 - C)(1 - K) rule.
static void kk_cmyk_row_to_rgb(const JSAMPLE *in, unsigned char *out, JDIMENSION width, int inverted) {
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

    kk_jpeg_error_init(&err, status, params->strict);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(icc_data);
        return status->code;
    }
    jpeg_create_decompress(&cinfo);
    progress.pub.progress_monitor = kk_jpeg_progress_monitor;
    progress.max_scans = params->max_scans > 0 ? params->max_scans : KK_DEFAULT_MAX_SCANS;
    cinfo.progress = &progress.pub;

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

// MARK: - Encode

static void kk_jpeg_dest_init(j_compress_ptr cinfo) {
    kk_jpeg_dest *dest = (kk_jpeg_dest *)cinfo->dest;
    dest->pub.next_output_byte = dest->buffer;
    dest->pub.free_in_buffer = dest->capacity;
}

static boolean kk_jpeg_dest_empty(j_compress_ptr cinfo) {
    kk_jpeg_dest *dest = (kk_jpeg_dest *)cinfo->dest;
    size_t old = dest->capacity;
    if (old > SIZE_MAX / 2) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    unsigned char *grown = realloc(dest->buffer, old * 2);
    if (!grown) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    dest->buffer = grown;
    dest->capacity = old * 2;
    dest->pub.next_output_byte = grown + old;
    dest->pub.free_in_buffer = dest->capacity - old;
    return TRUE;
}

static void kk_jpeg_dest_term(j_compress_ptr cinfo) { (void)cinfo; }

int kk_jpeg_dest_alloc(kk_jpeg_dest *dest) {
    dest->capacity = 65536;
    dest->buffer = malloc(dest->capacity);
    return dest->buffer != NULL;
}

void kk_jpeg_dest_use(j_compress_ptr cinfo, kk_jpeg_dest *dest) {
    dest->pub.init_destination = kk_jpeg_dest_init;
    dest->pub.empty_output_buffer = kk_jpeg_dest_empty;
    dest->pub.term_destination = kk_jpeg_dest_term;
    cinfo->dest = &dest->pub;
}

size_t kk_jpeg_dest_size(const kk_jpeg_dest *dest) { return dest->capacity - dest->pub.free_in_buffer; }

static void kk_jpeg_start(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                          const kk_jpeg_encode_params *params, const void *icc, size_t icc_size, int planar) {
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = channels;
    cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : planar ? JCS_YCbCr : JCS_RGB;
    jpeg_set_defaults(cinfo);
    cinfo->raw_data_in = planar ? TRUE : FALSE;
    int quality = params->quality < 1 ? 1 : params->quality > 100 ? 100 : params->quality;
    jpeg_set_quality(cinfo, quality, TRUE);
    if (channels == 3) {
        int h = params->subsampling == 444 ? 1 : 2;
        cinfo->comp_info[0].h_samp_factor = h;
        cinfo->comp_info[0].v_samp_factor = h;
        cinfo->comp_info[1].h_samp_factor = cinfo->comp_info[1].v_samp_factor = 1;
        cinfo->comp_info[2].h_samp_factor = cinfo->comp_info[2].v_samp_factor = 1;
    }
    cinfo->optimize_coding = params->optimize ? TRUE : FALSE;
    cinfo->dct_method = JDCT_ISLOW;
    if (params->progressive) jpeg_simple_progression(cinfo);
    jpeg_start_compress(cinfo, TRUE);
    if (icc && icc_size > 0 && icc_size <= UINT_MAX)
        jpeg_write_icc_profile(cinfo, (const JOCTET *)icc, (unsigned int)icc_size);
}

void kk_jpeg_start_compress(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                            const kk_jpeg_encode_params *params, const void *icc, size_t icc_size) {
    kk_jpeg_start(cinfo, width, height, channels, params, icc, icc_size, 0);
}

void kk_jpeg_start_compress_planes(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size) {
    kk_jpeg_start(cinfo, width, height, channels, params, icc, icc_size, 1);
}

int kk_jpeg_check_encode(uint32_t width, uint32_t height, int channels, kk_status *status) {
    if (channels != 1 && channels != 3) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "JPEG encodes 1 (gray) or 3 (RGB) channels");
        return KK_INVALID_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "JPEG cannot store %ux%u (each side 1...%d)",
                 width, height, (int)JPEG_MAX_DIMENSION);
        return KK_INVALID_ARGUMENT;
    }
    return KK_OK;
}

int kk_jpeg_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                   void **out, size_t *out_size, kk_status *status) {
    struct jpeg_compress_struct cinfo;
    kk_jpeg_error err;
    // On the heap and fixed before setjmp: its fields change during compression, and automatic
    // variables modified between setjmp and longjmp are indeterminate afterwards.
    kk_jpeg_dest *dest;
    *out = NULL;
    *out_size = 0;
    kk_jpeg_error_init(&err, status, 0);
    if (kk_jpeg_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    dest = calloc(1, sizeof *dest);
    if (!dest || !kk_jpeg_dest_alloc(dest)) {
        free(dest);
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(dest->buffer);
        free(dest);
        return status->code;
    }
    jpeg_create_compress(&cinfo);
    kk_jpeg_dest_use(&cinfo, dest);

    kk_jpeg_start_compress(&cinfo, width, height, channels, params, icc, icc_size);
    size_t stride = (size_t)width * (size_t)channels;
    const unsigned char *base = (const unsigned char *)pixels;
    while (cinfo.next_scanline < cinfo.image_height) {
        // libjpeg's API is not const-correct; it only reads input rows.
        JSAMPROW row = (JSAMPROW)(base + (size_t)cinfo.next_scanline * stride);
        (void)jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = dest->buffer;
    *out_size = kk_jpeg_dest_size(dest);
    free(dest);
    return KK_OK;
}

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

// MARK: - Streaming writer

struct kk_jpeg_writer {
    struct jpeg_compress_struct cinfo;
    kk_jpeg_error err;                 // jmp_buf of the call in progress + its status
    struct jpeg_destination_mgr dest;
    int created;
    int failed;                        // a call failed: every later call repeats `failure`
    kk_status failure;
    kk_fd_output output;
};

/// Unwinds with KK_IO and strerror when the descriptor refuses bytes.
static void kk_jpeg_stream_io_error(kk_jpeg_writer *writer, int code) {
    writer->err.status->code = KK_IO;
    kk_fd_describe(code, writer->err.status->message, sizeof writer->err.status->message);
    longjmp(writer->err.jump, 1);
}

static void kk_jpeg_stream_init(j_compress_ptr cinfo) {
    kk_jpeg_writer *writer = (kk_jpeg_writer *)cinfo->client_data;
    writer->output.used = 0;
    writer->dest.next_output_byte = writer->output.buffer;
    writer->dest.free_in_buffer = KK_FD_BUFFER;
}

static boolean kk_jpeg_stream_empty(j_compress_ptr cinfo) {
    kk_jpeg_writer *writer = (kk_jpeg_writer *)cinfo->client_data;
    writer->output.used = KK_FD_BUFFER;  // libjpeg asks only when the whole buffer is full
    int code = kk_fd_flush(&writer->output);
    if (code) kk_jpeg_stream_io_error(writer, code);
    writer->dest.next_output_byte = writer->output.buffer;
    writer->dest.free_in_buffer = KK_FD_BUFFER;
    return TRUE;
}

static void kk_jpeg_stream_term(j_compress_ptr cinfo) {
    kk_jpeg_writer *writer = (kk_jpeg_writer *)cinfo->client_data;
    writer->output.used = KK_FD_BUFFER - writer->dest.free_in_buffer;
    int code = kk_fd_flush(&writer->output);
    if (code) kk_jpeg_stream_io_error(writer, code);
}

static int kk_jpeg_writer_enter(kk_jpeg_writer *writer, kk_status *status) {
    memset(status, 0, sizeof *status);
    if (!writer) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "no JPEG writer");
        return KK_INVALID_ARGUMENT;
    }
    if (writer->failed) {
        *status = writer->failure;
        return status->code;
    }
    writer->err.status = status;
    return KK_OK;
}

static int kk_jpeg_writer_fail(kk_jpeg_writer *writer, kk_status *status) {
    if (status->code == KK_OK) status->code = KK_CORRUPT;
    writer->failed = 1;
    writer->failure = *status;
    return status->code;
}

int kk_jpeg_writer_open(int fd, uint32_t width, uint32_t height, int channels,
                        const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                        kk_jpeg_writer **out, kk_status *status) {
    *out = NULL;
    memset(status, 0, sizeof *status);
    if (kk_jpeg_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    if (fd < 0) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "no file descriptor to write the JPEG to");
        return KK_INVALID_ARGUMENT;
    }
    kk_jpeg_writer *writer = calloc(1, sizeof *writer);
    if (!writer) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    writer->output.fd = fd;
    kk_jpeg_error_init(&writer->err, status, 0);
    writer->cinfo.err = &writer->err.pub;
    if (setjmp(writer->err.jump)) {
        int code = status->code == KK_OK ? KK_CORRUPT : status->code;
        kk_jpeg_writer_free(writer);
        return code;
    }
    jpeg_create_compress(&writer->cinfo);
    writer->created = 1;
    writer->cinfo.client_data = writer;
    writer->dest.init_destination = kk_jpeg_stream_init;
    writer->dest.empty_output_buffer = kk_jpeg_stream_empty;
    writer->dest.term_destination = kk_jpeg_stream_term;
    writer->cinfo.dest = &writer->dest;

    kk_jpeg_start_compress(&writer->cinfo, width, height, channels, params, icc, icc_size);
    *out = writer;
    return KK_OK;
}

int kk_jpeg_writer_write_rows(kk_jpeg_writer *writer, const void *rows, size_t stride, uint32_t count,
                              kk_status *status) {
    int code = kk_jpeg_writer_enter(writer, status);
    if (code != KK_OK) return code;
    struct jpeg_compress_struct *cinfo = &writer->cinfo;
    if (count > cinfo->image_height - cinfo->next_scanline || (count > 0 && !rows) ||
        stride < (size_t)cinfo->image_width * (size_t)cinfo->input_components) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message,
                 "%u more scanlines do not fit: %u of %u written (or the row stride is too short)",
                 count, cinfo->next_scanline, cinfo->image_height);
        return kk_jpeg_writer_fail(writer, status);
    }
    if (setjmp(writer->err.jump)) return kk_jpeg_writer_fail(writer, status);
    const unsigned char *base = (const unsigned char *)rows;
    JSAMPROW batch[16];
    uint32_t done = 0;
    while (done < count) {
        uint32_t n = count - done < 16 ? count - done : 16;
        // libjpeg's API is not const-correct; it only reads input rows.
        for (uint32_t i = 0; i < n; i++) batch[i] = (JSAMPROW)(base + (size_t)(done + i) * stride);
        JDIMENSION taken = jpeg_write_scanlines(cinfo, batch, n);
        if (taken == 0) {
            status->code = KK_CORRUPT;
            kk_copy_message(status, "libjpeg accepted no scanlines");
            return kk_jpeg_writer_fail(writer, status);
        }
        done += taken;
    }
    return KK_OK;
}

int kk_jpeg_writer_finish(kk_jpeg_writer *writer, uint64_t *bytes, kk_status *status) {
    *bytes = 0;
    int code = kk_jpeg_writer_enter(writer, status);
    if (code != KK_OK) return code;
    if (writer->cinfo.next_scanline != writer->cinfo.image_height) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "only %u of %u scanlines were written",
                 writer->cinfo.next_scanline, writer->cinfo.image_height);
        return kk_jpeg_writer_fail(writer, status);
    }
    if (setjmp(writer->err.jump)) return kk_jpeg_writer_fail(writer, status);
    jpeg_finish_compress(&writer->cinfo);
    *bytes = writer->output.written;
    return KK_OK;
}

void kk_jpeg_writer_free(kk_jpeg_writer *writer) {
    if (!writer) return;
    if (writer->created) jpeg_destroy_compress(&writer->cinfo);
    free(writer);
}
