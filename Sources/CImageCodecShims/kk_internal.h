// Private to CImageCodecShims: set-up steps shared by the one-shot and the streaming codecs, so the
// encoder settings and the reader's limits are written once.
#pragma once

#include <stdio.h>   // jpeglib.h needs FILE and size_t first
#include <png.h>
#include <jpeglib.h>

#include "klingkit_codec_shims.h"

/// Applies the encoder settings of `params` (quality clamped to 1...100, 4:2:0 or 4:4:4 for RGB,
/// optimised Huffman, progressive, accurate integer DCT) to a created compressor with its destination
/// set, starts compression, and writes `icc` when given. Call under the caller's setjmp.
void kk_jpeg_start_compress(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                            const kk_jpeg_encode_params *params, const void *icc, size_t icc_size);

/// kk_jpeg_start_compress for planar input (raw_data_in): Y, or Y/Cb/Cr already at the sampling
/// `params` asks for, so libjpeg runs no colour conversion or downsampling.
void kk_jpeg_start_compress_planes(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size);

/// Sets libpng's limits on a reader (our pixel limit is the contract; chunk cache 128, largest kept chunk
/// 8 MiB), drops the text and other ancillary chunks we never use (and iCCP unless `want_icc`), and
/// skips libpng's sRGB profile check. Call after png_set_read_fn, before png_read_info.
void kk_png_configure_reader(png_structp png, int want_icc);
