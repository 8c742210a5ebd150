// CImageCodecShims: the only C code of KlingKit's image path.
//
// Why it exists: libjpeg and libpng report fatal errors by longjmp() out of a handler (their default
// handlers exit() or abort() the process), and Swift cannot call setjmp. Every libjpeg/libpng call that
// can fail therefore runs inside one of the functions below, under a setjmp these functions own. They
// take `const void *` + `size_t` so Swift passes raw buffers, return a status code and fill a
// `kk_status` with the library's own message, and never expose a libjpeg/libpng type.
//
// Memory: buffers handed back through `void **` (encoded bytes, ICC profiles) are malloc'd and must be
// released with kk_free(). On failure nothing is handed back and nothing leaks.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes shared by every shim function (0 is success).
enum {
    KK_OK = 0,
    KK_CORRUPT = 1,          ///< the stream is damaged or truncated
    KK_UNSUPPORTED = 2,      ///< a valid stream this build cannot decode (12-bit, lossless, ...)
    KK_TOO_MANY_PIXELS = 3,  ///< the header declares more pixels than allowed
    KK_LIMIT = 4,            ///< a memory or work limit was hit (libjpeg memory, scan count)
    KK_INVALID_ARGUMENT = 5, ///< the caller passed something impossible (buffer too small, bad channels)
    KK_NO_MEMORY = 6,        ///< malloc failed
    KK_IO = 7,               ///< write(2) to the output failed (the message carries strerror)
};

/// The outcome of a shim call: a code and the library message (NUL-terminated, truncated to fit).
typedef struct kk_status {
    int code;
    int warnings;            ///< warnings the library emitted and that were tolerated
    char message[256];       ///< the fatal message, or the first tolerated warning when code == KK_OK
} kk_status;

/// The memory cap of every JPEG reader here (one-shot decode, verification, the streamed row and band
/// readers) when kk_decode_params.max_memory is 0: 64 MiB. It bounds libjpeg's own working memory, which
/// for a progressive (or other multi-scan) stream is every DCT coefficient of the image: components ×
/// blocks × 128 bytes, about 3 bytes per pixel at 4:2:0 and 6 at 4:4:4, so progressive images up to
/// about 22 MP (4:2:0) pass. That need is computed from the header and refused (KK_LIMIT) before any
/// scan is decoded; anything libjpeg allocates past the cap later fails the same way. The caller's
/// pixel buffer is not counted.
#define KK_DEFAULT_MAX_MEMORY ((uint64_t)64 << 20)

/// The scan limit of every JPEG reader here when kk_decode_params.max_scans is 0. Scans are counted
/// from the markers before decoding starts (each scan is a pass over every coefficient it touches), and
/// again while decoding.
#define KK_DEFAULT_MAX_SCANS 1000

/// Limits and modes for a decode.
typedef struct kk_decode_params {
    uint64_t max_pixels;     ///< refuse when width * height exceeds this (checked from the header)
    uint64_t max_memory;     ///< JPEG working-memory cap in bytes (0: KK_DEFAULT_MAX_MEMORY)
    int strict;              ///< JPEG: corrupt-data warnings (premature end, bad Huffman code, ...) fail as KK_CORRUPT
    int scale_denom;         ///< JPEG: 1, 2, 4 or 8 (DCT-domain downscale)
    int fast;                ///< JPEG: fast IDCT, no fancy upsampling, luma only when possible (verification)
    int max_scans;           ///< JPEG: refuse progressive streams with more scans than this (0: KK_DEFAULT_MAX_SCANS)
    int want_icc;            ///< keep the ICC profile
    int scale_eighths;       ///< JPEG: when 1...16, decode at scale_eighths/8 instead of 1/scale_denom (0: unused)
    int png_libpng_rows;     ///< PNG: decode every image through libpng's row reader, never the pristine path
} kk_decode_params;

/// JPEG colour spaces reported in kk_jpeg_info.color_space.
enum { KK_CS_UNKNOWN = 0, KK_CS_GRAY = 1, KK_CS_YCBCR = 2, KK_CS_RGB = 3, KK_CS_CMYK = 4, KK_CS_YCCK = 5 };

/// What the JPEG header says, plus the size a decode with the given params will produce.
typedef struct kk_jpeg_info {
    uint32_t width, height;               ///< as stored in SOFn
    uint32_t output_width, output_height; ///< after scale_denom
    int components;                       ///< components in the stream
    int output_channels;                  ///< 1 (gray) or 3 (RGB)
    int color_space;                      ///< KK_CS_*
    int precision;                        ///< sample precision (8; 12 and 16 are refused on decode)
    int progressive;
    int arithmetic;
} kk_jpeg_info;

/// Reads the JPEG header (up to the first scan) and fills `info`; allocates no pixel memory.
int kk_jpeg_read_info(const void *data, size_t size, const kk_decode_params *params,
                      kk_jpeg_info *info, kk_status *status);

/// Decodes a whole JPEG stream.
///
/// `pixels` must hold output_width * output_height * output_channels bytes (as kk_jpeg_read_info
/// reported for the same params). With `pixels == NULL` every scanline goes to one reused row buffer:
/// the stream is fully entropy-decoded and checked, and nothing is kept (verification).
/// The ICC profile, if asked for and present, is returned in `*icc` (free with kk_free).
int kk_jpeg_decode(const void *data, size_t size, const kk_decode_params *params,
                   void *pixels, size_t pixels_size, kk_jpeg_info *info,
                   void **icc, size_t *icc_size, kk_status *status);

/// The longest JPEG comment the encoder writes (bytes); a marker, not a place for documents.
#define KK_JPEG_COMMENT_MAX 255

/// JPEG encoder settings.
typedef struct kk_jpeg_encode_params {
    int quality;        ///< 1...100
    int subsampling;    ///< 420 or 444
    int progressive;
    int optimize;       ///< optimised Huffman tables
    uint32_t comment_size;           ///< bytes of `comment` to write as a COM segment (0: none)
    unsigned char comment[KK_JPEG_COMMENT_MAX];  ///< a COM segment's text, written after the header
} kk_jpeg_encode_params;

/// Encodes gray (channels 1) or RGB (channels 3) pixels, rows packed, into a malloc'd JPEG stream.
int kk_jpeg_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                   void **out, size_t *out_size, kk_status *status);

/// What the PNG header says and what a decode produces.
typedef struct kk_png_info {
    uint32_t width, height;
    int bit_depth;
    int color_type;       ///< PNG colour type 0, 2, 3, 4, 6
    int interlaced;
    int has_trns;
    int output_channels;  ///< 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (always 8-bit)
    int passes;           ///< 7 for Adam7, else 1
} kk_png_info;

/// Reads the PNG header through libpng (chunks up to the first IDAT); allocates no pixel memory.
int kk_png_read_info(const void *data, size_t size, const kk_decode_params *params,
                     kk_png_info *info, kk_status *status);

/// Decodes a whole PNG stream to 8-bit samples (16-bit scaled, palettes and tRNS expanded).
/// `pixels` must hold width * height * output_channels bytes. Reads through IEND, so truncation is an
/// error. A pristine 8-bit, non-interlaced PNG without palette or tRNS, with at most 64 MiB of image
/// data, is decoded with its image data inflated whole (zlib, as libpng) and unfiltered here
/// (png_unfilter.c), holding that data beside `pixels` for the while; libpng still reads every
/// chunk. Any other stream, and any not pristine, goes through libpng's row reader, whose verdict is
/// then the answer. With `pixels == NULL` nothing is kept (verification): libpng checks every chunk while the
/// image data is inflated and each row's filter type checked without unfiltering (png_verify.c); a
/// stream that is not pristine is read again by libpng's row reader, whose verdict is returned. With
/// `icc` too, every row goes through libpng's row reader.
int kk_png_decode(const void *data, size_t size, const kk_decode_params *params,
                  void *pixels, size_t pixels_size, kk_png_info *info,
                  void **icc, size_t *icc_size, kk_status *status);

/// PNG row filters for the encoder (bit set; 0 means libpng's adaptive default).
enum { KK_PNG_FILTER_NONE = 0x08, KK_PNG_FILTER_SUB = 0x10, KK_PNG_FILTER_UP = 0x20,
       KK_PNG_FILTER_AVG = 0x40, KK_PNG_FILTER_PAETH = 0x80, KK_PNG_FILTER_ALL = 0xF8 };

/// Encodes 8-bit pixels with 1...4 channels (gray, gray+alpha, RGB, RGBA) into a malloc'd PNG stream.
int kk_png_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                  int compression_level, int filters, const void *icc, size_t icc_size,
                  void **out, size_t *out_size, kk_status *status);

// MARK: - Streaming encoders
//
// Each writer encodes rows as they come and writes the stream to a file descriptor the caller opened
// (and closes), through one 64 KiB buffer: memory is the codec's working state, independent of the
// image's height. Every call runs libpng/libjpeg under a setjmp of its own; after any failure the writer
// refuses further calls with the same status, and the caller discards the partial output.

/// A PNG being written row by row (opaque).
typedef struct kk_png_writer kk_png_writer;

/// Starts a PNG on `fd`: writes the signature, IHDR and iCCP; the options mean what they mean for
/// kk_png_encode, which produces byte-identical output for the same pixels and options. zlib works in
/// its default window (32 KiB) and memory level 8, so deflate's state is about 256 KiB.
int kk_png_writer_open(int fd, uint32_t width, uint32_t height, int channels, int compression_level,
                       int filters, const void *icc, size_t icc_size, kk_png_writer **writer,
                       kk_status *status);

/// kk_png_writer_open writing into a growing malloc'd buffer instead of a descriptor, handed over by
/// kk_png_writer_finish. Memory: deflate's state plus the stream so far.
int kk_png_writer_open_memory(uint32_t width, uint32_t height, int channels, int compression_level,
                              int filters, const void *icc, size_t icc_size, kk_png_writer **writer,
                              kk_status *status);

/// Encodes the next `count` rows, each `width * channels` bytes, `stride` bytes apart in `rows`.
/// More rows than the image's height is KK_INVALID_ARGUMENT.
int kk_png_writer_write_rows(kk_png_writer *writer, const void *rows, size_t stride, uint32_t count,
                             kk_status *status);

/// Ends the stream (IEND) and flushes it to the descriptor; `*bytes` is the file's length. Every row
/// must have been written. Does not fsync or close the descriptor. A writer opened on memory hands its
/// stream over in `*out` (free with kk_free) when `out` is not NULL; pass NULL for a descriptor.
int kk_png_writer_finish(kk_png_writer *writer, uint64_t *bytes, void **out, kk_status *status);

/// Bytes of the stream produced so far (deflate holds back what it has not yet emitted): what a
/// caller with a byte budget compares between rows to give up early. 0 for NULL.
uint64_t kk_png_writer_bytes(const kk_png_writer *writer);

/// Releases the writer (finished or not); NULL is allowed.
void kk_png_writer_free(kk_png_writer *writer);

/// The one JPEG writer: rows (or planar bands) in, a JPEG out to a file descriptor (through one
/// 64 KiB buffer) or to a growing malloc'd buffer, behind one libjpeg destination manager (opaque).
typedef struct kk_jpeg_writer kk_jpeg_writer;

/// Starts a JPEG on `fd` (markers and the ICC profile). Gray (1) or RGB (3) channels; the settings are
/// kk_jpeg_encode's, so the same rows give the same bytes. A failed write(2) is KK_IO.
/// - Important: with `optimize` or `progressive` set, libjpeg keeps every DCT coefficient of the image
///   until the end (2 bytes per sample: 3 bytes per pixel at 4:2:0), so memory grows with the image;
///   with both off it holds only one MCU row (8 or 16 pixel rows).
int kk_jpeg_writer_open(int fd, uint32_t width, uint32_t height, int channels,
                        const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                        kk_jpeg_writer **writer, kk_status *status);

/// Compresses the next `count` scanlines, `stride` bytes apart in `rows`.
int kk_jpeg_writer_write_rows(kk_jpeg_writer *writer, const void *rows, size_t stride, uint32_t count,
                              kk_status *status);

/// Writes EOI and flushes; `*bytes` is the stream's length. Every scanline (or band) must have been
/// written. A writer opened on memory hands its stream over in `*out` (free with kk_free) when `out`
/// is not NULL; pass NULL for a descriptor.
int kk_jpeg_writer_finish(kk_jpeg_writer *writer, uint64_t *bytes, void **out, kk_status *status);

/// Bytes of the stream produced so far (libjpeg emits an MCU row at a time; with `optimize` or
/// `progressive`, nothing but the markers until finish). 0 for NULL.
uint64_t kk_jpeg_writer_bytes(const kk_jpeg_writer *writer);

/// Releases the writer (finished or not); NULL is allowed.
void kk_jpeg_writer_free(kk_jpeg_writer *writer);

/// Asks the kernel to back the 2 MiB-aligned interior of a large output buffer with transparent huge
/// pages (Linux MADV_HUGEPAGE; a no-op elsewhere or below 4 MiB). Filling a fresh 36 MB buffer costs
/// one page fault per 4 KiB otherwise, which on virtual machines is as slow as the decode itself.
void kk_advise_large_buffer(void *pointer, size_t size);

// MARK: - ICC colour conversion to sRGB (Little CMS 2; no lcms2 type crosses this header)

/// A prepared conversion from an embedded RGB profile to sRGB, 8 bits per sample (opaque).
typedef struct kk_icc_transform kk_icc_transform;

/// Parses `icc` (an embedded profile, as stored in APP2 or iCCP) and builds a transform from it to
/// sRGB with the perceptual intent (relative colorimetric where the profile has no perceptual table),
/// for pixels of `channels` samples: 3 (RGB) or 4 (RGBA: alpha copied through untouched).
/// A profile that does not parse is KK_CORRUPT; one whose data colour space is not RGB, or that lcms2
/// cannot link to sRGB, is KK_UNSUPPORTED. Each transform has its own lcms2 context: thread-safe to
/// create; one transform is used by one thread at a time.
int kk_icc_to_srgb_open(const void *icc, size_t icc_size, int channels, kk_icc_transform **transform,
                        kk_status *status);

/// Converts `pixels` pixels from `in` to `out` (they may be the same buffer).
void kk_icc_to_srgb_run(kk_icc_transform *transform, const void *in, void *out, size_t pixels);

/// Releases the transform; NULL is allowed.
void kk_icc_transform_free(kk_icc_transform *transform);

/// Releases a buffer a shim function handed back.
void kk_free(void *pointer);

#ifdef __cplusplus
}
#endif
