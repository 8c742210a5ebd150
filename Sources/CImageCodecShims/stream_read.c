// Streaming PNG -> JPEG transcode (see include/klingkit_stream_read.h). libpng and libjpeg both report
// fatal errors by calling a handler that must not return; here both handlers longjmp to the one setjmp
// in kk_png_to_jpeg, which frees everything it allocated.
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

#include "klingkit_stream_read.h"
#include "kk_internal.h"

/// Everything the error path must reach lives here, in memory, not in registers: automatic variables
/// changed between setjmp and longjmp are indeterminate afterwards.
typedef struct kk_transcode {
    jmp_buf jump;
    kk_status *status;
    struct jpeg_error_mgr jerr;    ///< libjpeg's error manager; its handlers find us by offset
    png_structp png;
    png_infop png_info;
    struct jpeg_compress_struct cinfo;
    int cinfo_ready;
    unsigned char *row;            ///< one decoded PNG row
    unsigned char *flat;           ///< the same row flattened (gray or RGB)
    kk_jpeg_dest dest;             ///< the JPEG being written (grows by doubling)
    const unsigned char *data;     ///< the PNG, when it is in memory
    size_t size;
    size_t offset;
    int fd;                        ///< the PNG's descriptor, when it is read from a file (else -1)
    size_t fd_used, fd_filled;     ///< consumed / valid bytes of `fd_buffer`
    unsigned char fd_buffer[65536];
} kk_transcode;

static void kk_tc_fail(kk_transcode *tc, int code, const char *message) {
    if (tc->status->code == KK_OK) tc->status->code = code;
    kk_copy_message(tc->status, message);
    longjmp(tc->jump, 1);
}

// MARK: libpng side

static void kk_tc_png_error(png_structp png, png_const_charp message) {
    kk_transcode *tc = (kk_transcode *)png_get_error_ptr(png);
    kk_tc_fail(tc, KK_CORRUPT, message ? message : "libpng error");
}

static void kk_tc_png_warning(png_structp png, png_const_charp message) {
    kk_transcode *tc = (kk_transcode *)png_get_error_ptr(png);
    tc->status->warnings++;
    (void)message;
}

static void kk_tc_png_read(png_structp png, png_bytep out, size_t length) {
    kk_transcode *tc = (kk_transcode *)png_get_io_ptr(png);
    if (tc->fd >= 0) {
        // Through a 64 KiB buffer: libpng asks for chunk headers (8 bytes) and zlib-sized pieces.
        while (length > 0) {
            if (tc->fd_used == tc->fd_filled) {
                ssize_t n;
                do { n = read(tc->fd, tc->fd_buffer, sizeof tc->fd_buffer); } while (n < 0 && errno == EINTR);
                if (n < 0) {
                    tc->status->code = KK_IO;
                    snprintf(tc->status->message, sizeof tc->status->message, "read failed: %s", strerror(errno));
                    longjmp(tc->jump, 1);
                }
                if (n == 0) png_error(png, "unexpected end of PNG data (truncated file)");
                tc->fd_used = 0;
                tc->fd_filled = (size_t)n;
            }
            size_t take = tc->fd_filled - tc->fd_used;
            if (take > length) take = length;
            memcpy(out, tc->fd_buffer + tc->fd_used, take);
            tc->fd_used += take;
            out += take;
            length -= take;
        }
        return;
    }
    if (length > tc->size - tc->offset) png_error(png, "unexpected end of PNG data (truncated file)");
    memcpy(out, tc->data + tc->offset, length);
    tc->offset += length;
}

/// Chunks never used (skipped with their CRC checked): text, whose zTXt/iTXt inflation is the
/// decompression-bomb route, and other metadata.

// MARK: libjpeg side

static void kk_tc_jpeg_error(j_common_ptr cinfo) {
    kk_transcode *tc = (kk_transcode *)((char *)cinfo->err - offsetof(kk_transcode, jerr));
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    int code = cinfo->err->msg_code == JERR_OUT_OF_MEMORY ? KK_NO_MEMORY : KK_INVALID_ARGUMENT;
    kk_tc_fail(tc, code, buffer);
}

static void kk_tc_cleanup(kk_transcode *tc) {
    if (tc->cinfo_ready) jpeg_destroy_compress(&tc->cinfo);
    tc->cinfo_ready = 0;
    if (tc->png) png_destroy_read_struct(&tc->png, tc->png_info ? &tc->png_info : NULL, NULL);
    tc->png = NULL;
    tc->png_info = NULL;
    free(tc->row);
    free(tc->flat);
    free(tc->dest.buffer);
    tc->row = tc->flat = tc->dest.buffer = NULL;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define KK_TC_SSSE3 1

/// RGBA -> RGB over `bg`, four pixels per step in 16-bit lanes: t = c·a + bg·(255 − a) + 128 (at most
/// 65,153, so exact in 16 bits) and ⌊(t + ⌊t/256⌋)/256⌋, which equals the scalar ⌊(c·a + bg·(255 − a) + 127)/255⌋
/// for every input (checked exhaustively over 0...255²). Writes up to 4 bytes past the last pixel's RGB
/// (the caller's buffer has that slack). Returns the pixels done (a multiple of 4) and ORs transparency in.
__attribute__((target("ssse3")))
static uint32_t kk_tc_flatten_rgba_ssse3(const unsigned char *in, unsigned char *out, uint32_t width,
                                         const uint8_t bg[3], int *transparent) {
    const __m128i zero = _mm_setzero_si128();
    const __m128i full = _mm_set1_epi16(255);
    const __m128i half = _mm_set1_epi16(128);
    const __m128i bgv = _mm_setr_epi16(bg[0], bg[1], bg[2], 0, bg[0], bg[1], bg[2], 0);
    const __m128i alpha_bytes = _mm_set1_epi32((int)0xFF000000u);
    const __m128i pack = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    __m128i opaque = _mm_set1_epi8(-1);
    uint32_t x = 0;
    for (; x + 4 <= width; x += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(in + 4 * (size_t)x));
        opaque = _mm_and_si128(opaque, _mm_cmpeq_epi32(_mm_and_si128(v, alpha_bytes), alpha_bytes));
        __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
        __m128i alo = _mm_shufflehi_epi16(_mm_shufflelo_epi16(lo, 0xFF), 0xFF);
        __m128i ahi = _mm_shufflehi_epi16(_mm_shufflelo_epi16(hi, 0xFF), 0xFF);
        __m128i tlo = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(lo, alo), _mm_mullo_epi16(bgv, _mm_sub_epi16(full, alo))), half);
        __m128i thi = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(hi, ahi), _mm_mullo_epi16(bgv, _mm_sub_epi16(full, ahi))), half);
        tlo = _mm_srli_epi16(_mm_add_epi16(tlo, _mm_srli_epi16(tlo, 8)), 8);
        thi = _mm_srli_epi16(_mm_add_epi16(thi, _mm_srli_epi16(thi, 8)), 8);
        __m128i rgb = _mm_shuffle_epi8(_mm_packus_epi16(tlo, thi), pack);
        _mm_storeu_si128((__m128i *)(out + 3 * (size_t)x), rgb);
    }
    if (_mm_movemask_epi8(opaque) != 0xFFFF) *transparent = 1;
    return x;
}
#endif

/// Composites one row of gray+alpha or RGBA over the background; copies gray or RGB as it is.
/// Returns whether any pixel was less than opaque.
static int kk_tc_flatten(const unsigned char *in, unsigned char *out, uint32_t width, int channels,
                         const uint8_t bg[3], int bg_luma) {
    int transparent = 0;
    if (channels == 2) {
        for (uint32_t x = 0; x < width; x++) {
            unsigned a = in[2 * x + 1], ia = 255 - a;
            transparent |= a != 255;
            out[x] = (unsigned char)((in[2 * x] * a + (unsigned)bg_luma * ia + 127) / 255);
        }
    } else if (channels == 4) {
        uint32_t x = 0;
#ifdef KK_TC_SSSE3
        if (__builtin_cpu_supports("ssse3")) x = kk_tc_flatten_rgba_ssse3(in, out, width, bg, &transparent);
#endif
        for (; x < width; x++) {
            const unsigned char *p = in + 4 * (size_t)x;
            unsigned a = p[3], ia = 255 - a;
            transparent |= a != 255;
            unsigned char *q = out + 3 * (size_t)x;
            q[0] = (unsigned char)((p[0] * a + bg[0] * ia + 127) / 255);
            q[1] = (unsigned char)((p[1] * a + bg[1] * ia + 127) / 255);
            q[2] = (unsigned char)((p[2] * a + bg[2] * ia + 127) / 255);
        }
    }
    return transparent;
}

static int kk_png_to_jpeg_run(kk_transcode *tc, const kk_decode_params *params,
                              const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                              kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status);

int kk_png_to_jpeg(const void *data, size_t size, const kk_decode_params *params,
                   const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                   kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode *tc = calloc(1, sizeof *tc);
    if (tc) {
        tc->data = (const unsigned char *)data;
        tc->size = size;
        tc->fd = -1;
    }
    return kk_png_to_jpeg_run(tc, params, jpeg, background, result, out, out_size, status);
}

int kk_png_fd_to_jpeg(int fd, const kk_decode_params *params,
                      const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                      kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    kk_transcode *tc = calloc(1, sizeof *tc);
    if (tc) tc->fd = fd;
    return kk_png_to_jpeg_run(tc, params, jpeg, background, result, out, out_size, status);
}

/// Takes ownership of `tc` (NULL: out of memory) and frees it.
static int kk_png_to_jpeg_run(kk_transcode *tc, const kk_decode_params *params,
                              const kk_jpeg_encode_params *jpeg, const uint8_t background[3],
                              kk_png_to_jpeg_result *result, void **out, size_t *out_size, kk_status *status) {
    *out = NULL;
    *out_size = 0;
    memset(status, 0, sizeof *status);
    memset(result, 0, sizeof *result);
    if (!tc) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    tc->status = status;
    if (setjmp(tc->jump)) {
        int code = status->code ? status->code : KK_CORRUPT;
        kk_tc_cleanup(tc);
        free(tc);
        return code;
    }

    // PNG header, with the transforms kk_png_decode applies (8-bit gray / GA / RGB / RGBA).
    tc->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, tc, kk_tc_png_error, kk_tc_png_warning);
    if (!tc->png) kk_tc_fail(tc, KK_NO_MEMORY, "out of memory");
    tc->png_info = png_create_info_struct(tc->png);
    if (!tc->png_info) kk_tc_fail(tc, KK_NO_MEMORY, "out of memory");
    png_structp png = tc->png;
    png_infop info_ptr = tc->png_info;
    png_set_read_fn(png, tc, kk_tc_png_read);
    kk_png_info *info = &result->info;
    if (kk_png_start(png, info_ptr, params, info, status) != KK_OK) longjmp(tc->jump, 1);  // *status says why
    png_uint_32 width = info->width, height = info->height;
    if (info->interlaced) kk_tc_fail(tc, KK_UNSUPPORTED, "an interlaced (Adam7) PNG cannot be streamed row by row");
    if (width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        char message[160];
        snprintf(message, sizeof message, "JPEG cannot store %ux%u (each side 1...%d)", width, height, (int)JPEG_MAX_DIMENSION);
        kk_tc_fail(tc, KK_INVALID_ARGUMENT, message);
    }
    int channels = info->output_channels;
    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(png, info_ptr) != stride) png_error(png, "unexpected PNG row size");
    int gray = channels <= 2;
    result->jpeg_channels = gray ? 1 : 3;

    // The profile, when it describes the pixels the JPEG will hold.
    png_charp icc_name = NULL;
    int icc_compression = 0;
    png_bytep icc = NULL;
    png_uint_32 icc_length = 0;
    if (params->want_icc && png_get_iCCP(png, info_ptr, &icc_name, &icc_compression, &icc, &icc_length) && icc && icc_length > 0) {
        result->icc_present = 1;
        const char *space = gray ? "GRAY" : "RGB ";
        if (icc_length >= 128 && memcmp(icc + 16, space, 4) == 0) result->icc_embedded = 1;
    }

    tc->row = malloc(stride);
    // 16 bytes of slack: the vector flattening stores whole 16-byte blocks.
    tc->flat = (channels == 2 || channels == 4) ? malloc((size_t)width * (size_t)(gray ? 1 : 3) + 16) : NULL;
    if (!tc->row || ((channels == 2 || channels == 4) && !tc->flat)) kk_tc_fail(tc, KK_NO_MEMORY, "out of memory");
    if (!kk_jpeg_dest_alloc(&tc->dest)) kk_tc_fail(tc, KK_NO_MEMORY, "out of memory");

    // JPEG encoder, set up exactly as kk_jpeg_encode does.
    struct jpeg_compress_struct *cinfo = &tc->cinfo;
    cinfo->err = jpeg_std_error(&tc->jerr);
    tc->jerr.error_exit = kk_tc_jpeg_error;
    tc->jerr.output_message = kk_jpeg_output_message;  // the encoder's warnings are not shown
    jpeg_create_compress(cinfo);
    tc->cinfo_ready = 1;
    kk_jpeg_dest_use(cinfo, &tc->dest);
    kk_jpeg_start_compress(cinfo, width, height, gray ? 1 : 3, jpeg, result->icc_embedded ? icc : NULL,
                           result->icc_embedded ? icc_length : 0);

    int bg_luma = (299 * background[0] + 587 * background[1] + 114 * background[2] + 500) / 1000;
    int transparent = 0;
    for (png_uint_32 y = 0; y < height; y++) {
        png_read_row(png, tc->row, NULL);
        JSAMPROW line = tc->row;
        if (tc->flat) {
            transparent |= kk_tc_flatten(tc->row, tc->flat, width, channels, background, bg_luma);
            line = tc->flat;
        }
        (void)jpeg_write_scanlines(cinfo, &line, 1);
    }
    // Through IEND: trailing damage or truncation fails the transcode, as it fails a decode.
    png_read_end(png, NULL);
    jpeg_finish_compress(cinfo);
    result->transparent = transparent;

    *out_size = kk_jpeg_dest_size(&tc->dest);
    *out = tc->dest.buffer;
    tc->dest.buffer = NULL;
    kk_tc_cleanup(tc);
    free(tc);
    return KK_OK;
}

// MARK: - JPEG reader (rows out of a memory source)
//
// The error policy is kk_jpeg_decode's: fatal errors classified into KK_* codes, the "corrupt data" /
// "premature end" warnings fatal in strict mode, a cap on progressive scans.

/// A compressor's fatal error: out of memory, or settings libjpeg refuses (the decoders' classification
/// does not apply to an encoder).
static void kk_rd_encoder_error_exit(j_common_ptr cinfo) {
    kk_jpeg_error *err = (kk_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    err->status->code = err->pub.msg_code == JERR_OUT_OF_MEMORY ? KK_NO_MEMORY : KK_INVALID_ARGUMENT;
    kk_copy_message(err->status, buffer);
    longjmp(err->jump, 1);
}

struct kk_jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    kk_jpeg_error err;
    kk_jpeg_progress progress;
    int created;
    int failed;                 ///< the code of the first failure, then every call returns it
    kk_status failure;
    int inverted;               ///< Adobe CMYK (0 = full ink)
    int cmyk;
    unsigned char *scratch;     ///< one CMYK row, or one dropped row (a dropped band when planar) in finish
    size_t stride;              ///< output_width * output_channels
    int planar;                 ///< raw Y / YCbCr bands (kk_jpeg_reader_open_planes)
    kk_jpeg_planes planes;
    uint32_t bands_read;
};

/// Starts a call: remembers where errors go. Returns nonzero when the reader already failed.
static int kk_rd_refuse(kk_jpeg_reader *r, kk_status *status) {
    memset(status, 0, sizeof *status);
    r->err.status = status;
    if (r->failed) {
        *status = r->failure;
        return r->failed;
    }
    return 0;
}

static int kk_rd_fail(kk_jpeg_reader *r, kk_status *status) {
    if (status->code == KK_OK) status->code = KK_CORRUPT;
    r->failed = status->code;
    r->failure = *status;
    return status->code;
}

/// Fills `p` from a started planar decompressor; returns 0 when the layout is not one we hand out.
static int kk_rd_layout(struct jpeg_decompress_struct *c, kk_jpeg_planes *p) {
    memset(p, 0, sizeof *p);
    p->count = c->num_components;
    int luma_h = c->max_h_samp_factor * c->min_DCT_scaled_size;
    int luma_v = c->max_v_samp_factor * c->min_DCT_scaled_size;
    size_t offset = 0;
    for (int ci = 0; ci < c->num_components; ci++) {
        jpeg_component_info *comp = &c->comp_info[ci];
        int plane_h = comp->h_samp_factor * comp->DCT_scaled_size;
        int plane_v = comp->v_samp_factor * comp->DCT_scaled_size;
        if (plane_h <= 0 || plane_v <= 0 || luma_h % plane_h || luma_v % plane_v) return 0;
        p->sub_x[ci] = (uint32_t)(luma_h / plane_h);
        p->sub_y[ci] = (uint32_t)(luma_v / plane_v);
        if (p->sub_x[ci] > 2 || p->sub_y[ci] > 2) return 0;
        p->width[ci] = comp->downsampled_width;
        p->height[ci] = comp->downsampled_height;
        // Whole blocks, rounded up to 64 bytes so every plane's rows start cache-aligned.
        size_t stride = (size_t)comp->width_in_blocks * (size_t)comp->DCT_scaled_size;
        stride = (stride + 63) & ~(size_t)63;
        if (stride > UINT32_MAX) return 0;
        p->stride[ci] = (uint32_t)stride;
        if (plane_v > 32) return 0;   // kk_rd_band's row table holds 32 rows per plane
        p->band_rows[ci] = (uint32_t)plane_v;
        p->offset[ci] = offset;
        offset += stride * (size_t)plane_v;
    }
    if (p->sub_x[0] != 1 || p->sub_y[0] != 1) return 0;   // luma must carry the largest factors
    p->band_bytes = offset;
    p->bands = c->total_iMCU_rows;
    return 1;
}

static int kk_rd_open(const void *data, size_t size, const kk_decode_params *params, kk_jpeg_info *info,
                      void **icc, size_t *icc_size, kk_jpeg_planes *planes, kk_jpeg_reader **reader,
                      kk_status *status) {
    *reader = NULL;
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    memset(status, 0, sizeof *status);
    memset(info, 0, sizeof *info);
    kk_jpeg_reader *r = calloc(1, sizeof *r);
    if (!r) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    kk_jpeg_error_setup(&r->err, params->strict);
    r->err.status = status;
    r->cinfo.err = &r->err.pub;
    if (setjmp(r->err.jump)) {
        int code = status->code ? status->code : KK_CORRUPT;
        kk_jpeg_reader_free(r);
        if (icc && *icc) { free(*icc); *icc = NULL; if (icc_size) *icc_size = 0; }
        return code;
    }
    jpeg_create_decompress(&r->cinfo);
    r->created = 1;
    r->progress.pub.progress_monitor = kk_jpeg_progress_monitor;
    r->progress.max_scans = params->max_scans > 0 ? params->max_scans : 1000;
    r->cinfo.progress = &r->progress.pub;
    if (size > ULONG_MAX) kk_copy_message(status, "input too large"), status->code = KK_LIMIT, longjmp(r->err.jump, 1);
    jpeg_mem_src(&r->cinfo, (const unsigned char *)data, (unsigned long)size);
    if (params->want_icc) jpeg_save_markers(&r->cinfo, JPEG_APP0 + 2, 0xFFFF);
    (void)jpeg_read_header(&r->cinfo, TRUE);
    struct jpeg_decompress_struct *c = &r->cinfo;
    if (params->max_memory) c->mem->max_memory_to_use = (long)(params->max_memory > LONG_MAX ? LONG_MAX : params->max_memory);
    info->width = c->image_width;
    info->height = c->image_height;
    info->components = c->num_components;
    info->precision = c->data_precision;
    info->progressive = c->progressive_mode ? 1 : 0;
    info->arithmetic = c->arith_code ? 1 : 0;
    info->color_space = kk_jpeg_color_space(c->jpeg_color_space);
    if (c->data_precision != 8) {
        status->code = KK_UNSUPPORTED;
        snprintf(status->message, sizeof status->message, "Unsupported JPEG data precision %d", c->data_precision);
        longjmp(r->err.jump, 1);
    }
    uint64_t pixels = (uint64_t)c->image_width * (uint64_t)c->image_height;
    if (pixels == 0) {
        status->code = KK_CORRUPT;
        kk_copy_message(status, "Empty JPEG image (zero width or height)");
        longjmp(r->err.jump, 1);
    }
    if (params->max_pixels && pixels > params->max_pixels) {
        status->code = KK_TOO_MANY_PIXELS;
        snprintf(status->message, sizeof status->message, "%ux%u is %llu pixels, more than the limit of %llu",
                 c->image_width, c->image_height, (unsigned long long)pixels, (unsigned long long)params->max_pixels);
        longjmp(r->err.jump, 1);
    }
    int denom = params->scale_denom;
    if (denom != 1 && denom != 2 && denom != 4 && denom != 8) denom = 1;
    c->scale_num = 1;
    c->scale_denom = (unsigned int)denom;
    if (params->scale_eighths >= 1 && params->scale_eighths <= 16) {
        c->scale_num = (unsigned int)params->scale_eighths;
        c->scale_denom = 8;
    }
    r->cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
    if (planes) {
        int gray = c->jpeg_color_space == JCS_GRAYSCALE && c->num_components == 1;
        int ycc = c->jpeg_color_space == JCS_YCbCr && c->num_components == 3;
        if (!gray && !ycc) {
            status->code = KK_UNSUPPORTED;
            kk_copy_message(status, "planar decoding needs a YCbCr or gray JPEG");
            longjmp(r->err.jump, 1);
        }
        r->planar = 1;
        r->cmyk = 0;
        c->raw_data_out = TRUE;
        c->out_color_space = c->jpeg_color_space;
        info->output_channels = c->num_components;
    } else if (r->cmyk) {
        c->out_color_space = JCS_CMYK;
        info->output_channels = 3;
    } else if (c->jpeg_color_space == JCS_GRAYSCALE) {
        c->out_color_space = JCS_GRAYSCALE;
        info->output_channels = 1;
    } else {
        c->out_color_space = JCS_RGB;
        info->output_channels = 3;
    }
    r->inverted = c->saw_Adobe_marker ? 1 : 0;
    if (params->want_icc && icc) {
        JOCTET *profile = NULL;
        unsigned int length = 0;
        if (jpeg_read_icc_profile(c, &profile, &length)) {
            *icc = profile;
            if (icc_size) *icc_size = length;
        }
    }
    (void)jpeg_start_decompress(c);
    info->output_width = c->output_width;
    info->output_height = c->output_height;
    r->stride = (size_t)c->output_width * (size_t)info->output_channels;
    size_t scratch = (size_t)c->output_width * (size_t)c->output_components;
    if (r->planar) {
        if (!kk_rd_layout(c, &r->planes)) {
            status->code = KK_UNSUPPORTED;
            kk_copy_message(status, "planar decoding needs chroma subsampled by 1 or 2 on each axis");
            longjmp(r->err.jump, 1);
        }
        *planes = r->planes;
        scratch = r->planes.band_bytes;
    }
    r->scratch = malloc(scratch > r->stride ? scratch : r->stride);
    if (!r->scratch) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        longjmp(r->err.jump, 1);
    }
    *reader = r;
    return KK_OK;
}

int kk_jpeg_reader_open(const void *data, size_t size, const kk_decode_params *params, kk_jpeg_info *info,
                        void **icc, size_t *icc_size, kk_jpeg_reader **reader, kk_status *status) {
    return kk_rd_open(data, size, params, info, icc, icc_size, NULL, reader, status);
}

int kk_jpeg_reader_open_planes(const void *data, size_t size, const kk_decode_params *params, kk_jpeg_info *info,
                               void **icc, size_t *icc_size, kk_jpeg_planes *planes, kk_jpeg_reader **reader,
                               kk_status *status) {
    memset(planes, 0, sizeof *planes);
    return kk_rd_open(data, size, params, info, icc, icc_size, planes, reader, status);
}

/// Decodes one band into `band`, inside the caller's setjmp.
static void kk_rd_band(kk_jpeg_reader *r, unsigned char *band) {
    JSAMPROW rows[3][32];   // band_rows ≤ 2 × 16 (sampling factor × DCT scaled size)
    JSAMPARRAY planes[3];
    for (int ci = 0; ci < r->planes.count; ci++) {
        for (uint32_t y = 0; y < r->planes.band_rows[ci] && y < 32; y++)
            rows[ci][y] = band + r->planes.offset[ci] + (size_t)y * r->planes.stride[ci];
        planes[ci] = rows[ci];
    }
    JDIMENSION lines = (JDIMENSION)(r->cinfo.max_v_samp_factor * r->cinfo.min_DCT_scaled_size);
    if (jpeg_read_raw_data(&r->cinfo, planes, lines) == 0) {
        r->err.status->code = KK_CORRUPT;
        kk_copy_message(r->err.status, "decoder made no progress");
        longjmp(r->err.jump, 1);
    }
    r->bands_read++;
}

int kk_jpeg_reader_read_band(kk_jpeg_reader *r, void *band, kk_status *status) {
    int refused = kk_rd_refuse(r, status);
    if (refused) return refused;
    if (!r->planar || r->bands_read >= r->planes.bands) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, r->planar ? "no bands left" : "the reader was not opened for planes");
        return KK_INVALID_ARGUMENT;
    }
    if (setjmp(r->err.jump)) return kk_rd_fail(r, status);
    kk_rd_band(r, (unsigned char *)band);
    return KK_OK;
}

/// Reads one row into `row` (converting CMYK), inside the caller's setjmp.
static void kk_rd_row(kk_jpeg_reader *r, unsigned char *row) {
    JSAMPROW target = r->cmyk ? r->scratch : row;
    if (jpeg_read_scanlines(&r->cinfo, &target, 1) != 1) {
        r->err.status->code = KK_CORRUPT;
        kk_copy_message(r->err.status, "decoder made no progress");
        longjmp(r->err.jump, 1);
    }
    if (r->cmyk) {
        const unsigned char *in = r->scratch;
        for (JDIMENSION x = 0; x < r->cinfo.output_width; x++) {
            unsigned c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
            if (!r->inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
            row[3 * x] = (unsigned char)((c * k + 127) / 255);
            row[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
            row[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
        }
    }
}

int kk_jpeg_reader_read_rows(kk_jpeg_reader *r, void *rows, size_t stride, uint32_t count, kk_status *status) {
    int refused = kk_rd_refuse(r, status);
    if (refused) return refused;
    if (count > r->cinfo.output_height - r->cinfo.output_scanline || (count > 1 && stride < r->stride)) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "more rows asked for than remain, or rows overlap");
        return KK_INVALID_ARGUMENT;
    }
    if (setjmp(r->err.jump)) return kk_rd_fail(r, status);
    unsigned char *base = (unsigned char *)rows;
    for (uint32_t i = 0; i < count; i++) kk_rd_row(r, base + (size_t)i * stride);
    return KK_OK;
}

int kk_jpeg_reader_finish(kk_jpeg_reader *r, kk_status *status) {
    int refused = kk_rd_refuse(r, status);
    if (refused) return refused;
    if (setjmp(r->err.jump)) return kk_rd_fail(r, status);
    if (r->planar) {
        while (r->bands_read < r->planes.bands) kk_rd_band(r, r->scratch);
        (void)jpeg_finish_decompress(&r->cinfo);
        return KK_OK;
    }
    unsigned char *drop = r->cmyk ? malloc(r->stride) : r->scratch;
    if (!drop) {
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return kk_rd_fail(r, status);
    }
    while (r->cinfo.output_scanline < r->cinfo.output_height) kk_rd_row(r, drop);
    if (drop != r->scratch) free(drop);
    (void)jpeg_finish_decompress(&r->cinfo);
    return KK_OK;
}

void kk_jpeg_reader_free(kk_jpeg_reader *r) {
    if (!r) return;
    if (r->created) jpeg_destroy_decompress(&r->cinfo);
    free(r->scratch);
    free(r);
}

// MARK: - JPEG writer into memory

struct kk_jpeg_mem_writer {
    struct jpeg_compress_struct cinfo;
    kk_jpeg_error err;
    int created;
    int failed;
    kk_status failure;
    kk_jpeg_dest dest;          ///< the JPEG being written (grows by doubling)
    int planar;                 ///< takes bands (kk_jpeg_mem_writer_open_planes)
    kk_jpeg_planes planes;
    uint32_t bands_written;
};

static int kk_mw_refuse(kk_jpeg_mem_writer *w, kk_status *status) {
    memset(status, 0, sizeof *status);
    w->err.status = status;
    if (w->failed) {
        *status = w->failure;
        return w->failed;
    }
    return 0;
}

static int kk_mw_fail(kk_jpeg_mem_writer *w, kk_status *status) {
    if (status->code == KK_OK) status->code = KK_INVALID_ARGUMENT;
    w->failed = status->code;
    w->failure = *status;
    return status->code;
}

static int kk_mw_open(uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                      const void *icc, size_t icc_size, kk_jpeg_planes *planes, kk_jpeg_mem_writer **writer,
                      kk_status *status) {
    *writer = NULL;
    memset(status, 0, sizeof *status);
    if (kk_jpeg_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    kk_jpeg_mem_writer *w = calloc(1, sizeof *w);
    if (!w || !kk_jpeg_dest_alloc(&w->dest)) {
        free(w);
        status->code = KK_NO_MEMORY;
        kk_copy_message(status, "out of memory");
        return KK_NO_MEMORY;
    }
    kk_jpeg_error_setup(&w->err, 0);
    w->err.pub.error_exit = kk_rd_encoder_error_exit;
    w->err.status = status;
    w->cinfo.err = &w->err.pub;
    if (setjmp(w->err.jump)) {
        int code = status->code ? status->code : KK_INVALID_ARGUMENT;
        kk_jpeg_mem_writer_free(w);
        return code;
    }
    jpeg_create_compress(&w->cinfo);
    w->created = 1;
    kk_jpeg_dest_use(&w->cinfo, &w->dest);
    if (planes) {
        kk_jpeg_start_compress_planes(&w->cinfo, width, height, channels, params, icc, icc_size);
        struct jpeg_compress_struct *c = &w->cinfo;
        kk_jpeg_planes *p = &w->planes;
        p->count = c->num_components;
        size_t offset = 0;
        for (int ci = 0; ci < c->num_components; ci++) {
            jpeg_component_info *comp = &c->comp_info[ci];
            p->width[ci] = comp->downsampled_width;
            p->height[ci] = comp->downsampled_height;
            p->sub_x[ci] = (uint32_t)(c->max_h_samp_factor / comp->h_samp_factor);
            p->sub_y[ci] = (uint32_t)(c->max_v_samp_factor / comp->v_samp_factor);
            size_t stride = ((size_t)comp->width_in_blocks * DCTSIZE + 63) & ~(size_t)63;
            p->stride[ci] = (uint32_t)stride;
            p->band_rows[ci] = (uint32_t)(comp->v_samp_factor * DCTSIZE);
            p->offset[ci] = offset;
            offset += stride * p->band_rows[ci];
        }
        p->band_bytes = offset;
        p->bands = c->total_iMCU_rows;
        w->planar = 1;
        *planes = *p;
    } else {
        kk_jpeg_start_compress(&w->cinfo, width, height, channels, params, icc, icc_size);
    }
    *writer = w;
    return KK_OK;
}

int kk_jpeg_mem_writer_open(uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                            const void *icc, size_t icc_size, kk_jpeg_mem_writer **writer, kk_status *status) {
    return kk_mw_open(width, height, channels, params, icc, icc_size, NULL, writer, status);
}

int kk_jpeg_mem_writer_open_planes(uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                                   const void *icc, size_t icc_size, kk_jpeg_planes *planes,
                                   kk_jpeg_mem_writer **writer, kk_status *status) {
    memset(planes, 0, sizeof *planes);
    return kk_mw_open(width, height, channels, params, icc, icc_size, planes, writer, status);
}

int kk_jpeg_mem_writer_write_band(kk_jpeg_mem_writer *w, void *band, kk_status *status) {
    int refused = kk_mw_refuse(w, status);
    if (refused) return refused;
    if (!w->planar || w->bands_written >= w->planes.bands) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, w->planar ? "more bands than the image holds" : "the writer was not opened for planes");
        return kk_mw_fail(w, status);
    }
    const kk_jpeg_planes *p = &w->planes;
    unsigned char *base = (unsigned char *)band;
    JSAMPROW rows[3][32];   // v_samp_factor (≤ 2 here) × DCTSIZE
    JSAMPARRAY planes[3];
    for (int ci = 0; ci < p->count; ci++) {
        unsigned char *plane = base + p->offset[ci];
        uint32_t first = w->bands_written * p->band_rows[ci];
        uint32_t valid = p->height[ci] > first ? p->height[ci] - first : 0;
        if (valid > p->band_rows[ci]) valid = p->band_rows[ci];
        for (uint32_t y = 0; y < p->band_rows[ci] && y < 32; y++) {
            unsigned char *row = plane + (size_t)y * p->stride[ci];
            if (y >= valid && valid > 0) memcpy(row, plane + (size_t)(valid - 1) * p->stride[ci], p->stride[ci]);
            else if (p->width[ci] < p->stride[ci])
                memset(row + p->width[ci], row[p->width[ci] - 1], p->stride[ci] - p->width[ci]);
            rows[ci][y] = row;
        }
        planes[ci] = rows[ci];
    }
    if (setjmp(w->err.jump)) return kk_mw_fail(w, status);
    (void)jpeg_write_raw_data(&w->cinfo, planes, (JDIMENSION)(w->cinfo.max_v_samp_factor * DCTSIZE));
    w->bands_written++;
    return KK_OK;
}

int kk_jpeg_mem_writer_write_rows(kk_jpeg_mem_writer *w, const void *rows, size_t stride, uint32_t count,
                                  kk_status *status) {
    int refused = kk_mw_refuse(w, status);
    if (refused) return refused;
    if (count > w->cinfo.image_height - w->cinfo.next_scanline) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "more rows than the image's height");
        return kk_mw_fail(w, status);
    }
    if (setjmp(w->err.jump)) return kk_mw_fail(w, status);
    const unsigned char *base = (const unsigned char *)rows;
    for (uint32_t i = 0; i < count; i++) {
        JSAMPROW row = (JSAMPROW)(base + (size_t)i * stride);   // libjpeg only reads input rows
        (void)jpeg_write_scanlines(&w->cinfo, &row, 1);
    }
    return KK_OK;
}

int kk_jpeg_mem_writer_finish(kk_jpeg_mem_writer *w, void **out, size_t *out_size, kk_status *status) {
    *out = NULL;
    *out_size = 0;
    int refused = kk_mw_refuse(w, status);
    if (refused) return refused;
    if (w->cinfo.next_scanline < w->cinfo.image_height) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "only %u of %u rows were written",
                 w->cinfo.next_scanline, w->cinfo.image_height);
        return kk_mw_fail(w, status);
    }
    if (setjmp(w->err.jump)) return kk_mw_fail(w, status);
    jpeg_finish_compress(&w->cinfo);
    *out_size = kk_jpeg_dest_size(&w->dest);
    *out = w->dest.buffer;
    w->dest.buffer = NULL;
    return KK_OK;
}

void kk_jpeg_mem_writer_free(kk_jpeg_mem_writer *w) {
    if (!w) return;
    if (w->created) jpeg_destroy_compress(&w->cinfo);
    free(w->dest.buffer);
    free(w);
}
