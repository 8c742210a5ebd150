// libFuzzer harness over CImageCodecShims: every decode entry point (header read, full decode at each
// JPEG scale, strict and lenient, verify-only, the streamed row and band readers read part-way then
// finished, the PNG -> JPEG transcoder) on arbitrary bytes. Built by fuzz/run.sh with
// clang -fsanitize=fuzzer,address,undefined; LeakSanitizer reports any allocation an error path drops.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "klingkit_codec_shims.h"
#include "klingkit_stream_read.h"

static void exercise_jpeg(const uint8_t *data, size_t size, kk_decode_params *p) {
    kk_jpeg_info info;
    kk_status status;
    if (kk_jpeg_read_info(data, size, p, &info, &status) != KK_OK) return;
    size_t need = (size_t)info.output_width * info.output_height * (size_t)info.output_channels;
    void *pixels = malloc(need ? need : 1);
    if (!pixels) return;
    void *icc = NULL;
    size_t icc_size = 0;
    if (kk_jpeg_decode(data, size, p, pixels, need, &info, &icc, &icc_size, &status) == KK_OK) kk_free(icc);
    free(pixels);
}

static void exercise_png(const uint8_t *data, size_t size, kk_decode_params *p) {
    kk_png_info info;
    kk_status status;
    if (kk_png_read_info(data, size, p, &info, &status) != KK_OK) return;
    size_t need = (size_t)info.width * info.height * (size_t)info.output_channels;
    void *pixels = malloc(need ? need : 1);
    if (!pixels) return;
    void *icc = NULL;
    size_t icc_size = 0;
    if (kk_png_decode(data, size, p, pixels, need, &info, &icc, &icc_size, &status) == KK_OK) kk_free(icc);
    free(pixels);
}

/// The streamed reader: half the rows (or bands) read, the rest dropped by finish (its error path
/// must free everything, as a truncated CMYK file once showed it did not).
static void exercise_jpeg_reader(const uint8_t *data, size_t size, kk_decode_params *p, int planar) {
    kk_jpeg_info info;
    kk_jpeg_planes planes;
    kk_status status;
    kk_jpeg_reader *reader = NULL;
    void *icc = NULL;
    size_t icc_size = 0;
    int rc = planar ? kk_jpeg_reader_open_planes(data, size, p, &info, &icc, &icc_size, &planes, &reader, &status)
                    : kk_jpeg_reader_open(data, size, p, &info, &icc, &icc_size, &reader, &status);
    kk_free(icc);
    if (rc != KK_OK) return;
    size_t row = (size_t)info.output_width * (size_t)info.output_channels;
    void *buffer = malloc(planar ? planes.band_bytes : row);
    if (buffer) {
        if (planar) {
            for (uint32_t b = 0; b < planes.bands / 2; b++)
                if (kk_jpeg_reader_read_band(reader, buffer, &status) != KK_OK) break;
        } else {
            for (uint32_t y = 0; y < info.output_height / 2; y++)
                if (kk_jpeg_reader_read_rows(reader, buffer, row, 1, &status) != KK_OK) break;
        }
        (void)kk_jpeg_reader_finish(reader, &status);
        free(buffer);
    }
    kk_jpeg_reader_free(reader);
}

static void exercise_png_to_jpeg(const uint8_t *data, size_t size, kk_decode_params *p) {
    kk_jpeg_encode_params jpeg = { 75, 420, 0, 0 };
    const uint8_t background[3] = { 255, 255, 255 };
    kk_png_to_jpeg_result result;
    kk_status status;
    void *out = NULL;
    size_t out_size = 0;
    if (kk_png_to_jpeg(data, size, p, &jpeg, background, &result, &out, &out_size, &status) == KK_OK) kk_free(out);
}

/// The PNG row reader: half the rows, then finish (which reads the rest through IEND).
static void exercise_png_reader(const uint8_t *data, size_t size, kk_decode_params *p) {
    kk_png_info info;
    kk_status status;
    void *icc = NULL;
    size_t icc_size = 0;
    kk_png_reader *reader = NULL;
    if (kk_png_reader_open(data, size, p, &info, &icc, &icc_size, &reader, &status) == KK_OK) {
        size_t row = (size_t)info.width * (size_t)info.output_channels;
        unsigned char *buffer = malloc(row);
        if (buffer) {
            for (uint32_t y = 0; y < info.height / 2; y++)
                if (kk_png_reader_read_rows(reader, buffer, row, 1, &status) != KK_OK) break;
            (void)kk_png_reader_finish(reader, &status);
            free(buffer);
        }
    }
    kk_free(icc);
    kk_png_reader_free(reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kk_decode_params p;
    memset(&p, 0, sizeof p);
    p.max_pixels = 4u << 20;            // keep each run small and fast
    p.max_memory = 256u << 20;
    p.max_scans = 200;
    p.want_icc = 1;
    kk_status status;
    if (size >= 2 && data[0] == 0xFF && data[1] == 0xD8) {
        static const int scales[] = { 1, 8 };
        for (int strict = 0; strict <= 1; strict++) {
            p.strict = strict;
            for (int s = 0; s < 2; s++) {
                p.scale_denom = scales[s];
                p.fast = 0;
                exercise_jpeg(data, size, &p);
            }
            p.fast = 1;
            p.scale_denom = 8;
            kk_jpeg_info info;
            (void)kk_jpeg_decode(data, size, &p, NULL, 0, &info, NULL, NULL, &status);
            p.fast = 0;
            p.scale_denom = 1;
            exercise_jpeg_reader(data, size, &p, 0);
            exercise_jpeg_reader(data, size, &p, 1);
        }
    } else {
        p.strict = 1;
        exercise_png(data, size, &p);
        p.fast = 1;
        kk_png_info info;
        (void)kk_png_decode(data, size, &p, NULL, 0, &info, NULL, NULL, &status);
        p.fast = 0;
        exercise_png_to_jpeg(data, size, &p);
        exercise_png_reader(data, size, &p);
    }
    return 0;
}
