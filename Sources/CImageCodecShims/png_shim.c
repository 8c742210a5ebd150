// libpng under setjmp: header read, decode (full or verify-only), encode, and the streaming writer.
// Past 400 lines on purpose: the reader and both writers share one error/warning policy and one
// encoder set-up, which stay file-static rather than become a second internal header's API.
// See include/klingkit_codec_shims.h for the contract.
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdio.h>
#include <png.h>

#include "klingkit_codec_shims.h"
#include "kk_fd_output.h"
#include "kk_internal.h"

static void kk_png_error(png_structp png, png_const_charp message) {
    kk_png_context *context = (kk_png_context *)png_get_error_ptr(png);
    if (context->status->code == KK_OK) context->status->code = KK_CORRUPT;
    kk_copy_message(context->status, message ? message : "libpng error");
    longjmp(context->jump, 1);
}

/// The largest ancillary chunk libpng keeps, and the most an iCCP profile may inflate to: 8 MiB.
#define KK_PNG_CHUNK_MAX (8 * 1024 * 1024)

/// Warnings that mean an ancillary chunk would inflate past KK_PNG_CHUNK_MAX (a decompression bomb, the
/// iCCP one above all): libpng drops the chunk and goes on, but such a file is refused, never passed on.
static int kk_png_warning_is_fatal(const char *message) {
    return strstr(message, "exceeds application limits") != NULL || strstr(message, "exceeds memory limits") != NULL;
}

static void kk_png_warning(png_structp png, png_const_charp message) {
    kk_png_context *context = (kk_png_context *)png_get_error_ptr(png);
    if (message && kk_png_warning_is_fatal(message)) {
        context->status->code = KK_LIMIT;
        kk_copy_message(context->status, message);
        longjmp(context->jump, 1);
    }
    context->status->warnings++;
    if (context->status->message[0] == '\0') kk_copy_message(context->status, message ? message : "libpng warning");
}

png_structp kk_png_create_reader(kk_png_context *context, png_infop *info) {
    *info = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, kk_png_error, kk_png_warning);
    if (png) *info = png_create_info_struct(png);
    if (!png || !*info) {
        png_destroy_read_struct(&png, NULL, NULL);
        kk_set_status(context->status, KK_NO_MEMORY, "out of memory");
        return NULL;
    }
    return png;
}

// MARK: - Reading

typedef struct kk_png_source {
    const unsigned char *data;
    size_t size;
    size_t offset;
} kk_png_source;

static void kk_png_read(png_structp png, png_bytep out, size_t length) {
    kk_png_source *source = (kk_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) png_error(png, "unexpected end of PNG data (truncated file)");
    memcpy(out, source->data + source->offset, length);
    source->offset += length;
}

/// Ancillary chunks KlingKit never uses: libpng skips them (CRC still checked) instead of
/// decompressing zTXt/iTXt text (the decompression-bomb route) or storing them.
static const png_byte kk_png_ignored[] =
    "tEXt\0zTXt\0iTXt\0sPLT\0hIST\0pCAL\0sCAL\0tIME\0sTER\0eXIf\0";

/// Sets libpng's limits and the chunks it skips (see kk_png_start). Runs inside the caller's setjmp.
static void kk_png_configure_reader(png_structp png, int want_icc) {
    // Our pixel limit is the contract; libpng's per-side limit only guards the PNG range.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_cache_max(png, 128);              // ancillary chunks kept
    png_set_chunk_malloc_max(png, KK_PNG_CHUNK_MAX);  // largest chunk (or decompressed iCCP) kept
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kk_png_ignored,
                                (int)(sizeof kk_png_ignored - 1) / 5);
    // iCCP is always read, even when the profile is not wanted: libpng then checks its declared and
    // inflated size against the cap (kk_png_warning_is_fatal), so a profile bomb is refused by every
    // reader, verification included, instead of being skipped here and copied on.
    (void)want_icc;
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
}

static int kk_png_setup(png_structp png, png_infop info_ptr, kk_png_source *source,
                        const kk_decode_params *params, kk_png_info *info, kk_status *status) {
    png_set_read_fn(png, source, kk_png_read);
    return kk_png_start(png, info_ptr, params, info, status);
}

int kk_png_start(png_structp png, png_infop info_ptr, const kk_decode_params *params, kk_png_info *info,
                 kk_status *status) {
    kk_png_configure_reader(png, params->want_icc);
    png_read_info(png, info_ptr);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info_ptr, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    memset(info, 0, sizeof *info);
    info->width = width;
    info->height = height;
    info->bit_depth = bit_depth;
    info->color_type = color_type;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    info->has_trns = png_get_valid(png, info_ptr, PNG_INFO_tRNS) ? 1 : 0;

    uint64_t pixels = (uint64_t)width * (uint64_t)height;
    if (params->max_pixels && pixels > params->max_pixels) {
        status->code = KK_TOO_MANY_PIXELS;
        snprintf(status->message, sizeof status->message, "%ux%u is %llu pixels, more than the limit of %llu",
                 width, height, (unsigned long long)pixels, (unsigned long long)params->max_pixels);
        return KK_TOO_MANY_PIXELS;
    }
    if (bit_depth == 16) png_set_scale_16(png);  // accurate 16 -> 8 (rounds), not truncation
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (info->has_trns) png_set_tRNS_to_alpha(png);
    // Before png_read_update_info: with it, each Adam7 pass reads `height` full-width rows.
    info->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info_ptr);
    info->output_channels = png_get_channels(png, info_ptr);
    if (png_get_bit_depth(png, info_ptr) != 8 || info->output_channels < 1 || info->output_channels > 4) {
        status->code = KK_UNSUPPORTED;
        kk_copy_message(status, "PNG transform did not yield 8-bit samples");
        return KK_UNSUPPORTED;
    }
    return KK_OK;
}

/// The one PNG read: the header (kk_png_read_info when `header_only`), or the whole stream into `pixels`
/// or, with `pixels == NULL`, through one reused row (verification).
static int kk_png_run(const void *data, size_t size, const kk_decode_params *params, int header_only,
                       void *pixels, size_t pixels_size, kk_png_info *info,
                       void **icc, size_t *icc_size, kk_status *status) {
    kk_png_context context;
    kk_png_source source = { (const unsigned char *)data, size, 0 };
    unsigned char *volatile row = NULL;
    unsigned char *volatile profile_copy = NULL;
    size_t profile_length = 0;
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    memset(status, 0, sizeof *status);
    context.status = status;
    png_infop info_ptr;
    png_structp png = kk_png_create_reader(&context, &info_ptr);
    if (!png) return KK_NO_MEMORY;
    if (setjmp(context.jump)) {
        png_destroy_read_struct(&png, &info_ptr, NULL);
        free(row);
        free(profile_copy);
        return status->code;
    }
    int code = kk_png_setup(png, info_ptr, &source, params, info, status);
    if (code != KK_OK || header_only) {
        png_destroy_read_struct(&png, &info_ptr, NULL);
        return code;
    }
    size_t stride = (size_t)info->width * (size_t)info->output_channels;
    if (png_get_rowbytes(png, info_ptr) != stride) png_error(png, "unexpected PNG row size");
    if (pixels) {
        if (info->height != 0 && stride > SIZE_MAX / info->height) png_error(png, "image size overflows");
        if (stride * info->height > pixels_size) {
            status->code = KK_INVALID_ARGUMENT;
            png_error(png, "pixel buffer too small");
        }
        kk_advise_large_buffer(pixels, pixels_size);
    } else {
        row = malloc(stride);
        if (!row) {
            status->code = KK_NO_MEMORY;
            png_error(png, "out of memory");
        }
    }
    if (params->want_icc && png_get_valid(png, info_ptr, PNG_INFO_iCCP)) {
        png_charp name = NULL;
        int compression = 0;
        png_bytep profile = NULL;
        png_uint_32 length = 0;
        if (png_get_iCCP(png, info_ptr, &name, &compression, &profile, &length) && profile && length > 0) {
            profile_copy = malloc(length);
            if (profile_copy) {
                memcpy(profile_copy, profile, length);
                profile_length = length;
            }
        }
    }
    int passes = info->passes;
    unsigned char *base = (unsigned char *)pixels;
    for (int pass = 0; pass < passes; pass++) {
        // Adam7 passes combine into the rows already there; a verify pass reuses one row buffer.
        for (png_uint_32 y = 0; y < info->height; y++)
            png_read_row(png, pixels ? base + (size_t)y * stride : row, NULL);
    }
    png_read_end(png, NULL);  // through IEND: a truncated tail is an error
    png_destroy_read_struct(&png, &info_ptr, NULL);
    free(row);
    if (icc && profile_copy) {
        *icc = profile_copy;
        *icc_size = profile_length;
    } else {
        free(profile_copy);
    }
    return KK_OK;
}

int kk_png_read_info(const void *data, size_t size, const kk_decode_params *params,
                     kk_png_info *info, kk_status *status) {
    return kk_png_run(data, size, params, 1, NULL, 0, info, NULL, NULL, status);
}

int kk_png_decode(const void *data, size_t size, const kk_decode_params *params,
                  void *pixels, size_t pixels_size, kk_png_info *info,
                  void **icc, size_t *icc_size, kk_status *status) {
    return kk_png_run(data, size, params, 0, pixels, pixels_size, info, icc, icc_size, status);
}

// MARK: - Writing

typedef struct kk_png_sink {
    unsigned char *buffer;
    size_t size;
    size_t capacity;
} kk_png_sink;

static void kk_png_write(png_structp png, png_bytep data, size_t length) {
    kk_png_sink *sink = (kk_png_sink *)png_get_io_ptr(png);
    if (length > SIZE_MAX - sink->size) png_error(png, "PNG output too large");
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 65536;
        while (capacity < sink->size + length) {
            if (capacity > SIZE_MAX / 2) png_error(png, "PNG output too large");
            capacity *= 2;
        }
        unsigned char *grown = realloc(sink->buffer, capacity);
        if (!grown) png_error(png, "out of memory");
        sink->buffer = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->buffer + sink->size, data, length);
    sink->size += length;
}

static void kk_png_flush(png_structp png) { (void)png; }

/// Refuses what no PNG encoder here takes. Returns KK_OK or KK_INVALID_ARGUMENT with the reason.
static int kk_png_check_encode(uint32_t width, uint32_t height, int channels, kk_status *status) {
    if (channels < 1 || channels > 4 || width == 0 || height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX)
        return kk_set_status(status, KK_INVALID_ARGUMENT, "PNG encodes 1...4 channels and sides of 1...2^31-1 pixels");
    return KK_OK;
}

/// The settings of every PNG encoder here (so the one-shot and the streaming encoder write the same
/// bytes): 8-bit, non-interlaced, zlib level clamped to 0...9, the row filters asked for, the ICC
/// profile; then writes the signature, IHDR and iCCP. Runs under the caller's setjmp.
static void kk_png_start_write(png_structp png, png_infop info_ptr, uint32_t width, uint32_t height, int channels,
                               int compression_level, int filters, const void *icc, size_t icc_size) {
    static const int color_types[] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA };
    png_set_benign_errors(png, 1);  // a bad ICC profile is dropped with a warning, not fatal
    png_set_IHDR(png, info_ptr, width, height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int level = compression_level < 0 ? 0 : compression_level > 9 ? 9 : compression_level;
    png_set_compression_level(png, level);
    if (filters) png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    if (icc && icc_size > 0 && icc_size <= PNG_UINT_31_MAX)
        png_set_iCCP(png, info_ptr, "ICC profile", PNG_COMPRESSION_TYPE_BASE, (png_const_bytep)icc,
                     (png_uint_32)icc_size);
    png_write_info(png, info_ptr);
}

int kk_png_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                  int compression_level, int filters, const void *icc, size_t icc_size,
                  void **out, size_t *out_size, kk_status *status) {
    kk_png_context context;
    *out = NULL;
    *out_size = 0;
    memset(status, 0, sizeof *status);
    context.status = status;
    if (kk_png_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    // On the heap, fixed before setjmp (its fields change while writing).
    kk_png_sink *sink = calloc(1, sizeof *sink);
    if (!sink) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, kk_png_error, kk_png_warning);
    png_infop info_ptr = png ? png_create_info_struct(png) : NULL;
    if (!png || !info_ptr) {
        png_destroy_write_struct(&png, &info_ptr);
        free(sink);
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    if (setjmp(context.jump)) {
        png_destroy_write_struct(&png, &info_ptr);
        free(sink->buffer);
        free(sink);
        return status->code;
    }
    png_set_write_fn(png, sink, kk_png_write, kk_png_flush);
    kk_png_start_write(png, info_ptr, width, height, channels, compression_level, filters, icc, icc_size);
    size_t stride = (size_t)width * (size_t)channels;
    const unsigned char *base = (const unsigned char *)pixels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, base + (size_t)y * stride);
    png_write_end(png, info_ptr);
    png_destroy_write_struct(&png, &info_ptr);
    *out = sink->buffer;
    *out_size = sink->size;
    free(sink);
    return KK_OK;
}

// MARK: - Streaming writer

struct kk_png_writer {
    kk_png_context context;   // jmp_buf of the call in progress + its status
    png_structp png;
    png_infop info;
    uint32_t width, height, rows;
    int channels;
    kk_sticky sticky;         // a call failed: every later call repeats its status
    kk_png_sink *sink;        // the growing stream of a writer opened on memory (else NULL: `output`)
    kk_fd_output output;
};

static void kk_png_stream_write(png_structp png, png_bytep data, size_t length) {
    kk_png_writer *writer = (kk_png_writer *)png_get_io_ptr(png);
    int code = kk_fd_append(&writer->output, data, length);
    if (code) {
        writer->context.status->code = KK_IO;
        char message[200];
        kk_fd_describe(code, message, sizeof message);
        png_error(png, message);
    }
}

/// Starts a call: points the error context at the caller's status; refuses when an earlier call failed.
static int kk_png_writer_enter(kk_png_writer *writer, kk_status *status) {
    int refused = kk_sticky_enter(writer ? &writer->sticky : NULL, "PNG writer", status);
    if (writer) writer->context.status = status;
    return refused;
}

static int kk_png_writer_fail(kk_png_writer *writer, kk_status *status) {
    return kk_sticky_fail(&writer->sticky, status, KK_CORRUPT);
}

/// Opens a writer on `fd`, or on a growing buffer when `fd` is -1 and `memory` is set.
static int kk_png_writer_start(int fd, int memory, uint32_t width, uint32_t height, int channels,
                               int compression_level, int filters, const void *icc, size_t icc_size,
                               kk_png_writer **out, kk_status *status) {
    *out = NULL;
    memset(status, 0, sizeof *status);
    if (kk_png_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    if (fd < 0 && !memory) return kk_set_status(status, KK_INVALID_ARGUMENT, "no file descriptor to write the PNG to");
    kk_png_writer *writer = calloc(1, sizeof *writer);
    if (!writer) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    if (memory && !(writer->sink = calloc(1, sizeof *writer->sink))) {
        free(writer);
        return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    }
    writer->width = width;
    writer->height = height;
    writer->channels = channels;
    writer->output.fd = fd;
    writer->context.status = status;
    writer->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &writer->context, kk_png_error, kk_png_warning);
    writer->info = writer->png ? png_create_info_struct(writer->png) : NULL;
    if (!writer->png || !writer->info) {
        kk_png_writer_free(writer);
        return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    }
    if (setjmp(writer->context.jump)) {
        int code = status->code == KK_OK ? KK_CORRUPT : status->code;
        kk_png_writer_free(writer);
        return code;
    }
    // The same settings as kk_png_encode, so both produce the same bytes.
    if (writer->sink) png_set_write_fn(writer->png, writer->sink, kk_png_write, kk_png_flush);
    else png_set_write_fn(writer->png, writer, kk_png_stream_write, kk_png_flush);
    kk_png_start_write(writer->png, writer->info, width, height, channels, compression_level, filters, icc, icc_size);
    *out = writer;
    return KK_OK;
}

int kk_png_writer_open(int fd, uint32_t width, uint32_t height, int channels, int compression_level,
                       int filters, const void *icc, size_t icc_size, kk_png_writer **out,
                       kk_status *status) {
    return kk_png_writer_start(fd, 0, width, height, channels, compression_level, filters, icc, icc_size,
                               out, status);
}

int kk_png_writer_open_memory(uint32_t width, uint32_t height, int channels, int compression_level,
                              int filters, const void *icc, size_t icc_size, kk_png_writer **out,
                              kk_status *status) {
    return kk_png_writer_start(-1, 1, width, height, channels, compression_level, filters, icc, icc_size,
                               out, status);
}

int kk_png_writer_write_rows(kk_png_writer *writer, const void *rows, size_t stride, uint32_t count,
                             kk_status *status) {
    int code = kk_png_writer_enter(writer, status);
    if (code != KK_OK) return code;
    if (count > writer->height - writer->rows || (count > 0 && !rows) ||
        stride < (size_t)writer->width * (size_t)writer->channels) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message,
                 "%u more rows do not fit: %u of %u written (or the row stride is too short)",
                 count, writer->rows, writer->height);
        return kk_png_writer_fail(writer, status);
    }
    if (setjmp(writer->context.jump)) return kk_png_writer_fail(writer, status);
    const unsigned char *base = (const unsigned char *)rows;
    for (uint32_t y = 0; y < count; y++) {
        png_write_row(writer->png, base + (size_t)y * stride);
        writer->rows++;
    }
    return KK_OK;
}

int kk_png_writer_finish(kk_png_writer *writer, uint64_t *bytes, void **out, kk_status *status) {
    *bytes = 0;
    if (out) *out = NULL;
    int code = kk_png_writer_enter(writer, status);
    if (code != KK_OK) return code;
    if (writer->rows != writer->height) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "only %u of %u rows were written",
                 writer->rows, writer->height);
        return kk_png_writer_fail(writer, status);
    }
    if (setjmp(writer->context.jump)) return kk_png_writer_fail(writer, status);
    png_write_end(writer->png, writer->info);
    if (writer->sink) {
        *bytes = writer->sink->size;
        if (out) {
            *out = writer->sink->buffer;  // handed over: the writer forgets it
            writer->sink->buffer = NULL;
            writer->sink->size = writer->sink->capacity = 0;
        }
        return KK_OK;
    }
    int error = kk_fd_flush(&writer->output);
    if (error) {
        status->code = KK_IO;
        kk_fd_describe(error, status->message, sizeof status->message);
        return kk_png_writer_fail(writer, status);
    }
    *bytes = writer->output.written;
    return KK_OK;
}

void kk_png_writer_free(kk_png_writer *writer) {
    if (!writer) return;
    if (writer->png) png_destroy_write_struct(&writer->png, writer->info ? &writer->info : NULL);
    if (writer->sink) free(writer->sink->buffer);
    free(writer->sink);
    free(writer);
}
