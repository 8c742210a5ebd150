// libFuzzer harness over CImageCodecShims: every decode entry point (header read, full decode at each
// JPEG scale, strict and lenient, verify-only) on arbitrary bytes. Built by fuzz/run.sh with
// clang -fsanitize=fuzzer,address,undefined; LeakSanitizer reports any allocation an error path drops.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "klingkit_codec_shims.h"

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
        }
    } else {
        p.strict = 1;
        exercise_png(data, size, &p);
        p.fast = 1;
        kk_png_info info;
        (void)kk_png_decode(data, size, &p, NULL, 0, &info, NULL, NULL, &status);
    }
    return 0;
}
