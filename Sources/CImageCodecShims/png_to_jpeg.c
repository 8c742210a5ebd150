// Streaming PNG -> JPEG transcode (see include/klingkit_stream_read.h): libpng inflates and unfilters one
// row, it is flattened when it has alpha, and the one JPEG writer (kk_jpeg_writer, memory destination)
// compresses it. libpng's errors, read errors included, go through png_error to the one setjmp in
// kk_png_to_jpeg_run, which frees everything it allocated; the writer reports through its own status.
#include <errno.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

#include "kk_internal.h"

/// Everything the error path must reach lives here, in memory, not in registers: automatic variables
/// changed between setjmp and longjmp are indeterminate afterwards.
typedef struct kk_transcode {
    kk_png_context context;        ///< libpng's jmp_buf and the caller's status
    png_structp png;
    png_infop png_info;
    kk_jpeg_writer *writer;        ///< the JPEG being written (in memory)
    unsigned char *row;            ///< one decoded PNG row
    unsigned char *flat;           ///< the same row flattened (gray or RGB)
    const unsigned char *data;     ///< the PNG, when it is in memory
    size_t size;
    size_t offset;
    int fd;                        ///< the PNG's descriptor, when it is read from a file (else -1)
    size_t fd_used, fd_filled;     ///< consumed / valid bytes of `fd_buffer`
    unsigned char fd_buffer[65536];
} kk_transcode;

/// Unwinds to the transcoder's setjmp with `code` (unless one is set) and `message`.
static void kk_tc_fail(kk_transcode *tc, int code, const char *message) {
    if (tc->context.status->code == KK_OK) tc->context.status->code = code;
    kk_copy_message(tc->context.status, message);
    longjmp(tc->context.jump, 1);
}

/// Unwinds with the writer's failure when a writer call did not succeed.
static void kk_tc_check_writer(kk_transcode *tc, int code, const kk_status *writer_status) {
    if (code == KK_OK) return;
    kk_tc_fail(tc, code, writer_status->message);
}

/// libpng's read callback. Every failure goes through png_error, so libpng unwinds as it does for its
/// own errors; a failed read(2) is marked KK_IO first (kk_png_context keeps a code already set).
static void kk_tc_png_read(png_structp png, png_bytep out, size_t length) {
    kk_transcode *tc = (kk_transcode *)png_get_io_ptr(png);
    if (tc->fd < 0) {
        if (length > tc->size - tc->offset) png_error(png, "unexpected end of PNG data (truncated file)");
        memcpy(out, tc->data + tc->offset, length);
        tc->offset += length;
        return;
    }
    // Through a 64 KiB buffer: libpng asks for chunk headers (8 bytes) and zlib-sized pieces.
    while (length > 0) {
        if (tc->fd_used == tc->fd_filled) {
            ssize_t n;
            do { n = read(tc->fd, tc->fd_buffer, sizeof tc->fd_buffer); } while (n < 0 && errno == EINTR);
            if (n < 0) {
                char message[160];
                snprintf(message, sizeof message, "read failed: %s", strerror(errno));
                tc->context.status->code = KK_IO;
                png_error(png, message);
            }
            if (n == 0) png_error(png, "unexpected end of PNG data (truncated file)");
            tc->fd_used = 0;
            tc->fd_filled = (size_t)n;
        }
        size_t take = tc->fd_filled - tc->fd_used;
        if (take > length) take = length;
        memcpy(out, tc->fd_buffer + tc->fd_used, take);
        tc->fd_used += take;
        out += take;
        length -= take;
    }
}

static void kk_tc_cleanup(kk_transcode *tc) {
    kk_jpeg_writer_free(tc->writer);
    tc->writer = NULL;
    if (tc->png) png_destroy_read_struct(&tc->png, tc->png_info ? &tc->png_info : NULL, NULL);
    tc->png = NULL;
    tc->png_info = NULL;
    free(tc->row);
    free(tc->flat);
    tc->row = tc->flat = NULL;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define KK_TC_SSSE3 1

/// RGBA -> RGB over `bg`, four pixels per step in 16-bit lanes: t = c·a + bg·(255 − a) + 128 (at most
/// 65,153, so exact in 16 bits) and ⌊(t + ⌊t/256⌋)/256⌋, which equals the scalar ⌊(c·a + bg·(255 − a) + 127)/255⌋
/// for every input (checked exhaustively over 0...255²). Writes up to 4 bytes past the last pixel's RGB
/// (the caller's buffer has that slack). Returns the pixels done (a multiple of 4) and ORs transparency in.
__attribute__((target("ssse3")))
static uint32_t kk_tc_flatten_rgba_ssse3(const unsigned char *in, unsigned char *out, uint32_t width,
                                         const uint8_t bg[3], int *transparent) {
    const __m128i zero = _mm_setzero_si128();
    const __m128i full = _mm_set1_epi16(255);
    const __m128i half = _mm_set1_epi16(128);
    const __m128i bgv = _mm_setr_epi16(bg[0], bg[1], bg[2], 0, bg[0], bg[1], bg[2], 0);
    const __m128i alpha_bytes = _mm_set1_epi32((int)0xFF000000u);
    const __m128i pack = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    __m128i opaque = _mm_set1_epi8(-1);
    uint32_t x = 0;
    for (; x + 4 <= width; x += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(in + 4 * (size_t)x));
        opaque = _mm_and_si128(opaque, _mm_cmpeq_epi32(_mm_and_si128(v, alpha_bytes), alpha_bytes));
        __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
        __m128i alo = _mm_shufflehi_epi16(_mm_shufflelo_epi16(lo, 0xFF), 0xFF);
        __m128i ahi = _mm_shufflehi_epi16(_mm_shufflelo_epi16(hi, 0xFF), 0xFF);
        __m128i tlo = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(lo, alo), _mm_mullo_epi16(bgv, _mm_sub_epi16(full, alo))), half);
        __m128i thi = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(hi, ahi), _mm_mullo_epi16(bgv, _mm_sub_epi16(full, ahi))), half);
        tlo = _mm_srli_epi16(_mm_add_epi16(tlo, _mm_srli_epi16(tlo, 8)), 8);
        thi = _mm_srli_epi16(_mm_add_epi16(thi, _mm_srli_epi16(thi, 8)), 8);
        __m128i rgb = _mm_shuffle_epi8(_mm_packus_epi16(tlo, thi), pack);
        _mm_storeu_si128((__m128i *)(out + 3 * (size_t)x), rgb);
    }
    if (_mm_movemask_epi8(opaque) != 0xFFFF) *transparent = 1;
    return x;
}
#endif

/// Composites one row of gray+alpha or RGBA over the background; copies gray or RGB as it is.
/// Returns whether any pixel was less than opaque.
static int kk_tc_flatten(const unsigned char *in, unsigned char *out, uint32_t width, int channels,
                         const uint8_t bg[3], int bg_luma) {
    int transparent = 0;
    if (channels == 2) {
        for (uint32_t x = 0; x < width; x++) {
            unsigned a = in[2 * x + 1], ia = 255 - a;
            transparent |= a != 255;
            out[x] = (unsigned char)((in[2 * x] * a + (unsigned)bg_luma * ia + 127) / 255);
        }
    } else if (channels == 4) {
        uint32_t x = 0;
#ifdef KK_TC_SSSE3
        if (__builtin_cpu_supports("ssse3")) x = kk_tc_flatten_rgba_ssse3(in, out, width, bg, &transparent);
#endif
        for (; x < width; x++) {
            const unsigned char *p = in + 4 * (size_t)x;
            unsigned a = p[3], ia = 255 - a;
            transparent |= a != 255;
            unsigned char *q = out + 3 * (size_t)x;
            q[0] = (unsigned char)((p[0] * a + bg[0] * ia + 127) / 255);
            q[1] = (unsigned char)((p[1] * a + bg[1] * ia + 127) / 255);
            q[2] = (unsigned char)((p[2] * a + bg[2] * ia + 127) / 255);
        }
    }
    return transparent;
}

static int kk_png_to_jpeg_run(kk_transcode *tc, const kk_decode_params *params,
                              const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                              kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status);

int kk_png_to_jpeg(const void *data, size_t size, const kk_decode_params *params,
                   const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                   kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode *tc = calloc(1, sizeof *tc);
    if (tc) {
        tc->data = (const unsigned char *)data;
        tc->size = size;
        tc->fd = -1;
    }
    return kk_png_to_jpeg_run(tc, params, jpeg, background, result, out, out_size, status);
}

int kk_png_fd_to_jpeg(int fd, const kk_decode_params *params,
                      const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                      kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode *tc = calloc(1, sizeof *tc);
    if (tc) tc->fd = fd;
    return kk_png_to_jpeg_run(tc, params, jpeg, background, result, out, out_size, status);
}

/// Takes ownership of `tc` (NULL: out of memory) and frees it.
static int kk_png_to_jpeg_run(kk_transcode *tc, const kk_decode_params *params,
                              const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                              kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    *out = NULL;
    *out_size = 0;
    memset(status, 0, sizeof *status);
    memset(result, 0, sizeof *result);
    if (!tc) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    tc->context.status = status;
    tc->png = kk_png_create_reader(&tc->context, &tc->png_info);
    if (!tc->png) {
        free(tc);
        return KK_NO_MEMORY;
    }
    if (setjmp(tc->context.jump)) {
        int code = status->code ? status->code : KK_CORRUPT;
        kk_tc_cleanup(tc);
        free(tc);
        return code;
    }

    // PNG header, with the transforms kk_png_decode applies (8-bit gray / GA / RGB / RGBA).
    png_structp png = tc->png;
    png_infop info_ptr = tc->png_info;
    png_set_read_fn(png, tc, kk_tc_png_read);
    kk_png_info *info = &result->info;
    if (kk_png_start(png, info_ptr, params, info, status) != KK_OK) longjmp(tc->context.jump, 1);  // *status says why
    png_uint_32 width = info->width, height = info->height;
    if (info->interlaced) kk_tc_fail(tc, KK_UNSUPPORTED, "an interlaced (Adam7) PNG cannot be streamed row by row");
    int channels = info->output_channels;
    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(png, info_ptr) != stride) png_error(png, "unexpected PNG row size");
    int gray = channels <= 2;
    result->jpeg_channels = gray ? 1 : 3;

    // The profile, when it describes the pixels the JPEG will hold.
    png_charp icc_name = NULL;
    int icc_compression = 0;
    png_bytep icc = NULL;
    png_uint_32 icc_length = 0;
    if (params->want_icc && png_get_iCCP(png, info_ptr, &icc_name, &icc_compression, &icc, &icc_length) && icc && icc_length > 0) {
        result->icc_present = 1;
        const char *space = gray ? "GRAY" : "RGB ";
        if (icc_length >= 128 && memcmp(icc + 16, space, 4) == 0) result->icc_embedded = 1;
    }

    // The encoder first: it refuses a side JPEG cannot store before any row is inflated.
    kk_status writer_status;
    int code = kk_jpeg_writer_open_memory(width, height, gray ? 1 : 3, jpeg, result->icc_embedded ? icc : NULL,
                                          result->icc_embedded ? icc_length : 0, NULL, &tc->writer, &writer_status);
    kk_tc_check_writer(tc, code, &writer_status);
    tc->row = malloc(stride);
    // 16 bytes of slack: the vector flattening stores whole 16-byte blocks.
    tc->flat = (channels == 2 || channels == 4) ? malloc((size_t)width * (size_t)(gray ? 1 : 3) + 16) : NULL;
    if (!tc->row || ((channels == 2 || channels == 4) && !tc->flat)) kk_tc_fail(tc, KK_NO_MEMORY, "out of memory");

    int bg_luma = (299 * background[0] + 587 * background[1] + 114 * background[2] + 500) / 1000;
    int transparent = 0;
    for (png_uint_32 y = 0; y < height; y++) {
        png_read_row(png, tc->row, NULL);
        const unsigned char *line = tc->row;
        if (tc->flat) {
            transparent |= kk_tc_flatten(tc->row, tc->flat, width, channels, background, bg_luma);
            line = tc->flat;
        }
        code = kk_jpeg_writer_write_rows(tc->writer, line, 0, 1, &writer_status);
        kk_tc_check_writer(tc, code, &writer_status);
    }
    // Through IEND: trailing damage or truncation fails the transcode, as it fails a decode.
    png_read_end(png, NULL);
    uint64_t bytes = 0;
    code = kk_jpeg_writer_finish(tc->writer, &bytes, out, &writer_status);
    kk_tc_check_writer(tc, code, &writer_status);
    *out_size = (size_t)bytes;
    result->transparent = transparent;
    kk_tc_cleanup(tc);
    free(tc);
    return KK_OK;
}
