// libpng under setjmp: the one error/warning policy, header read and decode (full or verify-only).
// The encoders are in png_writer.c, the row reader in png_reader.c; both get their libpng structs
// from here, so every libpng object reports the same way; png_verify.c takes the image data of a
// verify-only read. See include/klingkit_codec_shims.h.
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdio.h>
#include <png.h>

#include "klingkit_codec_shims.h"
#include "kk_internal.h"

static void kk_png_error(png_structp png, png_const_charp message) {
    kk_png_context *context = (kk_png_context *)png_get_error_ptr(png);
    if (context->status->code == KK_OK) context->status->code = KK_CORRUPT;
    kk_copy_message(context->status, message ? message : "libpng error");
    longjmp(context->jump, 1);
}

/// Warnings that mean an ancillary chunk would inflate past KK_PNG_CHUNK_MAX (a decompression bomb, the
/// iCCP one above all): libpng drops the chunk and goes on, but such a file is refused, never passed on.
static int kk_png_warning_is_fatal(const char *message) {
    return strstr(message, "exceeds application limits") != NULL || strstr(message, "exceeds memory limits") != NULL;
}

static void kk_png_warning(png_structp png, png_const_charp message) {
    kk_png_context *context = (kk_png_context *)png_get_error_ptr(png);
    if (message && kk_png_warning_is_fatal(message)) {
        context->status->code = KK_LIMIT;
        kk_copy_message(context->status, message);
        longjmp(context->jump, 1);
    }
    context->status->warnings++;
    if (context->status->message[0] == '\0') kk_copy_message(context->status, message ? message : "libpng warning");
}

png_structp kk_png_create_reader(kk_png_context *context, png_infop *info) {
    *info = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, kk_png_error, kk_png_warning);
    if (png) *info = png_create_info_struct(png);
    if (!png || !*info) {
        png_destroy_read_struct(&png, NULL, NULL);
        kk_set_status(context->status, KK_NO_MEMORY, "out of memory");
        return NULL;
    }
    return png;
}

png_structp kk_png_create_writer(kk_png_context *context, png_infop *info) {
    *info = NULL;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, context, kk_png_error, kk_png_warning);
    if (png) *info = png_create_info_struct(png);
    if (!png || !*info) {
        png_destroy_write_struct(&png, NULL);
        kk_set_status(context->status, KK_NO_MEMORY, "out of memory");
        return NULL;
    }
    return png;
}

// MARK: - Reading

typedef struct kk_png_source {
    const unsigned char *data;
    size_t size;
    size_t offset;
} kk_png_source;

static void kk_png_read(png_structp png, png_bytep out, size_t length) {
    kk_png_source *source = (kk_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) png_error(png, "unexpected end of PNG data (truncated file)");
    memcpy(out, source->data + source->offset, length);
    source->offset += length;
}

/// Ancillary chunks KlingKit never uses: libpng skips them (CRC still checked) instead of
/// decompressing zTXt/iTXt text (the decompression-bomb route) or storing them.
static const png_byte kk_png_ignored[] =
    "tEXt\0zTXt\0iTXt\0sPLT\0hIST\0pCAL\0sCAL\0tIME\0sTER\0eXIf\0";

/// Sets libpng's limits and the chunks it skips (see kk_png_start). Runs inside the caller's setjmp.
static void kk_png_configure_reader(png_structp png, int want_icc) {
    // Our pixel limit is the contract; libpng's per-side limit only guards the PNG range.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_cache_max(png, 128);              // ancillary chunks kept
    png_set_chunk_malloc_max(png, KK_PNG_CHUNK_MAX);  // largest chunk (or decompressed iCCP) kept
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kk_png_ignored,
                                (int)(sizeof kk_png_ignored - 1) / 5);
    // iCCP is always read, even when the profile is not wanted: libpng then checks its declared and
    // inflated size against the cap (kk_png_warning_is_fatal), so a profile bomb is refused by every
    // reader, verification included, instead of being skipped here and copied on.
    (void)want_icc;
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
}

static int kk_png_setup(png_structp png, png_infop info_ptr, kk_png_source *source,
                        const kk_decode_params *params, kk_png_info *info, kk_status *status) {
    png_set_read_fn(png, source, kk_png_read);
    return kk_png_start(png, info_ptr, params, info, status);
}

int kk_png_start(png_structp png, png_infop info_ptr, const kk_decode_params *params, kk_png_info *info,
                 kk_status *status) {
    kk_png_configure_reader(png, params->want_icc);
    png_read_info(png, info_ptr);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info_ptr, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    memset(info, 0, sizeof *info);
    info->width = width;
    info->height = height;
    info->bit_depth = bit_depth;
    info->color_type = color_type;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    info->has_trns = png_get_valid(png, info_ptr, PNG_INFO_tRNS) ? 1 : 0;

    uint64_t pixels = (uint64_t)width * (uint64_t)height;
    if (params->max_pixels && pixels > params->max_pixels) {
        status->code = KK_TOO_MANY_PIXELS;
        snprintf(status->message, sizeof status->message, "%ux%u is %llu pixels, more than the limit of %llu",
                 width, height, (unsigned long long)pixels, (unsigned long long)params->max_pixels);
        return KK_TOO_MANY_PIXELS;
    }
    if (bit_depth == 16) png_set_scale_16(png);  // accurate 16 -> 8 (rounds), not truncation
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (info->has_trns) png_set_tRNS_to_alpha(png);
    // Before png_read_update_info: with it, each Adam7 pass reads `height` full-width rows.
    info->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info_ptr);
    info->output_channels = png_get_channels(png, info_ptr);
    if (png_get_bit_depth(png, info_ptr) != 8 || info->output_channels < 1 || info->output_channels > 4) {
        status->code = KK_UNSUPPORTED;
        kk_copy_message(status, "PNG transform did not yield 8-bit samples");
        return KK_UNSUPPORTED;
    }
    return KK_OK;
}

/// What one libpng read does.
typedef enum kk_png_mode {
    KK_PNG_HEADER,       ///< the chunks up to the first IDAT (kk_png_read_info)
    KK_PNG_PIXELS,       ///< every row into the caller's buffer
    KK_PNG_VERIFY_ROWS,  ///< every row inflated and unfiltered into one reused row buffer; nothing kept
    KK_PNG_VERIFY_IDAT,  ///< IDAT handed to png_verify.c: KK_OK only for a pristine stream (see there)
    KK_PNG_RAW,          ///< the same, keeping the inflated rows of a PNG kk_png_idat_inflate takes
} kk_png_mode;

/// Copies the iCCP profile libpng read (NULL when there is none or memory is short).
static unsigned char *kk_png_copy_profile(png_structp png, png_infop info_ptr, size_t *length_out) {
    *length_out = 0;
    if (!png_get_valid(png, info_ptr, PNG_INFO_iCCP)) return NULL;
    png_charp name = NULL;
    int compression = 0;
    png_bytep profile = NULL;
    png_uint_32 length = 0;
    if (!png_get_iCCP(png, info_ptr, &name, &compression, &profile, &length) || !profile || length == 0) return NULL;
    unsigned char *copy = malloc(length);
    if (copy) {
        memcpy(copy, profile, length);
        *length_out = length;
    }
    return copy;
}

/// The one PNG read, in one of the modes above, through IEND unless only the header is asked for.
/// In KK_PNG_RAW mode `pixels` receives the kept rows (an `unsigned char **`); KK_UNSUPPORTED means
/// only that the PNG is not one kk_png_idat_inflate takes.
static int kk_png_run(const void *data, size_t size, const kk_decode_params *params, kk_png_mode mode,
                       void *pixels, size_t pixels_size, kk_png_info *info,
                       void **icc, size_t *icc_size, kk_status *status) {
    kk_png_context context;
    kk_png_source source = { (const unsigned char *)data, size, 0 };
    kk_png_idat_run run;
    unsigned char *volatile row = NULL;
    unsigned char *volatile profile_copy = NULL;
    size_t profile_length = 0;
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    memset(status, 0, sizeof *status);
    context.status = status;
    png_infop info_ptr;
    png_structp png = kk_png_create_reader(&context, &info_ptr);
    if (!png) return KK_NO_MEMORY;
    if (setjmp(context.jump)) {
        png_destroy_read_struct(&png, &info_ptr, NULL);
        free(row);
        free(profile_copy);
        return status->code;
    }
    if (mode == KK_PNG_VERIFY_IDAT || mode == KK_PNG_RAW) kk_png_idat_install(png, &run, &source.offset);
    int code = kk_png_setup(png, info_ptr, &source, params, info, status);
    if (code != KK_OK || mode == KK_PNG_HEADER) {
        png_destroy_read_struct(&png, &info_ptr, NULL);
        return code;
    }
    if (mode == KK_PNG_VERIFY_IDAT) {
        // With info_ptr: IDAT goes to the unknown-chunk handler (with NULL, libpng skips every chunk).
        png_read_end(png, info_ptr);
        png_destroy_read_struct(&png, &info_ptr, NULL);
        if (!kk_png_idat_pristine(&run, source.data, info)) return kk_set_status(status, KK_CORRUPT, "not pristine");
        memset(status, 0, sizeof *status);  // libpng's "Too many IDATs" warnings are this mode's own
        return KK_OK;
    }
    if (mode == KK_PNG_RAW) {
        // Known before IDAT: whether the samples are the output as they stand.
        if (!kk_png_pristine_kind(info)) {
            png_destroy_read_struct(&png, &info_ptr, NULL);
            return kk_set_status(status, KK_UNSUPPORTED, "not a PNG the pristine decode takes");
        }
        if (params->want_icc) profile_copy = kk_png_copy_profile(png, info_ptr, &profile_length);
        png_read_end(png, info_ptr);
        png_destroy_read_struct(&png, &info_ptr, NULL);
        unsigned char *raw = NULL;
        if (!kk_png_idat_inflate(&run, source.data, info, &raw)) {
            free(profile_copy);
            return kk_set_status(status, KK_CORRUPT, "not pristine");
        }
        memset(status, 0, sizeof *status);
        *(unsigned char **)pixels = raw;
        if (icc && profile_copy) {
            *icc = profile_copy;
            *icc_size = profile_length;
        } else {
            free(profile_copy);
        }
        return KK_OK;
    }
    size_t stride = (size_t)info->width * (size_t)info->output_channels;
    if (png_get_rowbytes(png, info_ptr) != stride) png_error(png, "unexpected PNG row size");
    if (mode == KK_PNG_PIXELS) {
        if (info->height != 0 && stride > SIZE_MAX / info->height) png_error(png, "image size overflows");
        if (stride * info->height > pixels_size) {
            status->code = KK_INVALID_ARGUMENT;
            png_error(png, "pixel buffer too small");
        }
        kk_advise_large_buffer(pixels, pixels_size);
    } else {
        row = malloc(stride);
        if (!row) {
            status->code = KK_NO_MEMORY;
            png_error(png, "out of memory");
        }
    }
    if (params->want_icc) profile_copy = kk_png_copy_profile(png, info_ptr, &profile_length);
    int passes = info->passes;
    unsigned char *base = (unsigned char *)pixels;
    for (int pass = 0; pass < passes; pass++) {
        // Adam7 passes combine into the rows already there; a verify pass reuses one row buffer.
        for (png_uint_32 y = 0; y < info->height; y++)
            png_read_row(png, pixels ? base + (size_t)y * stride : row, NULL);
    }
    png_read_end(png, NULL);  // through IEND: a truncated tail is an error
    png_destroy_read_struct(&png, &info_ptr, NULL);
    free(row);
    if (icc && profile_copy) {
        *icc = profile_copy;
        *icc_size = profile_length;
    } else {
        free(profile_copy);
    }
    return KK_OK;
}

int kk_png_read_info(const void *data, size_t size, const kk_decode_params *params,
                     kk_png_info *info, kk_status *status) {
    return kk_png_run(data, size, params, KK_PNG_HEADER, NULL, 0, info, NULL, NULL, status);
}

int kk_png_read_pristine(const void *data, size_t size, const kk_decode_params *params, kk_png_info *info,
                         unsigned char **raw, void **icc, size_t *icc_size) {
    kk_status ignored;
    *raw = NULL;
    if (params->png_libpng_rows || !kk_png_chunks_fit((const unsigned char *)data, size)) return 0;
    return kk_png_run(data, size, params, KK_PNG_RAW, raw, 0, info, icc, icc_size, &ignored) == KK_OK;
}

/// The pristine decode: every row unfiltered where it was inflated, then copied out.
static int kk_png_decode_pristine(const void *data, size_t size, const kk_decode_params *params,
                                  unsigned char *pixels, size_t pixels_size, kk_png_info *info,
                                  void **icc, size_t *icc_size, kk_status *status) {
    unsigned char *raw = NULL;
    void *profile = NULL;
    size_t profile_size = 0;
    if (!kk_png_read_pristine(data, size, params, info, &raw, icc ? &profile : NULL, &profile_size)) return 0;
    size_t stride = (size_t)info->width * (size_t)info->output_channels;  // stride * height <= 64 MiB
    if (stride * info->height > pixels_size) {
        free(raw);
        free(profile);
        kk_set_status(status, KK_INVALID_ARGUMENT, "pixel buffer too small");
        return -1;
    }
    kk_advise_large_buffer(pixels, pixels_size);
    for (uint32_t y = 0; y < info->height; y++) kk_png_raw_row(raw, y, stride, info->output_channels, pixels + (size_t)y * stride);
    free(raw);
    if (icc) {
        *icc = profile;
        *icc_size = profile_size;
    }
    memset(status, 0, sizeof *status);
    return 1;
}

int kk_png_decode(const void *data, size_t size, const kk_decode_params *params,
                  void *pixels, size_t pixels_size, kk_png_info *info,
                  void **icc, size_t *icc_size, kk_status *status) {
    if (pixels) {
        if (icc) *icc = NULL;
        if (icc_size) *icc_size = 0;
        int pristine = kk_png_decode_pristine(data, size, params, pixels, pixels_size, info, icc, icc_size, status);
        if (pristine == 1) return KK_OK;
        if (pristine < 0) return status->code;
        return kk_png_run(data, size, params, KK_PNG_PIXELS, pixels, pixels_size, info, icc, icc_size, status);
    }
    // Verification: the IDAT pass when libpng can hand every chunk over, and libpng's row reader for
    // its verdict on anything that is not pristine (png_verify.c).
    if (!icc && kk_png_chunks_fit((const unsigned char *)data, size)
        && kk_png_run(data, size, params, KK_PNG_VERIFY_IDAT, NULL, 0, info, icc, icc_size, status) == KK_OK)
        return KK_OK;
    return kk_png_run(data, size, params, KK_PNG_VERIFY_ROWS, NULL, 0, info, icc, icc_size, status);
}
