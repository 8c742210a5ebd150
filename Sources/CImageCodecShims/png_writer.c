// libpng encoders: the one-shot encode into memory and the streaming writer (to a descriptor or to
// memory), with one set-up so both write the same bytes. Their libpng structs come from
// kk_png_create_writer (png_shim.c), which owns the error/warning policy. See
// include/klingkit_codec_shims.h for the contract.
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdio.h>
#include <png.h>

#include "klingkit_codec_shims.h"
#include "kk_fd_output.h"
#include "kk_internal.h"

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
    png_infop info_ptr;
    png_structp png = kk_png_create_writer(&context, &info_ptr);
    if (!png) {
        free(sink);
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
    writer->png = kk_png_create_writer(&writer->context, &writer->info);
    if (!writer->png) {
        kk_png_writer_free(writer);
        return KK_NO_MEMORY;
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

uint64_t kk_png_writer_bytes(const kk_png_writer *writer) {
    if (!writer) return 0;
    if (writer->sink) return writer->sink->size;
    return writer->output.written + writer->output.used;
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
