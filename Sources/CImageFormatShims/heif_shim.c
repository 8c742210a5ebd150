// HEIF/HEIC and AVIF decoding through libheif (Debian 12: 1.15, HEVC via libde265, AV1 via dav1d/aom).
//
// Every libheif call returns a `struct heif_error` (or a count/NULL) that is checked where it happens.
// What libheif does for us, per its heif.h: the primary image is decoded with the file's geometric
// transformations (irot, imir, clap) applied, as ISO/IEC 23008-12 requires; a 'grid' primary image is
// assembled from its tiles. What we add: the pixel limit checked on the declared (transformed) size
// before decoding, a tile-count limit read from the 'iref' box (libheif 1.15 has no API for it), and
// 10/12-bit samples rounded to 8 bits ourselves (libheif's own conversion truncates).
#include "kkf_internal.h"

#include <libheif/heif.h>
#include <stdlib.h>

#define KKF_DEFAULT_MAX_TILES 1024

static int map_heif_error(struct heif_error err, kkf_status *status) {
    int code = KKF_CORRUPT;
    switch (err.code) {
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature:
        code = KKF_UNSUPPORTED;
        break;
    case heif_error_Memory_allocation_error:
        code = err.subcode == heif_suberror_Security_limit_exceeded ? KKF_LIMIT : KKF_NO_MEMORY;
        break;
    case heif_error_Usage_error:
        code = KKF_INVALID_ARGUMENT;
        break;
    default:
        break;
    }
    if (err.subcode == heif_suberror_Security_limit_exceeded) code = KKF_LIMIT;
    return kkf_fail(status, code, "%s", err.message && err.message[0] ? err.message : "libheif failed");
}

// MARK: - A bounded ISO BMFF walk for the primary item's 'dimg' reference count

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

/// Reads the box header at p[0..n): size and type; returns the header length (8 or 16) or 0 when the
/// box does not fit. A size of 0 means "to the end".
static size_t box_at(const uint8_t *p, size_t n, uint64_t *size, uint32_t *type) {
    if (n < 8) return 0;
    uint64_t s = be32(p);
    *type = be32(p + 4);
    size_t header = 8;
    if (s == 1) {
        if (n < 16) return 0;
        s = (uint64_t)be32(p + 8) << 32 | be32(p + 12);
        header = 16;
    } else if (s == 0) {
        s = n;
    }
    if (s < header || s > n) return 0;
    *size = s;
    return header;
}

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/// How many items the primary item references with 'dimg' (a grid's tiles, an overlay's layers):
/// pitm and iref inside the top-level meta box (ISO/IEC 14496-12 8.11.4 and 8.11.12). -1 when the
/// structure cannot be followed (libheif then judges the file).
static long primary_dimg_count(const uint8_t *data, size_t size) {
    const uint8_t *meta = NULL;
    size_t meta_len = 0;
    size_t off = 0;
    while (off < size) {
        uint64_t bs;
        uint32_t type;
        size_t h = box_at(data + off, size - off, &bs, &type);
        if (!h) return -1;
        if (type == FOURCC('m', 'e', 't', 'a')) {
            if (bs < h + 4) return -1;
            meta = data + off + h + 4;  // full box: version and flags
            meta_len = (size_t)bs - h - 4;
            break;
        }
        off += (size_t)bs;
    }
    if (!meta) return -1;
    long primary = -1;
    const uint8_t *iref = NULL;
    size_t iref_len = 0;
    for (off = 0; off < meta_len;) {
        uint64_t bs;
        uint32_t type;
        size_t h = box_at(meta + off, meta_len - off, &bs, &type);
        if (!h) return -1;
        const uint8_t *body = meta + off + h;
        size_t body_len = (size_t)bs - h;
        if (type == FOURCC('p', 'i', 't', 'm') && body_len >= 6) {
            primary = body[0] == 0 ? (long)be16(body + 4) : (body_len >= 8 ? (long)be32(body + 4) : -1);
        } else if (type == FOURCC('i', 'r', 'e', 'f')) {
            iref = body;
            iref_len = body_len;
        }
        off += (size_t)bs;
    }
    if (primary < 0) return -1;
    if (!iref) return 0;
    if (iref_len < 4) return -1;
    int wide = iref[0] != 0;  // version 1: 32-bit item IDs
    size_t id = wide ? 4 : 2;
    long count = 0;
    for (off = 4; off < iref_len;) {
        uint64_t bs;
        uint32_t type;
        size_t h = box_at(iref + off, iref_len - off, &bs, &type);
        if (!h) return -1;
        const uint8_t *r = iref + off + h;
        size_t rl = (size_t)bs - h;
        if (rl < id + 2) return -1;
        long from = wide ? (long)be32(r) : (long)be16(r);
        long refs = (long)be16(r + id);
        if (type == FOURCC('d', 'i', 'm', 'g') && from == primary) count += refs;
        off += (size_t)bs;
    }
    return count;
}

// MARK: - Probe

static int exif_orientation(const struct heif_image_handle *handle) {
    heif_item_id id;
    if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) < 1) return 1;
    size_t n = heif_image_handle_get_metadata_size(handle, id);
    if (n < 4 || n > (16u << 20)) return 1;
    uint8_t *block = malloc(n);
    if (!block) return 1;
    int orientation = 1;
    struct heif_error err = heif_image_handle_get_metadata(handle, id, block);
    if (err.code == heif_error_Ok) {
        // The block starts with a 32-bit offset to the TIFF header (ISO/IEC 23008-12 Annex A.2.1).
        uint32_t skip = be32(block);
        if (skip <= n - 4) orientation = kkf_tiff_orientation(block + 4 + skip, n - 4 - skip);
    }
    free(block);
    return orientation;
}

/// Opens the context (limits set before reading) and the primary handle, and fills `info`.
static int open_primary(const void *data, size_t size, const kkf_limits *limits, struct heif_context **out_ctx,
                        struct heif_image_handle **out_handle, kkf_heif_info *info, kkf_status *status) {
    *out_ctx = NULL;
    *out_handle = NULL;
    memset(info, 0, sizeof *info);
    if (!data || size < 12 || size > INT32_MAX) return kkf_fail(status, KKF_CORRUPT, "too short or too long for a HEIF file");
    if (heif_check_filetype(data, (int)size) == heif_filetype_no) {
        return kkf_fail(status, KKF_CORRUPT, "not a HEIF file (no ftyp box with a HEIF brand)");
    }
    uint64_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : 100000000u;
    int max_tiles = limits && limits->max_tiles > 0 ? limits->max_tiles : KKF_DEFAULT_MAX_TILES;

    // The tile count first: it needs no libheif state at all.
    long tiles = primary_dimg_count(data, size);
    if (tiles > max_tiles) {
        return kkf_fail(status, KKF_LIMIT, "the primary image is assembled from %ld tiles, more than the limit of %d", tiles, max_tiles);
    }

    struct heif_context *ctx = heif_context_alloc();
    if (!ctx) return kkf_fail(status, KKF_NO_MEMORY, "heif_context_alloc failed");
    // libheif's own per-side security limit; our pixel limit is checked below with a clearer message.
    uint64_t side = max_pixels < (1u << 20) ? max_pixels : (1u << 20);
    heif_context_set_maximum_image_size_limit(ctx, (int)side);
    heif_context_set_max_decoding_threads(ctx, limits ? (limits->threads > 0 ? limits->threads : 0) : 0);
    struct heif_error err = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (err.code != heif_error_Ok) {
        int rc = map_heif_error(err, status);  // err.message lives in ctx: copy it before freeing
        heif_context_free(ctx);
        return rc;
    }
    struct heif_image_handle *handle = NULL;
    err = heif_context_get_primary_image_handle(ctx, &handle);
    if (err.code != heif_error_Ok || !handle) {
        int rc = err.code != heif_error_Ok ? map_heif_error(err, status) : kkf_fail(status, KKF_CORRUPT, "no primary image");
        if (handle) heif_image_handle_release(handle);
        heif_context_free(ctx);
        return rc;
    }
    int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
    info->width = w > 0 ? (uint32_t)w : 0;
    info->height = h > 0 ? (uint32_t)h : 0;
    int sw = heif_image_handle_get_ispe_width(handle), sh = heif_image_handle_get_ispe_height(handle);
    info->stored_width = sw > 0 ? (uint32_t)sw : info->width;
    info->stored_height = sh > 0 ? (uint32_t)sh : info->height;
    info->has_alpha = heif_image_handle_has_alpha_channel(handle) != 0;
    info->bit_depth = heif_image_handle_get_luma_bits_per_pixel(handle);
    info->image_count = heif_context_get_number_of_top_level_images(ctx);
    info->tiles = tiles > 0 ? (int)tiles : 0;
    info->is_avif = heif_read_main_brand(data, (int)size) == heif_fourcc_to_brand("avif")
        || heif_read_main_brand(data, (int)size) == heif_fourcc_to_brand("avis");
    info->exif_orientation = exif_orientation(handle);

    enum heif_color_profile_type kind = heif_image_handle_get_color_profile_type(handle);
    if (kind == heif_color_profile_type_prof || kind == heif_color_profile_type_rICC) {
        info->color_kind = KKF_COLOR_ICC;
    } else {
        struct heif_color_profile_nclx *nclx = NULL;
        // libheif 1.15 can allocate the profile and still return an error (an unknown primaries code,
        // found by fuzz/run-formats.sh as a 52-byte leak per call): free it whatever the answer.
        struct heif_error nclx_err = heif_image_handle_get_nclx_color_profile(handle, &nclx);
        if (nclx_err.code != heif_error_Ok && nclx) {
            heif_nclx_color_profile_free(nclx);
            nclx = NULL;
        }
        if (nclx) {
            info->color_kind = KKF_COLOR_NCLX;
            info->primaries = nclx->color_primaries;
            info->transfer = nclx->transfer_characteristics;
            info->matrix = nclx->matrix_coefficients;
            info->full_range = nclx->full_range_flag;
            float xy[8] = {nclx->color_primary_red_x, nclx->color_primary_red_y, nclx->color_primary_green_x,
                           nclx->color_primary_green_y, nclx->color_primary_blue_x, nclx->color_primary_blue_y,
                           nclx->color_primary_white_x, nclx->color_primary_white_y};
            memcpy(info->primaries_xy, xy, sizeof xy);
            heif_nclx_color_profile_free(nclx);
        }
    }

    if (w <= 0 || h <= 0) {
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return kkf_fail(status, KKF_CORRUPT, "the primary image has no size");
    }
    if (info->bit_depth <= 0) {
        // No decoder configuration (hvcC/av1C) for the primary image: the codec would size its frames
        // from parameter sets in the data alone, unchecked against 'ispe' (a 14 KB fuzzed file made
        // libde265 allocate 1.1 GB this way). Real encoders always write the configuration box.
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return kkf_fail(status, KKF_CORRUPT, "the primary image has no decoder configuration (hvcC/av1C)");
    }
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return kkf_fail(status, KKF_TOO_MANY_PIXELS, "%dx%d is more than the limit of %llu pixels", w, h,
                        (unsigned long long)max_pixels);
    }
    // The decoder sizes its frames from the codec's parameter sets, not from 'ispe'; libheif 1.15 checks
    // a decoded frame only against the per-side limit. Tighten that limit to the declared size plus the
    // largest coding-block padding (HEVC CTB 64, AV1 superblock 128) so a frame the header does not
    // declare is refused before its planes are allocated (a fuzzed 14 KB file asked for 57840x38746).
    uint32_t stored_side = info->stored_width > info->stored_height ? info->stored_width : info->stored_height;
    uint32_t display_side = info->width > info->height ? info->width : info->height;
    uint64_t frame_side = (uint64_t)(stored_side > display_side ? stored_side : display_side) + 128;
    if (frame_side < side) heif_context_set_maximum_image_size_limit(ctx, (int)frame_side);
    *out_ctx = ctx;
    *out_handle = handle;
    return KKF_OK;
}

int kkf_heif_probe(const void *data, size_t size, const kkf_limits *limits, kkf_heif_info *info, kkf_status *status) {
    struct heif_context *ctx;
    struct heif_image_handle *handle;
    int rc = open_primary(data, size, limits, &ctx, &handle, info, status);
    if (rc != KKF_OK) return rc;
    heif_image_handle_release(handle);
    heif_context_free(ctx);
    kkf_ok(status);
    return KKF_OK;
}

// MARK: - Decode

int kkf_heif_decode(const void *data, size_t size, const kkf_limits *limits, int channels,
                    uint8_t *out, size_t out_size, kkf_heif_info *info,
                    void **icc, size_t *icc_size, kkf_status *status) {
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    if (channels != 3 && channels != 4) return kkf_fail(status, KKF_INVALID_ARGUMENT, "channels must be 3 or 4");
    struct heif_context *ctx;
    struct heif_image_handle *handle;
    int rc = open_primary(data, size, limits, &ctx, &handle, info, status);
    if (rc != KKF_OK) return rc;
    size_t need = kkf_byte_count(info->width, info->height, (uint64_t)channels);
    if (!out || need == 0 || out_size < need) {
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return kkf_fail(status, KKF_INVALID_ARGUMENT, "output buffer of %zu bytes, %zu needed", out_size, need);
    }

    int deep = info->bit_depth > 8;
    enum heif_chroma chroma = channels == 4
        ? (deep ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RGBA)
        : (deep ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RGB);
    struct heif_decoding_options *options = heif_decoding_options_alloc();
    if (!options) {
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return kkf_fail(status, KKF_NO_MEMORY, "heif_decoding_options_alloc failed");
    }
    options->ignore_transformations = 0;  // irot/imir/clap applied, as HEIF requires
    options->strict_decoding = 1;         // damaged input fails instead of yielding partial pixels
    struct heif_image *image = NULL;
    struct heif_error err = heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, options);
    heif_decoding_options_free(options);
    if (err.code != heif_error_Ok || !image) {
        // The message may live in the context or the image: copy it before releasing either.
        rc = err.code != heif_error_Ok ? map_heif_error(err, status) : kkf_fail(status, KKF_CORRUPT, "no image decoded");
        if (image) heif_image_release(image);
        heif_image_handle_release(handle);
        heif_context_free(ctx);
        return rc;
    }
    rc = KKF_OK;
    int iw = heif_image_get_width(image, heif_channel_interleaved);
    int ih = heif_image_get_height(image, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    if (!plane || iw != (int)info->width || ih != (int)info->height || stride <= 0) {
        rc = kkf_fail(status, KKF_CORRUPT, "decoded %dx%d, header said %ux%u", iw, ih, info->width, info->height);
    } else if (!deep) {
        size_t row = (size_t)iw * (size_t)channels;
        for (int y = 0; y < ih; y++) memcpy(out + (size_t)y * row, plane + (size_t)y * (size_t)stride, row);
    } else {
        int bits = heif_image_get_bits_per_pixel_range(image, heif_channel_interleaved);
        if (bits <= 8 || bits > 16) {
            rc = kkf_fail(status, KKF_UNSUPPORTED, "%d-bit samples", bits);
        } else {
            // Rounded rescale v * 255 / (2^bits - 1), exact for every code value.
            uint32_t max = (1u << bits) - 1, half = max / 2;
            size_t samples = (size_t)iw * (size_t)channels;
            for (int y = 0; y < ih; y++) {
                const uint8_t *src = plane + (size_t)y * (size_t)stride;
                uint8_t *dst = out + (size_t)y * samples;
                for (size_t i = 0; i < samples; i++) {
                    uint32_t v = (uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8;
                    if (v > max) v = max;
                    dst[i] = (uint8_t)((v * 255u + half) / max);
                }
            }
        }
    }
    if (rc == KKF_OK && info->color_kind == KKF_COLOR_ICC && icc && icc_size) {
        size_t n = heif_image_handle_get_raw_color_profile_size(handle);
        if (n > 0 && n < (64u << 20)) {
            void *profile = malloc(n);
            if (!profile) {
                rc = kkf_fail(status, KKF_NO_MEMORY, "ICC profile of %zu bytes", n);
            } else if (heif_image_handle_get_raw_color_profile(handle, profile).code != heif_error_Ok) {
                free(profile);  // an unreadable profile is dropped: the pixels are still good
            } else {
                *icc = profile;
                *icc_size = n;
            }
        }
    }
    heif_image_release(image);
    heif_image_handle_release(handle);
    heif_context_free(ctx);
    if (rc == KKF_OK) kkf_ok(status);
    return rc;
}

void kkf_free(void *pointer) { free(pointer); }
