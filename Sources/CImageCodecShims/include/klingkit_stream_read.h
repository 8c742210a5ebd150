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

/// kk_png_to_jpeg reading the PNG from `fd` (from its current offset, through a 64 KiB buffer) instead
/// of memory, so not even the compressed file is held. The caller opens and closes the descriptor.
/// A failed read(2) is KK_IO; a short file is KK_CORRUPT ("unexpected end of PNG data").
int kk_png_fd_to_jpeg(int fd, const kk_decode_params *params,
                      const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                      kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status);

// MARK: - PNG rows in (memory or file descriptor)

/// A PNG being decoded a few rows at a time (opaque). Every call runs libpng under a setjmp of its own;
/// after a failure the reader refuses further calls with the same status.
typedef struct kk_png_reader kk_png_reader;

/// Reads the header with the transforms and limits of kk_png_decode (8-bit gray, gray+alpha, RGB or
/// RGBA; the pixel limit; the iCCP cap) and refuses an interlaced (Adam7) PNG with KK_UNSUPPORTED: its
/// rows do not arrive in order. `data` must stay valid and unchanged until kk_png_reader_free. The ICC
/// profile, when `params->want_icc` is set and there is one, is returned in `*icc` (free with kk_free).
/// Memory: libpng's row state (two rows and zlib's window), not the image; except for the pristine
/// PNGs kk_png_decode takes its fast way (8-bit, no palette or tRNS, at most 64 MiB of image data),
/// whose inflated image data is held from here to kk_png_reader_free (and which then fail here, or not at all).
int kk_png_reader_open(const void *data, size_t size, const kk_decode_params *params, kk_png_info *info,
                       void **icc, size_t *icc_size, kk_png_reader **reader, kk_status *status);

/// kk_png_reader_open reading from `fd` (from its current offset, through a 64 KiB buffer), so not even
/// the compressed file is held. The caller opens the descriptor and closes it after kk_png_reader_free.
/// A failed read(2) is KK_IO; a short file is KK_CORRUPT ("unexpected end of PNG data").
int kk_png_reader_open_fd(int fd, const kk_decode_params *params, kk_png_info *info,
                          void **icc, size_t *icc_size, kk_png_reader **reader, kk_status *status);

/// Decodes the next `count` rows (width * output_channels bytes each, `stride` apart; 0 means packed)
/// into `rows`, the same bytes kk_png_decode gives those rows; more rows than remain is KK_INVALID_ARGUMENT.
int kk_png_reader_read_rows(kk_png_reader *reader, void *rows, size_t stride, uint32_t count, kk_status *status);

/// Decodes and drops any rows left, then reads through IEND: damage or truncation anywhere fails here.
int kk_png_reader_finish(kk_png_reader *reader, kk_status *status);

/// Releases the reader (finished or not); NULL is allowed.
void kk_png_reader_free(kk_png_reader *reader);

// MARK: - JPEG rows in, JPEG rows out (memory)

/// A JPEG being decoded band by band from memory (opaque). Every call runs libjpeg under a setjmp of
/// its own; after a failure the reader refuses further calls with the same status.
typedef struct kk_jpeg_reader kk_jpeg_reader;

/// Reads the header and starts decompression with `params` (limits, strict mode, DCT scale, ICC), as
/// kk_jpeg_decode does: gray stays gray, YCbCr/RGB/CMYK/YCCK come out RGB. `data` must stay valid and
/// unchanged until kk_jpeg_reader_free. The ICC profile, if asked for and present, is returned in
/// `*icc` (free with kk_free). Memory: libjpeg's working state (one MCU row, or the coefficients of a
/// progressive image) plus one row when CMYK is converted.
int kk_jpeg_reader_open(const void *data, size_t size, const kk_decode_params *params, kk_jpeg_info *info,
                        void **icc, size_t *icc_size, kk_jpeg_reader **reader, kk_status *status);

/// Decodes the next `count` rows (output_width * output_channels bytes each, `stride` apart) into
/// `rows`; asking for more rows than remain is KK_INVALID_ARGUMENT.
int kk_jpeg_reader_read_rows(kk_jpeg_reader *reader, void *rows, size_t stride, uint32_t count, kk_status *status);

/// Decodes and drops any rows left, then reads through EOI: a truncated stream fails here
/// ("Premature end of JPEG file" in strict mode).
int kk_jpeg_reader_finish(kk_jpeg_reader *reader, kk_status *status);

/// Releases the reader (finished or not); NULL is allowed.
void kk_jpeg_reader_free(kk_jpeg_reader *reader);

// MARK: - Planar (raw YCbCr or gray) bands

/// How one band of planar samples is laid out: a band is one iMCU row of the stream (for 4:2:0 at full
/// scale, 16 luma rows and 8 rows of each chroma plane), all planes in one buffer, plane after plane.
typedef struct kk_jpeg_planes {
    int count;                    ///< planes: 1 (Y of a gray image) or 3 (Y, Cb, Cr)
    uint32_t width[3];            ///< samples per row that belong to the image
    uint32_t height[3];           ///< rows that belong to the image
    uint32_t stride[3];           ///< bytes per row in a band (whole DCT blocks, so ≥ width)
    uint32_t band_rows[3];        ///< rows of each plane in one band
    uint32_t sub_x[3], sub_y[3];  ///< image pixels per plane sample (1, or 2 for subsampled chroma)
    size_t offset[3];             ///< where each plane's first row starts in a band
    size_t band_bytes;            ///< the size of one band buffer
    uint32_t bands;               ///< bands in the image
} kk_jpeg_planes;

/// kk_jpeg_reader_open for planar output: the decoder stops before upsampling and colour conversion and
/// hands out Y (gray) or Y, Cb, Cr planes as stored, after DCT scaling, one band at a time. Only
/// baseline or progressive YCbCr with luma at the largest sampling factor and chroma subsampled by 1 or
/// 2 on each axis, or gray, qualifies; anything else (RGB, CMYK, YCCK, odd factors) is KK_UNSUPPORTED
/// with nothing decoded, so the caller can use kk_jpeg_reader_open instead. `*planes` describes the bands.
/// Memory: as kk_jpeg_reader_open, plus one band for kk_jpeg_reader_finish.
int kk_jpeg_reader_open_planes(const void *data, size_t size, const kk_decode_params *params, kk_jpeg_info *info,
                               void **icc, size_t *icc_size, kk_jpeg_planes *planes, kk_jpeg_reader **reader,
                               kk_status *status);

/// Decodes the next band into `band` (planes->band_bytes bytes, laid out as kk_jpeg_planes says). Rows
/// and columns past a plane's width and height in the last band hold nothing meaningful. Reading past
/// the last band is KK_INVALID_ARGUMENT. kk_jpeg_reader_finish drops the bands not read and checks the
/// stream through EOI.
int kk_jpeg_reader_read_band(kk_jpeg_reader *reader, void *band, kk_status *status);

// MARK: - JPEG rows in, JPEG out (memory)

/// Starts a kk_jpeg_writer on a growing malloc'd buffer. With `planes == NULL` it takes gray (1) or RGB
/// (3) rows (kk_jpeg_writer_write_rows); otherwise planar bands: Y (channels 1) or Y, Cb, Cr at the
/// sampling of `params` (4:2:0 or 4:4:4), so no colour conversion or downsampling runs, and `*planes`
/// describes the bands to pass to kk_jpeg_writer_write_band. Memory: one MCU row plus the output (plus
/// every coefficient when `optimize` or `progressive` is set). kk_jpeg_writer_finish hands the stream over.
int kk_jpeg_writer_open_memory(uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                               const void *icc, size_t icc_size, kk_jpeg_planes *planes,
                               kk_jpeg_writer **writer, kk_status *status);

/// Compresses the next band (laid out as kk_jpeg_writer_open_memory said). The band is padded in
/// place first: columns past each plane's width repeat its last sample, rows past its height (last band
/// only) repeat its last row, which keeps edge blocks smooth and small.
int kk_jpeg_writer_write_band(kk_jpeg_writer *writer, void *band, kk_status *status);

#ifdef __cplusplus
}
#endif
