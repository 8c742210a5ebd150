// Parallel PNG encoder (see klingkit_png_parallel.h): PNG chunks written here, zlib for deflate,
// pthreads for the segments. No libpng: its single zlib stream cannot be split.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kk_fd_output.h"
#include "kk_internal.h"
#include "klingkit_png_parallel.h"

#define KK_PPNG_MAX_THREADS 64
#define KK_PPNG_IDAT_MAX (1u << 20)

struct kk_ppng_writer {
    uint32_t width, height, rows;
    int channels, level, filters, threads;
    uint32_t min_segment_rows;
    size_t row_bytes;              // width * channels
    unsigned char *previous;       // the last row written (unfiltered), for Up/Avg/Paeth across calls
    int has_previous;
    uLong adler;                   // Adler-32 of every filtered byte so far
    int header_written;            // the two zlib header bytes are out
    kk_sticky sticky;
    kk_fd_output output;
};

typedef struct kk_segment {
    const kk_ppng_writer *writer;
    const unsigned char *rows;     // first row of the segment
    size_t stride;
    uint32_t count;
    const unsigned char *prior;    // the row above the first one, or NULL at the top of the image
    int last;                      // ends the image: Z_FINISH instead of Z_FULL_FLUSH
    unsigned char *out;            // compressed bytes (malloc'd)
    size_t out_size;
    uLong adler;                   // Adler-32 of this segment's filtered bytes
    uLong filtered;                // how many filtered bytes (count * (row_bytes + 1))
    int code;                      // KK_OK or a failure
} kk_segment;

// MARK: - Chunks

static uint32_t be32(const unsigned char *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void put32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/// Writes one chunk: length, type, data, CRC-32 of type and data.
static int kk_chunk(kk_fd_output *out, const char type[4], const unsigned char *data, size_t size) {
    unsigned char head[8];
    put32(head, (uint32_t)size);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (size) crc = crc32(crc, data, (uInt)size);
    unsigned char tail[4];
    put32(tail, (uint32_t)crc);
    int code = kk_fd_append(out, head, 8);
    if (!code && size) code = kk_fd_append(out, data, size);
    if (!code) code = kk_fd_append(out, tail, 4);
    return code;
}

/// Writes `size` bytes of the zlib stream as IDAT chunks of at most KK_PPNG_IDAT_MAX bytes.
static int kk_idat(kk_fd_output *out, const unsigned char *data, size_t size) {
    while (size > 0) {
        size_t n = size < KK_PPNG_IDAT_MAX ? size : KK_PPNG_IDAT_MAX;
        int code = kk_chunk(out, "IDAT", data, n);
        if (code) return code;
        data += n;
        size -= n;
    }
    return 0;
}

static int kk_io_failure(kk_ppng_writer *writer, int error, kk_status *status) {
    status->code = KK_IO;
    kk_fd_describe(error, status->message, sizeof status->message);
    return kk_sticky_fail(&writer->sticky, status, KK_IO);
}

// MARK: - Filters

static unsigned paeth(unsigned a, unsigned b, unsigned c) {
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

/// Filters `row` with PNG filter `type` (0...4) into `out` (row_bytes bytes; `prior` may be NULL).
static void kk_filter_row(int type, const unsigned char *row, const unsigned char *prior, size_t n, int bpp,
                          unsigned char *out) {
    for (size_t i = 0; i < n; i++) {
        unsigned a = i >= (size_t)bpp ? row[i - bpp] : 0;
        unsigned b = prior ? prior[i] : 0;
        unsigned c = (prior && i >= (size_t)bpp) ? prior[i - bpp] : 0;
        unsigned pred = 0;
        switch (type) {
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: pred = paeth(a, b, c); break;
        default: pred = 0; break;
        }
        out[i] = (unsigned char)(row[i] - pred);
    }
}

/// The filter types a KK_PNG_FILTER_* bit set allows (0 means all five).
static int kk_filter_types(int filters, int types[5]) {
    static const int bits[5] = { KK_PNG_FILTER_NONE, KK_PNG_FILTER_SUB, KK_PNG_FILTER_UP, KK_PNG_FILTER_AVG, KK_PNG_FILTER_PAETH };
    int n = 0;
    for (int t = 0; t < 5; t++) if (filters == 0 || (filters & bits[t])) types[n++] = t;
    return n;
}

// MARK: - Segments

static void *kk_segment_run(void *argument) {
    kk_segment *segment = (kk_segment *)argument;
    const kk_ppng_writer *w = segment->writer;
    size_t n = w->row_bytes;
    int bpp = w->channels;
    int types[5];
    int type_count = kk_filter_types(w->filters, types);
    unsigned char *line = malloc(n + 1);
    unsigned char *trial = type_count > 1 ? malloc(n) : NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    segment->filtered = (uLong)segment->count * (uLong)(n + 1);
    size_t bound = 0;
    if (!line || (type_count > 1 && !trial) ||
        deflateInit2(&z, w->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(line);
        free(trial);
        segment->code = KK_NO_MEMORY;
        return NULL;
    }
    bound = deflateBound(&z, segment->filtered) + 64;
    segment->out = malloc(bound);
    if (!segment->out) {
        deflateEnd(&z);
        free(line);
        free(trial);
        segment->code = KK_NO_MEMORY;
        return NULL;
    }
    z.next_out = segment->out;
    z.avail_out = (uInt)bound;
    uLong adler = adler32(0L, Z_NULL, 0);
    const unsigned char *prior = segment->prior;
    for (uint32_t y = 0; y < segment->count; y++) {
        const unsigned char *row = segment->rows + (size_t)y * segment->stride;
        if (type_count == 1) {
            line[0] = (unsigned char)types[0];
            kk_filter_row(types[0], row, prior, n, bpp, line + 1);
        } else {
            // libpng's heuristic: the filter whose output has the smallest sum of |signed byte|.
            unsigned long best = (unsigned long)-1;
            for (int k = 0; k < type_count; k++) {
                kk_filter_row(types[k], row, prior, n, bpp, trial);
                unsigned long sum = 0;
                for (size_t i = 0; i < n && sum < best; i++) sum += trial[i] < 128 ? trial[i] : 256 - trial[i];
                if (sum < best) {
                    best = sum;
                    line[0] = (unsigned char)types[k];
                    memcpy(line + 1, trial, n);
                }
            }
        }
        adler = adler32(adler, line, (uInt)(n + 1));
        z.next_in = line;
        z.avail_in = (uInt)(n + 1);
        int flush = (y + 1 == segment->count) ? (segment->last ? Z_FINISH : Z_FULL_FLUSH) : Z_NO_FLUSH;
        int rc = deflate(&z, flush);
        if (rc == Z_STREAM_ERROR || z.avail_in != 0 || (flush == Z_FINISH && rc != Z_STREAM_END)) {
            segment->code = KK_LIMIT;
            break;
        }
        prior = row;
    }
    segment->out_size = bound - z.avail_out;
    segment->adler = adler;
    deflateEnd(&z);
    free(line);
    free(trial);
    return NULL;
}

// MARK: - Writer

int kk_ppng_writer_open(int fd, uint32_t width, uint32_t height, int channels, int compression_level,
                        int filters, int threads, uint32_t min_segment_rows, const void *icc, size_t icc_size,
                        const kk_png_text *texts, size_t text_count, kk_ppng_writer **out, kk_status *status) {
    *out = NULL;
    memset(status, 0, sizeof *status);
    if (channels < 1 || channels > 4 || width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu ||
        (size_t)width * (size_t)channels > ((size_t)1 << 31))
        return kk_set_status(status, KK_INVALID_ARGUMENT, "PNG encodes 1...4 channels and sides of 1...2^31-1 pixels");
    if (fd < 0) return kk_set_status(status, KK_INVALID_ARGUMENT, "no file descriptor to write the PNG to");
    if (threads < 1 || threads > KK_PPNG_MAX_THREADS)
        return kk_set_status(status, KK_INVALID_ARGUMENT, "PNG encoder threads must be 1...64");
    kk_ppng_writer *w = calloc(1, sizeof *w);
    if (!w) return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    w->width = width;
    w->height = height;
    w->channels = channels;
    w->level = compression_level < 0 ? 0 : compression_level > 9 ? 9 : compression_level;
    w->filters = filters;
    w->threads = threads;
    w->min_segment_rows = min_segment_rows ? min_segment_rows : 32;
    w->row_bytes = (size_t)width * (size_t)channels;
    w->previous = malloc(w->row_bytes);
    w->adler = adler32(0L, Z_NULL, 0);
    w->output.fd = fd;
    if (!w->previous) {
        free(w);
        return kk_set_status(status, KK_NO_MEMORY, "out of memory");
    }
    static const unsigned char signature[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
    static const unsigned char color_types[5] = { 0, 0, 4, 2, 6 };
    unsigned char ihdr[13];
    put32(ihdr, width);
    put32(ihdr + 4, height);
    ihdr[8] = 8;
    ihdr[9] = color_types[channels];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    int code = kk_fd_append(&w->output, signature, 8);
    if (!code) code = kk_chunk(&w->output, "IHDR", ihdr, 13);
    if (!code && icc && icc_size > 0) {
        // iCCP: name, NUL, compression method 0, zlib-compressed profile.
        static const char name[] = "ICC profile";
        uLong bound = compressBound((uLong)icc_size);
        unsigned char *chunk = malloc(sizeof name + 1 + bound);
        if (!chunk) code = ENOMEM;
        else {
            memcpy(chunk, name, sizeof name);
            chunk[sizeof name] = 0;
            uLongf packed = bound;
            if (compress2(chunk + sizeof name + 1, &packed, icc, (uLong)icc_size, 9) == Z_OK)
                code = kk_chunk(&w->output, "iCCP", chunk, sizeof name + 1 + packed);
            free(chunk);
        }
    }
    for (size_t t = 0; !code && t < text_count; t++) {
        size_t k = strlen(texts[t].keyword), v = strlen(texts[t].text);
        if (k < 1 || k > 79) {
            free(w->previous);
            free(w);
            return kk_set_status(status, KK_INVALID_ARGUMENT, "a PNG text keyword must be 1...79 bytes");
        }
        unsigned char *chunk = malloc(k + 1 + v);
        if (!chunk) { code = ENOMEM; break; }
        memcpy(chunk, texts[t].keyword, k);
        chunk[k] = 0;
        memcpy(chunk + k + 1, texts[t].text, v);
        code = kk_chunk(&w->output, "tEXt", chunk, k + 1 + v);
        free(chunk);
    }
    if (code) {
        status->code = KK_IO;
        kk_fd_describe(code, status->message, sizeof status->message);
        free(w->previous);
        free(w);
        return KK_IO;
    }
    *out = w;
    return KK_OK;
}

int kk_ppng_writer_write_rows(kk_ppng_writer *w, const void *rows, size_t stride, uint32_t count, kk_status *status) {
    int code = kk_sticky_enter(w ? &w->sticky : NULL, "PNG writer", status);
    if (code != KK_OK) return code;
    if (count == 0) return KK_OK;
    if (count > w->height - w->rows || !rows || stride < w->row_bytes) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message,
                 "%u more rows do not fit: %u of %u written (or the row stride is too short)", count, w->rows, w->height);
        return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
    }
    uint32_t pieces = (uint32_t)w->threads;
    if (count / pieces < w->min_segment_rows) pieces = count / w->min_segment_rows;
    if (pieces < 1) pieces = 1;
    kk_segment segments[KK_PPNG_MAX_THREADS];
    pthread_t workers[KK_PPNG_MAX_THREADS];
    int started[KK_PPNG_MAX_THREADS] = { 0 };
    const unsigned char *base = (const unsigned char *)rows;
    uint32_t first = 0;
    for (uint32_t p = 0; p < pieces; p++) {
        uint32_t n = count / pieces + (p < count % pieces ? 1 : 0);
        kk_segment *s = &segments[p];
        memset(s, 0, sizeof *s);
        s->writer = w;
        s->rows = base + (size_t)first * stride;
        s->stride = stride;
        s->count = n;
        s->prior = first > 0 ? base + (size_t)(first - 1) * stride : (w->has_previous ? w->previous : NULL);
        s->last = (p + 1 == pieces) && (w->rows + count == w->height);
        first += n;
    }
    // The first segment runs on this thread; the others on threads of their own.
    for (uint32_t p = 1; p < pieces; p++) started[p] = pthread_create(&workers[p], NULL, kk_segment_run, &segments[p]) == 0;
    kk_segment_run(&segments[0]);
    for (uint32_t p = 1; p < pieces; p++) {
        if (started[p]) pthread_join(workers[p], NULL);
        else kk_segment_run(&segments[p]);
    }
    int failure = KK_OK;
    for (uint32_t p = 0; p < pieces; p++) if (segments[p].code && !failure) failure = segments[p].code;
    int error = 0;
    if (!failure && !w->header_written) {
        // zlib header: deflate, 32 KiB window, FLEVEL from the level, FCHECK making it a multiple of 31.
        unsigned flevel = w->level < 2 ? 0 : w->level < 6 ? 1 : w->level == 6 ? 2 : 3;
        unsigned header = (0x78u << 8) | (flevel << 6);
        if (header % 31) header += 31 - header % 31;
        unsigned char zh[2] = { (unsigned char)(header >> 8), (unsigned char)header };
        error = kk_idat(&w->output, zh, 2);
        w->header_written = 1;
    }
    for (uint32_t p = 0; p < pieces; p++) {
        if (!failure && !error) {
            error = kk_idat(&w->output, segments[p].out, segments[p].out_size);
            w->adler = adler32_combine(w->adler, segments[p].adler, (z_off_t)segments[p].filtered);
        }
        free(segments[p].out);
    }
    if (failure) {
        kk_set_status(status, failure, failure == KK_NO_MEMORY ? "out of memory" : "deflate failed");
        return kk_sticky_fail(&w->sticky, status, failure);
    }
    if (error) return kk_io_failure(w, error, status);
    memcpy(w->previous, base + (size_t)(count - 1) * stride, w->row_bytes);
    w->has_previous = 1;
    w->rows += count;
    if (w->rows == w->height) {
        unsigned char trailer[4];
        put32(trailer, (uint32_t)w->adler);
        error = kk_idat(&w->output, trailer, 4);
        if (error) return kk_io_failure(w, error, status);
    }
    return KK_OK;
}

int kk_ppng_writer_finish(kk_ppng_writer *w, uint64_t *bytes, kk_status *status) {
    *bytes = 0;
    int code = kk_sticky_enter(w ? &w->sticky : NULL, "PNG writer", status);
    if (code != KK_OK) return code;
    if (w->rows != w->height) {
        status->code = KK_INVALID_ARGUMENT;
        snprintf(status->message, sizeof status->message, "only %u of %u rows were written", w->rows, w->height);
        return kk_sticky_fail(&w->sticky, status, KK_INVALID_ARGUMENT);
    }
    int error = kk_chunk(&w->output, "IEND", NULL, 0);
    if (!error) error = kk_fd_flush(&w->output);
    if (error) return kk_io_failure(w, error, status);
    *bytes = w->output.written;
    return KK_OK;
}

void kk_ppng_writer_free(kk_ppng_writer *w) {
    if (!w) return;
    free(w->previous);
    free(w);
}

int kk_png_has_text(const void *data, size_t size, const char *keyword, const char *text_prefix) {
    static const unsigned char signature[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
    const unsigned char *p = (const unsigned char *)data;
    if (size < 8 || memcmp(p, signature, 8) != 0) return 0;
    size_t at = 8, k = strlen(keyword);
    while (at + 8 <= size) {
        uint32_t length = be32(p + at);
        const unsigned char *type = p + at + 4;
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0) return 0;
        if ((size_t)length > size - at - 8) return 0;
        const unsigned char *body = p + at + 8;
        if (memcmp(type, "tEXt", 4) == 0 && length > k && memcmp(body, keyword, k) == 0 && body[k] == 0) {
            if (!text_prefix) return 1;
            size_t t = strlen(text_prefix);
            if (length - k - 1 >= t && memcmp(body + k + 1, text_prefix, t) == 0) return 1;
        }
        if ((size_t)length + 12 > size - at) return 0;
        at += (size_t)length + 12;
    }
    return 0;
}
