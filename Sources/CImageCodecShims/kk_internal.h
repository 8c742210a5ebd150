// Private to CImageCodecShims: the mechanisms every codec here shares (status, sticky failure, the
// one libjpeg error manager, the memory cap, the scan limit, decoder and encoder set-up, libpng reader
// set-up), so each is written once.
#pragma once

#include <stdio.h>   // jpeglib.h needs FILE and size_t first
#include <setjmp.h>
#include <png.h>
#include <jpeglib.h>

#include "klingkit_codec_shims.h"
#include "klingkit_stream_read.h"

// MARK: - Status

/// Copies `message` into `status->message`, truncated to fit.
void kk_copy_message(kk_status *status, const char *message);

/// Sets `status->code` and the message; returns `code`.
int kk_set_status(kk_status *status, int code, const char *message);

// MARK: - Sticky failure of long-lived objects (readers and writers)

/// After any failed call, a reader or writer refuses every later call with the same status.
typedef struct kk_sticky {
    int failed;          ///< the code of the first failure (0 while all is well)
    kk_status failure;   ///< its status
} kk_sticky;

/// Starts a call on the object owning `sticky`: clears `*status`; refuses a NULL object ("no `what`",
/// KK_INVALID_ARGUMENT); when an earlier call failed, copies its status and returns its code.
int kk_sticky_enter(const kk_sticky *sticky, const char *what, kk_status *status);

/// Ends a failed call: `fallback` when `*status` carries no code; remembers it; returns the code.
int kk_sticky_fail(kk_sticky *sticky, kk_status *status, int fallback);

// MARK: - libjpeg error manager

/// How a libjpeg fatal error is classified.
typedef enum kk_jpeg_role {
    KK_JPEG_DECODER = 0,   ///< unsupported / limit / too many pixels / corrupt; strict warnings fatal
    KK_JPEG_ENCODER = 1,   ///< out of memory, or settings libjpeg refuses (KK_INVALID_ARGUMENT)
} kk_jpeg_role;

/// libjpeg's error manager as every decoder and encoder here uses it: fatal errors (and, for a strict
/// decoder, the corrupt-data warnings) unwind to `jump` with the message in `*status`; nothing is printed.
typedef struct kk_jpeg_error {
    struct jpeg_error_mgr pub;   // must be first: libjpeg sees only this part
    jmp_buf jump;
    kk_status *status;           // where the call in progress reports
    kk_jpeg_role role;
    int strict;
} kk_jpeg_error;

/// Installs the handlers (error_exit classified by `role`, emit_message, silent output_message) and
/// points the manager at `status`. `strict` applies to decoders only.
void kk_jpeg_error_setup(kk_jpeg_error *err, kk_status *status, kk_jpeg_role role, int strict);

/// Unwinds to `err->jump` with `code` and `message` (the first code set wins).
__attribute__((noreturn)) void kk_jpeg_fail(kk_jpeg_error *err, int code, const char *message);

// MARK: - Decoder set-up (one-shot decode, verification, streamed reader)

/// The progress monitor that refuses a progressive stream with more than `max_scans` scans.
typedef struct kk_jpeg_progress {
    struct jpeg_progress_mgr pub;
    int max_scans;
} kk_jpeg_progress;

/// Installs the scan limit of `params` (KK_DEFAULT_MAX_SCANS when 0) on a created decompressor.
void kk_jpeg_progress_install(j_decompress_ptr cinfo, kk_jpeg_progress *progress, const kk_decode_params *params);

/// Runs under the caller's setjmp on a created decompressor: applies the memory cap
/// (kk_decode_params.max_memory), sets the memory source, reads the header, refuses what no decoder here
/// takes (precision other than 8, a zero side, more than max_pixels), applies scaling, picks the output
/// colour space (gray stays gray or `fast` is luma only; CMYK/YCCK come out CMYK for kk_cmyk_row_to_rgb;
/// the rest RGB) and fills `*info`. Returns KK_OK or a code with `*status` filled.
int kk_jpeg_setup(j_decompress_ptr cinfo, const void *data, size_t size, const kk_decode_params *params,
                  kk_jpeg_info *info, kk_status *status);

/// One row of CMYK samples to RGB: Adobe files (an APP14 marker seen) store CMYK inverted (0 = full ink);
/// plain CMYK is converted with the (1 - C)(1 - K) rule.
void kk_cmyk_row_to_rgb(const JSAMPLE *in, unsigned char *out, JDIMENSION width, int inverted);

/// The KK_CS_* value of a libjpeg colour space.
int kk_jpeg_color_space(J_COLOR_SPACE space);

// MARK: - Encoder set-up

/// Refuses what no JPEG encoder here takes: channels other than 1 or 3, a side of 0 or over
/// JPEG_MAX_DIMENSION. Returns KK_OK, or KK_INVALID_ARGUMENT with the reason in `*status`.
int kk_jpeg_check_encode(uint32_t width, uint32_t height, int channels, kk_status *status);

/// Applies the encoder settings of `params` (quality clamped to 1...100, 4:2:0 or 4:4:4 for RGB,
/// optimised Huffman, progressive, accurate integer DCT) to a created compressor with its destination
/// set, starts compression, and writes `icc` when given. With `planar`, input is Y or Y/Cb/Cr already at
/// the sampling `params` asks for (raw_data_in). Call under the caller's setjmp.
void kk_jpeg_start_compress(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                            const kk_jpeg_encode_params *params, const void *icc, size_t icc_size, int planar);

// MARK: - libpng

/// Per-call libpng error context, reached through png_get_error_ptr. Its own jmp_buf (not png_jmpbuf,
/// a macro) so the handler never returns into libpng.
typedef struct kk_png_context {
    jmp_buf jump;
    kk_status *status;
} kk_png_context;

/// Creates a libpng reader and its info struct reporting into `context` (KK_CORRUPT unless a code is
/// already set; warnings counted). Returns NULL with KK_NO_MEMORY in `*context->status` when out of memory.
png_structp kk_png_create_reader(kk_png_context *context, png_infop *info);

/// Creates a libpng writer and its info struct with the same error/warning policy as the reader.
/// Returns NULL with KK_NO_MEMORY in `*context->status` when out of memory.
png_structp kk_png_create_writer(kk_png_context *context, png_infop *info);

/// Reads a PNG's header through libpng (its read function already set) and applies the transforms
/// every decoder here uses: 16-bit scaled to 8, palette and tRNS expanded, low-bit gray to 8 bits,
/// interlace handling. Fills `*info` (output_channels included) and refuses more pixels than
/// `params->max_pixels` (KK_TOO_MANY_PIXELS) or a transform that does not end in 8-bit samples
/// (KK_UNSUPPORTED), with the reason in `*status`. Sets libpng's limits first (our pixel limit is the
/// contract; chunk cache 128, largest kept chunk 8 MiB), drops the text and other ancillary chunks we
/// never use, and reads iCCP always so that a profile inflating past 8 MiB fails the read (KK_LIMIT).
/// libpng errors longjmp through the caller's handler.
int kk_png_start(png_structp png, png_infop info_ptr, const kk_decode_params *params, kk_png_info *info,
                 kk_status *status);

/// The largest ancillary chunk libpng keeps, and the most an iCCP profile may inflate to: 8 MiB.
#define KK_PNG_CHUNK_MAX (8 * 1024 * 1024)

// MARK: - PNG verification without unfiltering (png_verify.c)

/// Where the image data lies, as libpng reports the IDAT chunks it hands over (kk_png_idat_install).
typedef struct kk_png_idat_run {
    const size_t *offset;  ///< the read position in the source (just past a chunk's CRC in the callback)
    size_t first;          ///< offset of the first IDAT chunk's length field (SIZE_MAX: none yet)
    size_t end;            ///< offset just past the last IDAT chunk of the first contiguous run
    int anomaly;           ///< IDAT after another chunk, or an unknown critical chunk
} kk_png_idat_run;

/// 1 when every chunk of the PNG in `data` is complete, at most KK_PNG_CHUNK_MAX long, and IEND is
/// reached: the condition for libpng to hand IDAT over (it caches each unknown chunk).
int kk_png_chunks_fit(const unsigned char *data, size_t size);

/// Before png_read_info: makes libpng treat IDAT as unknown and report each IDAT into `run`. libpng
/// still checks every chunk (CRC, order, limits); unknown ancillary chunks are dropped.
void kk_png_idat_install(png_structp png, kk_png_idat_run *run, const size_t *offset);

/// After png_read_end: 1 when the recorded IDAT run inflates to exactly the rows `info` describes
/// (every pass, every filter type 0...4) and the zlib stream ends with its last byte; 0 for anything
/// else, when the caller must ask libpng's row reader for the verdict.
int kk_png_idat_pristine(const kk_png_idat_run *run, const unsigned char *data, const kk_png_info *info);

/// Spare bytes after the rows kk_png_idat_inflate keeps: the unfilter's 4-byte loads may pass the end.
#define KK_PNG_RAW_SLACK 16

/// Whether the pristine decode takes a PNG of this header: 8-bit, non-interlaced, no palette, no
/// tRNS (its samples are then the output as they stand). Known before the first IDAT.
int kk_png_pristine_kind(const kk_png_info *info);

/// After png_read_end with the IDAT hook, for a PNG kk_png_pristine_kind takes: 1 with `*raw` owning
/// every row inflated whole (zlib, one output buffer), each led by its filter type (checked to be
/// 0...4), plus KK_PNG_RAW_SLACK zero bytes; the caller frees it. 0, with `*raw` NULL, for any other
/// PNG, image data over 64 MiB or a stream that is not pristine: libpng's row reader must then decode it.
int kk_png_idat_inflate(const kk_png_idat_run *run, const unsigned char *data, const kk_png_info *info,
                        unsigned char **raw);

/// The chunk walk and whole inflate of a pristine decode (png_shim.c): 1 with `*raw` (see
/// kk_png_idat_inflate), `*info` and, when `icc` is given and the PNG has one, the profile; 0 when
/// libpng's row reader must decode the PNG (another kind, not pristine, or `png_libpng_rows`).
int kk_png_read_pristine(const void *data, size_t size, const kk_decode_params *params, kk_png_info *info,
                         unsigned char **raw, void **icc, size_t *icc_size);

/// Unfilters row `y` of `raw` (rows of `stride` sample bytes, each led by its filter type; row y - 1
/// already unfiltered) where it lies and copies its samples to `out`.
void kk_png_raw_row(unsigned char *raw, uint32_t y, size_t stride, int bpp, unsigned char *out);

/// Reverses one row's filter (1 Sub, 2 Up, 3 Average, 4 Paeth; anything else: None) in place.
/// `row` holds `length` bytes of 8-bit samples, `bpp` bytes per pixel (1...4), readable for 4 bytes
/// past `length`; `above` is the row above, already unfiltered (NULL for the first row), likewise.
void kk_png_unfilter_row(unsigned char *row, const unsigned char *above, size_t length, int bpp, int filter);
