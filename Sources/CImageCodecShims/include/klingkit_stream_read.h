// Streaming transcodes: read one image row by row and feed another encoder, so a large picture never
// sits in memory whole. Same conventions as klingkit_codec_shims.h (status codes, kk_status, kk_free).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "klingkit_codec_shims.h"

#ifdef __cplusplus
extern "C" {
#endif

/// What kk_png_to_jpeg did besides encoding.
typedef struct kk_png_to_jpeg_result {
    kk_png_info info;          ///< the PNG's header and decoded layout (output_channels before flattening)
    int jpeg_channels;         ///< 1 (gray) or 3 (RGB)
    int transparent;           ///< some pixel had alpha < 255 (it was composited over the background)
    int icc_present;           ///< the PNG carried an iCCP profile
    int icc_embedded;          ///< ... and it was written to the JPEG (its colour space matched)
} kk_png_to_jpeg_result;

/// Transcodes a non-interlaced PNG to JPEG one row at a time: libpng inflates and unfilters a row,
/// alpha is composited over `background` (RGB; gray output uses its Rec. 601 luma), the row goes
/// straight to libjpeg's compressor. Memory: one PNG row, libjpeg's MCU-row buffers and the growing
/// output (with `optimize` or `progressive`, libjpeg also keeps every coefficient, 3 bytes per pixel
/// at 4:2:0). Pixels and stream are byte-identical to kk_png_decode, flattening with
/// `(c·a + bg·(255 − a) + 127) / 255`, then kk_jpeg_encode with the same params.
///
/// The ICC profile is embedded when `params->want_icc` is set and its data colour space (header bytes
/// 16...19) is "RGB " for RGB output or "GRAY" for gray output; otherwise it is dropped.
/// The whole PNG is read through IEND, so a truncated or damaged stream fails (KK_CORRUPT) and
/// nothing is handed back. An interlaced (Adam7) PNG is KK_UNSUPPORTED: it cannot be streamed.
/// On success `*out` (free with kk_free) holds `*out_size` bytes of JPEG.
int kk_png_to_jpeg(const void *data, size_t size, const kk_decode_params *params,
                   const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                   kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status);

#ifdef __cplusplus
}
#endif
