// A PNG decoded a few rows at a time (see include/klingkit_stream_read.h), from memory or from a file
// descriptor: the decoded image is never held whole. The one row reader behind the PNG -> JPEG
// transcode (png_to_jpeg.c) and the streamed resize and sheet tiles in Swift. Every call runs libpng
// under a setjmp of its own; after a failure the reader refuses later calls with the same status.
// A pristine PNG in memory that kk_png_read_pristine takes is read through IEND when the reader
// opens, its image data inflated whole (at most 64 MiB, held until the reader is freed); its rows are
// then unfiltered as they are asked for, with no libpng call left to fail.
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>

#include "klingkit_stream_read.h"
#include "kk_internal.h"

struct kk_png_reader {
    kk_png_context context;        ///< libpng's jmp_buf for the call in progress, and its status
    png_structp png;
    png_infop png_info;
    kk_png_info info;
    uint32_t rows;                 ///< rows handed out so far
    unsigned char *scratch;        ///< one row, for the rows kk_png_reader_finish drops
    kk_sticky sticky;
    const unsigned char *data;     ///< the PNG, when it is in memory
    size_t size, offset;
    int fd;                        ///< the PNG's descriptor, when it is read from a file (else -1)
    size_t fd_used, fd_filled;     ///< consumed / valid bytes of `fd_buffer`
    unsigned char *raw;            ///< a pristine PNG's rows, each led by its filter type (else NULL)
    unsigned char fd_buffer[65536];
};

/// libpng's read callback. Every failure goes through png_error, so libpng unwinds as it does for its
/// own errors; a failed read(2) is marked KK_IO first (kk_png_context keeps a code already set).
static void kk_pr_read(png_structp png, png_bytep out, size_t length) {
    kk_png_reader *r = (kk_png_reader *)png_get_io_ptr(png);
    if (r->fd < 0) {
        if (length > r->size - r->offset) png_error(png, "unexpected end of PNG data (truncated file)");
        memcpy(out, r->data + r->offset, length);
        r->offset += length;
        return;
    }
    // Through a 64 KiB buffer: libpng asks for chunk headers (8 bytes) and zlib-sized pieces.
    while (length > 0) {
        if (r->fd_used == r->fd_filled) {
            ssize_t n;
            do { n = read(r->fd, r->fd_buffer, sizeof r->fd_buffer); } while (n < 0 && errno == EINTR);
            if (n < 0) {
                char message[160];
                snprintf(message, sizeof message, "read failed: %s", strerror(errno));
                r->context.status->code = KK_IO;
                png_error(png, message);
            }
            if (n == 0) png_error(png, "unexpected end of PNG data (truncated file)");
            r->fd_used = 0;
            r->fd_filled = (size_t)n;
        }
        size_t take = r->fd_filled - r->fd_used;
        if (take > length) take = length;
        memcpy(out, r->fd_buffer + r->fd_used, take);
        r->fd_used += take;
        out += take;
        length -= take;
    }
}

/// Takes ownership of `r` (NULL: out of memory): reads the header, refuses Adam7, copies the profile.
static int kk_pr_open(kk_png_reader *r, const kk_decode_params *params, kk_png_info *info, void **icc,
                      size_t *icc_size, kk_png_reader **out, kk_status *status) {
    *out = NULL;
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    memset(status, 0, sizeof *status);
    memset(info, 0, sizeof *info);
    if (!r) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    r->context.status = status;
    r->png = kk_png_create_reader(&r->context, &r->png_info);
    if (!r->png) {
        free(r);
        return KK_NO_MEMORY;
    }
    // `r` is on the heap and its fields are only read through it: nothing here is lost by longjmp.
    if (setjmp(r->context.jump)) {
        int code = status->code ? status->code : KK_CORRUPT;
        kk_png_reader_free(r);
        return code;
    }
    png_set_read_fn(r->png, r, kk_pr_read);
    if (kk_png_start(r->png, r->png_info, params, &r->info, status) != KK_OK) longjmp(r->context.jump, 1);
    *info = r->info;
    if (r->info.interlaced) {
        status->code = KK_UNSUPPORTED;
        png_error(r->png, "an interlaced (Adam7) PNG cannot be streamed row by row");
    }
    size_t stride = (size_t)r->info.width * (size_t)r->info.output_channels;
    if (png_get_rowbytes(r->png, r->png_info) != stride) png_error(r->png, "unexpected PNG row size");
    if (icc && params->want_icc && png_get_valid(r->png, r->png_info, PNG_INFO_iCCP)) {
        png_charp name = NULL;
        int compression = 0;
        png_bytep profile = NULL;
        png_uint_32 length = 0;
        if (png_get_iCCP(r->png, r->png_info, &name, &compression, &profile, &length) && profile && length > 0) {
            void *copy = malloc(length);
            if (!copy) {
                status->code = KK_NO_MEMORY;
                png_error(r->png, "out of memory");
            }
            memcpy(copy, profile, length);
            *icc = copy;
            *icc_size = length;
        }
    }
    *out = r;
    return KK_OK;
}

int kk_png_reader_open(const void *data, size_t size, const kk_decode_params *params, kk_png_info *info,
                       void **icc, size_t *icc_size, kk_png_reader **reader, kk_status *status) {
    kk_png_reader *r = calloc(1, sizeof *r);
    if (r) {
        r->data = (const unsigned char *)data;
        r->size = size;
        r->fd = -1;
        void *profile = NULL;
        size_t profile_size = 0;
        if (kk_png_read_pristine(data, size, params, &r->info, &r->raw, icc ? &profile : NULL, &profile_size)) {
            memset(status, 0, sizeof *status);
            *info = r->info;
            if (icc) *icc = profile;
            if (icc_size) *icc_size = profile_size;
            *reader = r;
            return KK_OK;
        }
    }
    return kk_pr_open(r, params, info, icc, icc_size, reader, status);
}

int kk_png_reader_open_fd(int fd, const kk_decode_params *params, kk_png_info *info,
                          void **icc, size_t *icc_size, kk_png_reader **reader, kk_status *status) {
    kk_png_reader *r = calloc(1, sizeof *r);
    if (r) r->fd = fd;
    return kk_pr_open(r, params, info, icc, icc_size, reader, status);
}

int kk_png_reader_read_rows(kk_png_reader *reader, void *rows, size_t stride, uint32_t count, kk_status *status) {
    int code = kk_sticky_enter(reader ? &reader->sticky : NULL, "PNG reader", status);
    if (code != KK_OK) return code;
    size_t row_bytes = (size_t)reader->info.width * (size_t)reader->info.output_channels;
    if (stride == 0) stride = row_bytes;
    if (count > reader->info.height - reader->rows || (count > 0 && !rows) || stride < row_bytes) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message,
                 "%u more rows are not there: %u of %u read (or the row stride is too short)",
                 count, reader->rows, reader->info.height);
        return kk_sticky_fail(&reader->sticky, status, KK_INVALID_ARGUMENT);
    }
    unsigned char *base = (unsigned char *)rows;
    if (reader->raw) {
        for (uint32_t y = 0; y < count; y++, reader->rows++) {
            kk_png_raw_row(reader->raw, reader->rows, row_bytes, reader->info.output_channels, base + (size_t)y * stride);
        }
        return KK_OK;
    }
    reader->context.status = status;
    if (setjmp(reader->context.jump)) return kk_sticky_fail(&reader->sticky, status, KK_CORRUPT);
    for (uint32_t y = 0; y < count; y++) {
        png_read_row(reader->png, base + (size_t)y * stride, NULL);
        reader->rows++;
    }
    return KK_OK;
}

int kk_png_reader_finish(kk_png_reader *reader, kk_status *status) {
    int code = kk_sticky_enter(reader ? &reader->sticky : NULL, "PNG reader", status);
    if (code != KK_OK) return code;
    if (reader->raw) {
        reader->rows = reader->info.height;  // read through IEND when it opened
        return KK_OK;
    }
    reader->context.status = status;
    if (setjmp(reader->context.jump)) return kk_sticky_fail(&reader->sticky, status, KK_CORRUPT);
    if (reader->rows < reader->info.height && !reader->scratch) {
        reader->scratch = malloc((size_t)reader->info.width * (size_t)reader->info.output_channels);
        if (!reader->scratch) {
            status->code = KK_NO_MEMORY;
            png_error(reader->png, "out of memory");
        }
    }
    while (reader->rows < reader->info.height) {
        png_read_row(reader->png, reader->scratch, NULL);
        reader->rows++;
    }
    // Through IEND: trailing damage or truncation fails, as it fails a whole decode.
    png_read_end(reader->png, NULL);
    return KK_OK;
}

void kk_png_reader_free(kk_png_reader *reader) {
    if (!reader) return;
    if (reader->png) png_destroy_read_struct(&reader->png, reader->png_info ? &reader->png_info : NULL, NULL);
    free(reader->raw);
    free(reader->scratch);
    free(reader);
}
