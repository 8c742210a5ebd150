// Streaming PNG -> JPEG transcode (see include/klingkit_stream_read.h): the one PNG row reader
// (png_reader.c) hands over one row, it is flattened when it has alpha, and the one JPEG writer
// (kk_jpeg_writer, memory destination) compresses it. Reader and writer each report through their own
// status and unwind their own libraries; this file only frees what it holds.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klingkit_stream_read.h"
#include "kk_internal.h"

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

/// Everything one transcode holds, freed in one place whatever step fails.
typedef struct kk_transcode {
    kk_png_reader *reader;
    kk_jpeg_writer *writer;
    unsigned char *row;            ///< one decoded PNG row
    unsigned char *flat;           ///< the same row flattened (gray or RGB)
    void *icc;                     ///< the PNG's profile, when one was asked for
} kk_transcode;

static int kk_tc_end(kk_transcode *tc, int code) {
    kk_png_reader_free(tc->reader);
    kk_jpeg_writer_free(tc->writer);
    free(tc->row);
    free(tc->flat);
    free(tc->icc);
    return code;
}

/// The transcode after the reader is open (or failed to open: `code`).
static int kk_png_to_jpeg_run(kk_transcode *tc, int code, const kk_jpeg_encode_params *jpeg,
                              const uint8_t background[3], kk_png_to_jpeg_result *result, size_t icc_size,
                              void **out, size_t *out_size, kk_status *status) {
    if (code != KK_OK) return kk_tc_end(tc, code);
    const kk_png_info *info = &result->info;
    uint32_t width = info->width, height = info->height;
    int channels = info->output_channels;
    int gray = channels <= 2;
    result->jpeg_channels = gray ? 1 : 3;

    // The profile, when it describes the pixels the JPEG will hold.
    if (tc->icc) {
        result->icc_present = 1;
        const char *space = gray ? "GRAY" : "RGB ";
        if (icc_size >= 128 && memcmp((const unsigned char *)tc->icc + 16, space, 4) == 0) result->icc_embedded = 1;
    }

    // The encoder first: it refuses a side JPEG cannot store before any row is inflated.
    code = kk_jpeg_writer_open_memory(width, height, gray ? 1 : 3, jpeg, result->icc_embedded ? tc->icc : NULL,
                                      result->icc_embedded ? icc_size : 0, NULL, &tc->writer, status);
    if (code != KK_OK) return kk_tc_end(tc, code);
    size_t stride = (size_t)width * (size_t)channels;
    tc->row = malloc(stride);
    // 16 bytes of slack: the vector flattening stores whole 16-byte blocks.
    tc->flat = (channels == 2 || channels == 4) ? malloc((size_t)width * (size_t)(gray ? 1 : 3) + 16) : NULL;
    if (!tc->row || ((channels == 2 || channels == 4) && !tc->flat))
        return kk_tc_end(tc, kk_set_status(status, KK_NO_MEMORY, "out of memory"));

    int bg_luma = (299 * background[0] + 587 * background[1] + 114 * background[2] + 500) / 1000;
    int transparent = 0;
    for (uint32_t y = 0; y < height; y++) {
        code = kk_png_reader_read_rows(tc->reader, tc->row, 0, 1, status);
        if (code != KK_OK) return kk_tc_end(tc, code);
        const unsigned char *line = tc->row;
        if (tc->flat) {
            transparent |= kk_tc_flatten(tc->row, tc->flat, width, channels, background, bg_luma);
            line = tc->flat;
        }
        code = kk_jpeg_writer_write_rows(tc->writer, line, 0, 1, status);
        if (code != KK_OK) return kk_tc_end(tc, code);
    }
    // Through IEND: trailing damage or truncation fails the transcode, as it fails a decode.
    code = kk_png_reader_finish(tc->reader, status);
    if (code != KK_OK) return kk_tc_end(tc, code);
    uint64_t bytes = 0;
    code = kk_jpeg_writer_finish(tc->writer, &bytes, out, status);
    if (code != KK_OK) return kk_tc_end(tc, code);
    *out_size = (size_t)bytes;
    result->transparent = transparent;
    return kk_tc_end(tc, KK_OK);
}

int kk_png_to_jpeg(const void *data, size_t size, const kk_decode_params *params,
                   const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                   kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode tc = { 0 };
    size_t icc_size = 0;
    *out = NULL;
    *out_size = 0;
    memset(result, 0, sizeof *result);
    int code = kk_png_reader_open(data, size, params, &result->info, &tc.icc, &icc_size, &tc.reader, status);
    return kk_png_to_jpeg_run(&tc, code, jpeg, background, result, icc_size, out, out_size, status);
}

int kk_png_fd_to_jpeg(int fd, const kk_decode_params *params,
                      const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                      kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode tc = { 0 };
    size_t icc_size = 0;
    *out = NULL;
    *out_size = 0;
    memset(result, 0, sizeof *result);
    int code = kk_png_reader_open_fd(fd, params, &result->info, &tc.icc, &icc_size, &tc.reader, status);
    return kk_png_to_jpeg_run(&tc, code, jpeg, background, result, icc_size, out, out_size, status);
}
