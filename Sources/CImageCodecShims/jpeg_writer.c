// The one JPEG writer (see kk_jpeg_writer in include/klingkit_codec_shims.h and
// kk_jpeg_writer_open_memory in include/klingkit_stream_read.h): rows or planar bands in, one libjpeg
// destination manager out to a file descriptor or to a growing malloc'd buffer. Every call runs libjpeg
// under a setjmp of its own; after a failure the writer refuses further calls with the same status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <limits.h>
#include <jpeglib.h>
#include <jerror.h>

#include "kk_fd_output.h"
#include "kk_internal.h"

// MARK: - Destination

/// One destination manager for both targets. In memory, `buffer` is the whole stream so far (it grows by
/// doubling; the live buffer is always reachable, so an error half-way frees it instead of leaking it).
/// On a descriptor, `buffer` is a fixed KK_FD_BUFFER window flushed with write(2) whenever it fills.
typedef struct kk_jpeg_dest {
    struct jpeg_destination_mgr pub;   // must be first: libjpeg sees only this part
    kk_jpeg_error *err;                // where a failed write(2) unwinds to
    int fd;                            // -1: memory
    unsigned char *buffer;
    size_t capacity;
    uint64_t flushed;                  // descriptor: bytes handed to the kernel so far
} kk_jpeg_dest;

static void kk_dest_init(j_compress_ptr cinfo) {
    kk_jpeg_dest *dest = (kk_jpeg_dest *)cinfo->dest;
    dest->pub.next_output_byte = dest->buffer;
    dest->pub.free_in_buffer = dest->capacity;
}

/// Sends `size` bytes of the window to the descriptor, or unwinds with KK_IO and strerror.
static void kk_dest_flush(kk_jpeg_dest *dest, size_t size) {
    int code = kk_fd_write_all(dest->fd, dest->buffer, size);
    if (code) {
        char message[200];
        kk_fd_describe(code, message, sizeof message);
        kk_jpeg_fail(dest->err, KK_IO, message);
    }
    dest->flushed += size;
}

static boolean kk_dest_empty(j_compress_ptr cinfo) {
    kk_jpeg_dest *dest = (kk_jpeg_dest *)cinfo->dest;
    if (dest->fd >= 0) {   // libjpeg asks only when the whole window is full
        kk_dest_flush(dest, dest->capacity);
        kk_dest_init(cinfo);
        return TRUE;
    }
    size_t old = dest->capacity;
    if (old > SIZE_MAX / 2) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    unsigned char *grown = realloc(dest->buffer, old * 2);
    if (!grown) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    dest->buffer = grown;
    dest->capacity = old * 2;
    dest->pub.next_output_byte = grown + old;
    dest->pub.free_in_buffer = dest->capacity - old;
    return TRUE;
}

static void kk_dest_term(j_compress_ptr cinfo) {
    kk_jpeg_dest *dest = (kk_jpeg_dest *)cinfo->dest;
    if (dest->fd >= 0) kk_dest_flush(dest, dest->capacity - dest->pub.free_in_buffer);
}

/// Bytes of stream so far (in memory) or written (to a descriptor, after term).
static uint64_t kk_dest_size(const kk_jpeg_dest *dest) {
    return dest->fd >= 0 ? dest->flushed : (uint64_t)(dest->capacity - dest->pub.free_in_buffer);
}

// MARK: - Writer

struct kk_jpeg_writer {
    struct jpeg_compress_struct cinfo;
    kk_jpeg_error err;
    kk_jpeg_dest dest;
    int created;
    kk_sticky sticky;
    int planar;                 ///< takes bands (kk_jpeg_writer_open_memory with planes)
    kk_jpeg_planes planes;
    uint32_t bands_written;
};

/// Describes the bands a planar compressor takes.
static void kk_writer_layout(const struct jpeg_compress_struct *c, kk_jpeg_planes *p) {
    memset(p, 0, sizeof *p);
    p->count = c->num_components;
    size_t offset = 0;
    for (int ci = 0; ci < c->num_components; ci++) {
        const jpeg_component_info *comp = &c->comp_info[ci];
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
}

/// Opens on `fd` (≥ 0) or in memory (`fd` < 0), rows or (memory only) bands when `planes` is given.
static int kk_writer_open(int fd, uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                          const void *icc, size_t icc_size, kk_jpeg_planes *planes, kk_jpeg_writer **out,
                          kk_status *status) {
    *out = NULL;
    memset(status, 0, sizeof *status);
    if (planes) memset(planes, 0, sizeof *planes);
    if (kk_jpeg_check_encode(width, height, channels, status)) return KK_INVALID_ARGUMENT;
    kk_jpeg_writer *w = calloc(1, sizeof *w);
    if (!w) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    w->dest.fd = fd;
    w->dest.capacity = fd >= 0 ? KK_FD_BUFFER : 65536;
    w->dest.buffer = malloc(w->dest.capacity);
    if (!w->dest.buffer) {
        free(w);
        return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    }
    kk_jpeg_error_setup(&w->err, status, KK_JPEG_ENCODER, 0);
    w->dest.err = &w->err;
    w->cinfo.err = &w->err.pub;
    if (setjmp(w->err.jump)) {
        int code = status->code ? status->code : KK_INVALID_ARGUMENT;
        kk_jpeg_writer_free(w);
        return code;
    }
    jpeg_create_compress(&w->cinfo);
    w->created = 1;
    w->dest.pub.init_destination = kk_dest_init;
    w->dest.pub.empty_output_buffer = kk_dest_empty;
    w->dest.pub.term_destination = kk_dest_term;
    w->cinfo.dest = &w->dest.pub;
    kk_jpeg_start_compress(&w->cinfo, width, height, channels, params, icc, icc_size, planes != NULL);
    if (planes) {
        kk_writer_layout(&w->cinfo, &w->planes);
        w->planar = 1;
        *planes = w->planes;
    }
    *out = w;
    return KK_OK;
}

int kk_jpeg_writer_open(int fd, uint32_t width, uint32_t height, int channels,
                        const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                        kk_jpeg_writer **writer, kk_status *status) {
    if (fd < 0) {
        *writer = NULL;
        memset(status, 0, sizeof *status);
        return kk_set_status(status, KK_INVALID_ARGUMENT, "no file descriptor to write the JPEG to");
    }
    return kk_writer_open(fd, width, height, channels, params, icc, icc_size, NULL, writer, status);
}

int kk_jpeg_writer_open_memory(uint32_t width, uint32_t height, int channels, const kk_jpeg_encode_params *params,
                               const void *icc, size_t icc_size, kk_jpeg_planes *planes,
                               kk_jpeg_writer **writer, kk_status *status) {
    return kk_writer_open(-1, width, height, channels, params, icc, icc_size, planes, writer, status);
}

/// Starts a call on `w`: NULL and earlier failures are refused; errors report into `status`.
static int kk_writer_enter(kk_jpeg_writer *w, kk_status *status) {
    int refused = kk_sticky_enter(w ? &w->sticky : NULL, "JPEG writer", status);
    if (w) w->err.status = status;
    return refused;
}

static int kk_writer_refuse(kk_jpeg_writer *w, kk_status *status, const char *message) {
    kk_set_status(status, KK_INVALID_ARGUMENT, message);
    return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
}

int kk_jpeg_writer_write_rows(kk_jpeg_writer *w, const void *rows, size_t stride, uint32_t count,
                              kk_status *status) {
    int code = kk_writer_enter(w, status);
    if (code != KK_OK) return code;
    struct jpeg_compress_struct *cinfo = &w->cinfo;
    if (w->planar) return kk_writer_refuse(w, status, "the writer was opened for planar bands");
    if (count > cinfo->image_height - cinfo->next_scanline || (count > 0 && !rows) ||
        (count > 1 && stride < (size_t)cinfo->image_width * (size_t)cinfo->input_components)) {
        char message[160];
        snprintf(message, sizeof message,
                 "%u more scanlines do not fit: %u of %u written (or the row stride is too short)",
                 count, cinfo->next_scanline, cinfo->image_height);
        return kk_writer_refuse(w, status, message);
    }
    if (setjmp(w->err.jump)) return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
    const unsigned char *base = (const unsigned char *)rows;
    JSAMPROW batch[16];
    uint32_t done = 0;
    while (done < count) {
        uint32_t n = count - done < 16 ? count - done : 16;
        // libjpeg's API is not const-correct; it only reads input rows.
        for (uint32_t i = 0; i < n; i++) batch[i] = (JSAMPROW)(base + (size_t)(done + i) * stride);
        JDIMENSION taken = jpeg_write_scanlines(cinfo, batch, n);
        if (taken == 0) kk_jpeg_fail(&w->err, KK_INVALID_ARGUMENT, "libjpeg accepted no scanlines");
        done += taken;
    }
    return KK_OK;
}

int kk_jpeg_writer_write_band(kk_jpeg_writer *w, void *band, kk_status *status) {
    int code = kk_writer_enter(w, status);
    if (code != KK_OK) return code;
    if (!w->planar || w->bands_written >= w->planes.bands)
        return kk_writer_refuse(w, status, w->planar ? "more bands than the image holds" : "the writer was not opened for planes");
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
    if (setjmp(w->err.jump)) return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
    (void)jpeg_write_raw_data(&w->cinfo, planes, (JDIMENSION)(w->cinfo.max_v_samp_factor * DCTSIZE));
    w->bands_written++;
    return KK_OK;
}

int kk_jpeg_writer_finish(kk_jpeg_writer *w, uint64_t *bytes, void **out, kk_status *status) {
    *bytes = 0;
    if (out) *out = NULL;
    int code = kk_writer_enter(w, status);
    if (code != KK_OK) return code;
    if (w->cinfo.next_scanline < w->cinfo.image_height) {
        char message[96];
        snprintf(message, sizeof message, "only %u of %u scanlines were written",
                 w->cinfo.next_scanline, w->cinfo.image_height);
        return kk_writer_refuse(w, status, message);
    }
    if (setjmp(w->err.jump)) return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
    jpeg_finish_compress(&w->cinfo);
    *bytes = kk_dest_size(&w->dest);
    if (out && w->dest.fd < 0) {
        *out = w->dest.buffer;
        w->dest.buffer = NULL;
    }
    return KK_OK;
}

uint64_t kk_jpeg_writer_bytes(const kk_jpeg_writer *w) {
    if (!w || !w->dest.buffer) return 0;
    uint64_t window = (uint64_t)(w->dest.capacity - w->dest.pub.free_in_buffer);
    return w->dest.fd >= 0 ? w->dest.flushed + window : window;
}

void kk_jpeg_writer_free(kk_jpeg_writer *w) {
    if (!w) return;
    if (w->created) jpeg_destroy_compress(&w->cinfo);
    free(w->dest.buffer);
    free(w);
}

// MARK: - Encoder set-up and the one-shot encode

void kk_jpeg_start_compress(struct jpeg_compress_struct *cinfo, uint32_t width, uint32_t height, int channels,
                          const kk_jpeg_encode_params *params, const void *icc, size_t icc_size, int planar) {
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = channels;
    cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : planar ? JCS_YCbCr : JCS_RGB;
    jpeg_set_defaults(cinfo);
    cinfo->raw_data_in = planar ? TRUE : FALSE;
    int quality = params->quality < 1 ? 1 : params->quality > 100 ? 100 : params->quality;
    jpeg_set_quality(cinfo, quality, TRUE);
    if (channels == 3) {
        int h = params->subsampling == 444 ? 1 : 2;
        cinfo->comp_info[0].h_samp_factor = h;
        cinfo->comp_info[0].v_samp_factor = h;
        cinfo->comp_info[1].h_samp_factor = cinfo->comp_info[1].v_samp_factor = 1;
        cinfo->comp_info[2].h_samp_factor = cinfo->comp_info[2].v_samp_factor = 1;
    }
    cinfo->optimize_coding = params->optimize ? TRUE : FALSE;
    cinfo->dct_method = JDCT_ISLOW;
    if (params->progressive) jpeg_simple_progression(cinfo);
    jpeg_start_compress(cinfo, TRUE);
    if (icc && icc_size > 0 && icc_size <= UINT_MAX)
        jpeg_write_icc_profile(cinfo, (const JOCTET *)icc, (unsigned int)icc_size);
    if (params->comment_size > 0 && params->comment_size <= KK_JPEG_COMMENT_MAX)
        jpeg_write_marker(cinfo, JPEG_COM, params->comment, params->comment_size);
}

int kk_jpeg_check_encode(uint32_t width, uint32_t height, int channels, kk_status *status) {
    if (channels != 1 && channels != 3) {
        status->code = KK_INVALID_ARGUMENT;
        kk_copy_message(status, "JPEG encodes 1 (gray) or 3 (RGB) channels");
        return KK_INVALID_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "JPEG cannot store %ux%u (each side 1...%d)",
                 width, height, (int)JPEG_MAX_DIMENSION);
        return KK_INVALID_ARGUMENT;
    }
    return KK_OK;
}

int kk_jpeg_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                   const kk_jpeg_encode_params *params, const void *icc, size_t icc_size,
                   void **out, size_t *out_size, kk_status *status) {
    // The one JPEG writer with a memory destination, all rows in one call: the same bytes as any
    // band-by-band writer with the same settings.
    *out = NULL;
    *out_size = 0;
    kk_jpeg_writer *writer = NULL;
    int code = kk_jpeg_writer_open_memory(width, height, channels, params, icc, icc_size, NULL, &writer, status);
    if (code != KK_OK) return code;
    uint64_t bytes = 0;
    code = kk_jpeg_writer_write_rows(writer, pixels, (size_t)width * (size_t)channels, height, status);
    if (code == KK_OK) code = kk_jpeg_writer_finish(writer, &bytes, out, status);
    if (code == KK_OK) *out_size = (size_t)bytes;
    kk_jpeg_writer_free(writer);
    return code;
}
