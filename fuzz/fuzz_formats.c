// libFuzzer harness over CImageFormatShims: the HEIF/AVIF (libheif) and WebP (libwebp) probe and
// decode entry points, the EXIF orientation walk and the nclx -> ICC bridge, on arbitrary bytes.
// Built by fuzz/run-formats.sh with clang -fsanitize=fuzzer,address,undefined; LeakSanitizer reports
// any allocation an error path drops.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "klingkit_format_shims.h"
#include "../Sources/CImageFormatShims/kkf_internal.h"

static void exercise_heif(const uint8_t *data, size_t size, const kkf_limits *limits) {
    kkf_heif_info info;
    kkf_status status;
    if (kkf_heif_probe(data, size, limits, &info, &status) != KKF_OK) return;
    int channels = info.has_alpha ? 4 : 3;
    size_t need = (size_t)info.width * info.height * (size_t)channels;
    uint8_t *pixels = malloc(need ? need : 1);
    if (!pixels) return;
    void *icc = NULL;
    size_t icc_size = 0;
    if (kkf_heif_decode(data, size, limits, channels, pixels, need, &info, &icc, &icc_size, &status) == KKF_OK) {
        kkf_free(icc);
        if (info.color_kind == KKF_COLOR_NCLX && kkf_nclx_icc(info.primaries_xy, info.transfer, &icc, &icc_size, &status) == KKF_OK)
            kkf_free(icc);
    }
    free(pixels);
}

static void exercise_webp(const uint8_t *data, size_t size, const kkf_limits *limits) {
    kkf_webp_info info;
    kkf_status status;
    if (kkf_webp_probe(data, size, limits, &info, &status) != KKF_OK) return;
    for (int channels = 3; channels <= 4; channels++) {
        size_t need = (size_t)info.width * info.height * (size_t)channels;
        uint8_t *pixels = malloc(need ? need : 1);
        if (!pixels) return;
        void *icc = NULL;
        size_t icc_size = 0;
        if (kkf_webp_decode(data, size, limits, channels, pixels, need, &info, &icc, &icc_size, &status) == KKF_OK) kkf_free(icc);
        free(pixels);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kkf_limits limits;
    memset(&limits, 0, sizeof limits);
    limits.max_pixels = 4u << 20;  // keep each run small and fast
    limits.max_tiles = 64;
    limits.threads = 0;
    (void)kkf_tiff_orientation(data, size);
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0) {
        exercise_webp(data, size, &limits);
    } else if (size >= 8 && memcmp(data + 4, "ftyp", 4) == 0) {
        exercise_heif(data, size, &limits);
    } else if (size >= 32) {
        // Arbitrary floats and a transfer code into the ICC builder.
        float xy[8];
        memcpy(xy, data, sizeof xy);
        void *icc = NULL;
        size_t icc_size = 0;
        kkf_status status;
        if (kkf_nclx_icc(xy, data[31] % 20, &icc, &icc_size, &status) == KKF_OK) kkf_free(icc);
    }
    return 0;
}
