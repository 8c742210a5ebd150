// CImageFormatShims: decoders for the formats Kling's API refuses but `klingkit prepare` converts
// (HEIF/HEIC and AVIF through libheif, WebP through libwebp), and the nclx -> ICC bridge (lcms2).
//
// Why it exists: the libraries' C types must not reach Swift's public API, and every call that can fail
// must be checked where it happens: libheif returns a `struct heif_error` from each call and libwebp a
// status code, so (unlike libjpeg/libpng) no setjmp is needed. Each function takes `const void *` +
// `size_t`, checks the header's pixel count against the caller's limit *before* anything is decoded or
// allocated, returns a KKF_* code and fills `kkf_status` with the library's own message.
//
// Memory: buffers handed back through `void **` (ICC profiles, EXIF blocks) are malloc'd and released
// with kkf_free(). On failure nothing is handed back and nothing leaks.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes (0 is success). The same meanings as CImageCodecShims' KK_* codes.
enum {
    KKF_OK = 0,
    KKF_CORRUPT = 1,          ///< damaged, truncated or impossible stream
    KKF_UNSUPPORTED = 2,      ///< valid, but this build cannot decode it (no plugin for the codec, ...)
    KKF_TOO_MANY_PIXELS = 3,  ///< the header declares more pixels than allowed
    KKF_LIMIT = 4,            ///< a work limit was hit (grid tile count, libheif security limit)
    KKF_INVALID_ARGUMENT = 5, ///< buffer too small, bad channel count
    KKF_NO_MEMORY = 6,        ///< malloc failed
};

/// The outcome of a shim call: a code and the library's message (NUL-terminated, truncated to fit).
typedef struct kkf_status {
    int code;
    char message[256];
} kkf_status;

/// Limits for a probe or decode.
typedef struct kkf_limits {
    uint64_t max_pixels;  ///< refuse when width * height (as declared) exceeds this
    int max_tiles;        ///< HEIF: refuse a grid image made of more tiles than this (0: 1024)
    int threads;          ///< HEIF: libheif's tile-decoding threads (0: decode tiles on the calling thread)
} kkf_limits;

/// Colour description kinds in kkf_heif_info.color_kind.
enum { KKF_COLOR_NONE = 0, KKF_COLOR_NCLX = 1, KKF_COLOR_ICC = 2 };

/// What a HEIF/AVIF file says about its primary image, without decoding it.
typedef struct kkf_heif_info {
    uint32_t width, height;           ///< after the file's transformations (irot/imir/clap)
    uint32_t stored_width, stored_height; ///< as coded ('ispe')
    int has_alpha;
    int bit_depth;                    ///< luma bits per sample (8, 10, 12)
    int image_count;                  ///< top-level images in the file (the primary is decoded)
    int tiles;                        ///< tiles of a 'grid' primary image, 0 when not a grid
    int is_avif;                      ///< the primary item is AV1 ('av01'), else HEVC ('hvc1') or other
    int color_kind;                   ///< KKF_COLOR_*
    int primaries, transfer, matrix, full_range; ///< nclx values (when color_kind == NCLX)
    float primaries_xy[8];            ///< red x,y, green x,y, blue x,y, white x,y (nclx, from libheif)
    int exif_orientation;             ///< the EXIF block's orientation, 1 when absent (HEIF ignores it)
} kkf_heif_info;

/// Reads a HEIF/AVIF container and describes its primary image. Checks the pixel and tile limits.
int kkf_heif_probe(const void *data, size_t size, const kkf_limits *limits, kkf_heif_info *info, kkf_status *status);

/// Decodes the primary image with its transformations applied, into `out` (width * height * channels
/// bytes, channels 3 = RGB or 4 = RGBA). 10/12-bit samples are scaled to 8 bits with rounding.
/// When the file carries an ICC profile it is returned in `*icc` (kkf_free it); nclx is described in
/// `info` (see kkf_nclx_icc to turn it into a profile).
int kkf_heif_decode(const void *data, size_t size, const kkf_limits *limits, int channels,
                    uint8_t *out, size_t out_size, kkf_heif_info *info,
                    void **icc, size_t *icc_size, kkf_status *status);

/// What a WebP file says, without decoding pixels.
typedef struct kkf_webp_info {
    uint32_t width, height;   ///< the canvas (the first frame's size for a simple file)
    int has_alpha;
    int is_animated;
    int frame_count;          ///< 1 for a still image
    int is_lossless;          ///< the first frame is VP8L
    int orientation;          ///< from the EXIF chunk, 1 when absent or out of range
    int has_icc;
} kkf_webp_info;

/// Reads a WebP's RIFF structure (WebPDemux) and describes it. Checks the pixel limit.
int kkf_webp_probe(const void *data, size_t size, const kkf_limits *limits, kkf_webp_info *info, kkf_status *status);

/// Decodes a still WebP, or the first frame of an animated one placed on its (transparent) canvas,
/// into `out` (width * height * channels bytes, 3 = RGB or 4 = RGBA). EXIF orientation is reported in
/// `info`, not applied. The ICCP chunk, if any, is returned in `*icc` (kkf_free it).
int kkf_webp_decode(const void *data, size_t size, const kkf_limits *limits, int channels,
                    uint8_t *out, size_t out_size, kkf_webp_info *info,
                    void **icc, size_t *icc_size, kkf_status *status);

/// Builds an RGB ICC profile (v4, lcms2) for nclx colour primaries (CIE xy of red, green, blue, white)
/// and a transfer characteristic code (ITU-T H.273): 1/6/14/15 BT.709 curve, 13 sRGB, 8 linear,
/// 4 gamma 2.2, 5 gamma 2.8. Returns KKF_UNSUPPORTED for other transfers (PQ, HLG: HDR needs tone
/// mapping, not a profile).
int kkf_nclx_icc(const float primaries_xy[8], int transfer, void **icc, size_t *icc_size, kkf_status *status);

/// Releases a buffer handed back by this module.
void kkf_free(void *pointer);

#ifdef __cplusplus
}
#endif
