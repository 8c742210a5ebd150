// The streamed JPEG reader (see kk_jpeg_reader in include/klingkit_stream_read.h): rows or planar bands
// out of a memory source. Its header read, limits (pixels, memory cap, scans), strict mode and colour
// handling are kk_jpeg_decode's, through kk_jpeg_setup. Every call runs libjpeg under a setjmp of its
// own; after a failure the reader refuses further calls with the same status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

#include "kk_internal.h"

struct kk_jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    kk_jpeg_error err;
    kk_jpeg_progress progress;
    int created;
    kk_sticky sticky;
    int inverted;               ///< Adobe CMYK (0 = full ink)
    int cmyk;
    unsigned char *scratch;     ///< one decoded row (CMYK before conversion), or one band when planar
    size_t stride;              ///< output_width * output_channels
    int planar;                 ///< raw Y / YCbCr bands (kk_jpeg_reader_open_planes)
    kk_jpeg_planes planes;
    uint32_t bands_read;
};

/// Starts a call: refuses after an earlier failure; errors report into `status`.
static int kk_rd_enter(kk_jpeg_reader *r, kk_status *status) {
    int refused = kk_sticky_enter(r ? &r->sticky : NULL, "JPEG reader", status);
    if (r) r->err.status = status;
    return refused;
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
    // Everything the error path frees hangs off `r`, allocated before the setjmp.
    kk_jpeg_reader *r = calloc(1, sizeof *r);
    if (!r) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    kk_jpeg_error_setup(&r->err, status, KK_JPEG_DECODER, params->strict);
    r->cinfo.err = &r->err.pub;
    if (setjmp(r->err.jump)) {
        int code = status->code ? status->code : KK_CORRUPT;
        kk_jpeg_reader_free(r);
        if (icc && *icc) { free(*icc); *icc = NULL; if (icc_size) *icc_size = 0; }
        return code;
    }
    jpeg_create_decompress(&r->cinfo);
    r->created = 1;
    kk_jpeg_progress_install(&r->cinfo, &r->progress, params);
    struct jpeg_decompress_struct *c = &r->cinfo;
    kk_decode_params settings = *params;
    settings.fast = 0;   // a reader hands out real pixels
    if (kk_jpeg_setup(c, data, size, &settings, info, status) != KK_OK) longjmp(r->err.jump, 1);
    r->cmyk = c->out_color_space == JCS_CMYK;
    if (planes) {
        int gray = c->jpeg_color_space == JCS_GRAYSCALE && c->num_components == 1;
        int ycc = c->jpeg_color_space == JCS_YCbCr && c->num_components == 3;
        if (!gray && !ycc) kk_jpeg_fail(&r->err, KK_UNSUPPORTED, "planar decoding needs a YCbCr or gray JPEG");
        r->planar = 1;
        r->cmyk = 0;
        c->raw_data_out = TRUE;
        c->out_color_space = c->jpeg_color_space;
        info->output_channels = c->num_components;
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
        if (!kk_rd_layout(c, &r->planes))
            kk_jpeg_fail(&r->err, KK_UNSUPPORTED, "planar decoding needs chroma subsampled by 1 or 2 on each axis");
        *planes = r->planes;
        scratch = r->planes.band_bytes;
    }
    r->scratch = malloc(scratch > r->stride ? scratch : r->stride);
    if (!r->scratch) kk_jpeg_fail(&r->err, KK_NO_MEMORY, "out of memory");
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
    if (jpeg_read_raw_data(&r->cinfo, planes, lines) == 0) kk_jpeg_fail(&r->err, KK_CORRUPT, "decoder made no progress");
    r->bands_read++;
}

int kk_jpeg_reader_read_band(kk_jpeg_reader *r, void *band, kk_status *status) {
    int refused = kk_rd_enter(r, status);
    if (refused) return refused;
    if (!r->planar || r->bands_read >= r->planes.bands)
        return kk_set_status(status, KK_INVALID_ARGUMENT, r->planar ? "no bands left" : "the reader was not opened for planes");
    if (setjmp(r->err.jump)) return kk_sticky_fail(&r->sticky, status, KK_CORRUPT);
    kk_rd_band(r, (unsigned char *)band);
    return KK_OK;
}

/// Reads one row into `row` (CMYK converted to RGB), or decodes and drops it when `row` is NULL,
/// inside the caller's setjmp. Allocates nothing.
static void kk_rd_row(kk_jpeg_reader *r, unsigned char *row) {
    JSAMPROW target = (r->cmyk || !row) ? r->scratch : row;
    if (jpeg_read_scanlines(&r->cinfo, &target, 1) != 1) kk_jpeg_fail(&r->err, KK_CORRUPT, "decoder made no progress");
    if (r->cmyk && row) kk_cmyk_row_to_rgb(r->scratch, row, r->cinfo.output_width, r->inverted);
}

int kk_jpeg_reader_read_rows(kk_jpeg_reader *r, void *rows, size_t stride, uint32_t count, kk_status *status) {
    int refused = kk_rd_enter(r, status);
    if (refused) return refused;
    if (r->planar || count > r->cinfo.output_height - r->cinfo.output_scanline || (count > 1 && stride < r->stride))
        return kk_set_status(status, KK_INVALID_ARGUMENT, "more rows asked for than remain, or rows overlap");
    if (setjmp(r->err.jump)) return kk_sticky_fail(&r->sticky, status, KK_CORRUPT);
    unsigned char *base = (unsigned char *)rows;
    for (uint32_t i = 0; i < count; i++) kk_rd_row(r, base + (size_t)i * stride);
    return KK_OK;
}

int kk_jpeg_reader_finish(kk_jpeg_reader *r, kk_status *status) {
    int refused = kk_rd_enter(r, status);
    if (refused) return refused;
    if (setjmp(r->err.jump)) return kk_sticky_fail(&r->sticky, status, KK_CORRUPT);
    // The rows or bands not read are decoded into the reader's own scratch: nothing is allocated here,
    // so nothing can be lost when libjpeg unwinds to the setjmp above.
    if (r->planar) {
        while (r->bands_read < r->planes.bands) kk_rd_band(r, r->scratch);
    } else {
        while (r->cinfo.output_scanline < r->cinfo.output_height) kk_rd_row(r, NULL);
    }
    (void)jpeg_finish_decompress(&r->cinfo);
    return KK_OK;
}

void kk_jpeg_reader_free(kk_jpeg_reader *r) {
    if (!r) return;
    if (r->created) jpeg_destroy_decompress(&r->cinfo);
    free(r->scratch);
    free(r);
}
