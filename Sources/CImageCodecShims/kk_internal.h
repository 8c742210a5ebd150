// Private to CImageCodecShims: set-up steps shared by the one-shot and the streaming codecs, so the
// encoder settings and the reader's limits are written once.
#pragma once

#include <stdio.h>   // jpeglib.h needs FILE and size_t first
#include <setjmp.h>
#include <png.h>
#include <jpeglib.h>

#include "klingkit_codec_shims.h"

/// libjpeg's error manager as every decoder and encoder here uses it: fatal errors and (in strict mode)
/// the corrupt-data warnings unwind to `jump` with the message in `*status`; nothing is printed.
typedef struct kk_jpeg_error {
    struct jpeg_error_mgr pub;   // must be first: libjpeg sees only this part
    jmp_buf jump;
    kk_status *status;           // where the call in progress reports
    int strict;
} kk_jpeg_error;

/// Installs the handlers (error_exit classifies into KK_* codes, emit_message, silent output_message).
/// `status` is left for the caller to point at the call in progress.
void kk_jpeg_error_setup(kk_jpeg_error *err, int strict);

/// libjpeg's output_message replacement: a library never prints.
void kk_jpeg_output_message(j_common_ptr cinfo);

/// The progress monitor that refuses a progressive stream with more than `max_scans` scans.
typedef struct kk_jpeg_progress {
    struct jpeg_progress_mgr pub;
    int max_scans;
} kk_jpeg_progress;

void kk_jpeg_progress_monitor(j_common_ptr cinfo);

/// A growable malloc'd JPEG destination: unlike jpeg_mem_dest, the live buffer is always reachable, so
/// an error half-way frees it instead of leaking it. The stream so far is `buffer[0 ..< kk_jpeg_dest_size]`.
typedef struct kk_jpeg_dest {
    struct jpeg_destination_mgr pub;
    unsigned char *buffer;
    size_t capacity;
} kk_jpeg_dest;

/// Allocates the first 64 KiB of `dest`. Returns 0 when out of memory.
int kk_jpeg_dest_alloc(kk_jpeg_dest *dest);

/// Makes `dest` the destination of a created compressor.
void kk_jpeg_dest_use(j_compress_ptr cinfo, kk_jpeg_dest *dest);

/// Bytes written so far.
size_t kk_jpeg_dest_size(const kk_jpeg_dest *dest);

/// The KK_CS_* value of a libjpeg colour space.
int kk_jpeg_color_space(J_COLOR_SPACE space);

/// Refuses what no JPEG encoder here takes: channels other than 1 or 3, a side of 0 or over
/// JPEG_MAX_DIMENSION. Returns KK_OK, or KK_INVALID_ARGUMENT with the reason in `*status`.
int kk_jpeg_check_encode(uint32_t width, uint32_t height, int channels, kk_status *status);

/// Copies `message` into `status->message`, truncated to fit.
void kk_copy_message(kk_status *status, const char *message);

/// Applies the encoder settings of `params` (quality clamped to 1...100, 4:2:0 or 4:4:4 for RGB,
/// optimised Huffman, progressive, accurate integer DCT) to a created compressor with its destination
/// set, starts compression, and writes `icc` when given. Call under the caller's setjmp.
void kk_jpeg_start_compress(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                            const kk_jpeg_encode_params *params, const void *icc, size_t icc_size);

/// kk_jpeg_start_compress for planar input (raw_data_in): Y, or Y/Cb/Cr already at the sampling
/// `params` asks for, so libjpeg runs no colour conversion or downsampling.
void kk_jpeg_start_compress_planes(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size);

/// Reads a PNG's header through libpng (its read function already set) and applies the transforms
/// every decoder here uses: 16-bit scaled to 8, palette and tRNS expanded, low-bit gray to 8 bits,
/// interlace handling. Fills `*info` (output_channels included) and refuses more pixels than
/// `params->max_pixels` (KK_TOO_MANY_PIXELS) or a transform that does not end in 8-bit samples
/// (KK_UNSUPPORTED), with the reason in `*status`. libpng errors longjmp through the caller's handler.
int kk_png_start(png_structp png, png_infop info_ptr, const kk_decode_params *params, kk_png_info *info,
                 kk_status *status);

/// Sets libpng's limits on a reader (our pixel limit is the contract; chunk cache 128, largest kept chunk
/// 8 MiB), drops the text and other ancillary chunks we never use (and iCCP unless `want_icc`), and
/// skips libpng's sRGB profile check. Call after png_set_read_fn, before png_read_info.
void kk_png_configure_reader(png_structp png, int want_icc);
