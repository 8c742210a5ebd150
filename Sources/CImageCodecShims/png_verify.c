// Verification of a PNG's image data without unfiltering it (see kk_png_decode with pixels == NULL).
//
// Why: checking an upload means proving the whole stream decodes. libpng's row reader inflates every
// row and then unfilters it (its Paeth filter is scalar in Debian's build): on a 3840x2400 screenshot
// the unfilter is ~45 % of the time and proves nothing, because unfiltering cannot fail once every
// row's filter type is valid. So libpng still walks every chunk (signature, IHDR, PLTE, iCCP limits,
// order, every CRC, IEND) but hands IDAT over as an unknown chunk (libpng's documented way for an
// application to take the image data); this file records where the IDAT run lies and then inflates it
// with zlib, counting the rows of every pass and checking each filter-type byte.
//
// The same walk serves the decode of a pristine 8-bit PNG (kk_png_idat_inflate): its image data is
// inflated whole, then unfiltered by png_unfilter.c. Both inflate with zlib, as libpng does, so the
// verdict is zlib's. (libdeflate was tried: 2.2x faster, but it decodes litlen symbols 286-287 and
// distance symbols 30-31 as 285 and 29, which zlib refuses; one flipped bit in a fixed-Huffman block
// of a flat area made a file it accepted and libpng refused.)
//
// It only ever says "pristine": the stream ends exactly with the last row, in one contiguous run of
// IDAT chunks, nothing left over. Anything else (a zlib error, too little or too much data, a bad
// filter byte, IDAT after another chunk, an unknown critical chunk, a chunk over 8 MiB that libpng
// would refuse to cache) sends the caller back to libpng's own row reader, whose verdict and message
// are then the answer. Row sizes follow the PNG specification (ISO/IEC 15948, 7.2 and 8.2 Adam7).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kk_internal.h"

static uint32_t kk_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int kk_png_chunks_fit(const unsigned char *data, size_t size) {
    size_t offset = 8;  // after the signature (libpng checks it)
    while (offset <= size && size - offset >= 12) {
        uint32_t length = kk_be32(data + offset);
        if (length > KK_PNG_CHUNK_MAX || (size_t)length > size - offset - 12) return 0;
        if (memcmp(data + offset + 4, "IEND", 4) == 0) return 1;
        offset += 12 + (size_t)length;
    }
    return 0;
}

/// libpng's callback for the chunks it treats as unknown: IDAT (recorded), the ancillary chunks we
/// never use (dropped, as PNG_HANDLE_CHUNK_NEVER would) and truly unknown ones. Called after libpng
/// has read the chunk and checked its CRC; the source offset is then just past the CRC.
static int kk_png_take_chunk(png_structp png, png_unknown_chunkp chunk) {
    kk_png_idat_run *run = (kk_png_idat_run *)png_get_user_chunk_ptr(png);
    if (memcmp(chunk->name, "IDAT", 4) == 0) {
        size_t start = *run->offset - 12 - chunk->size;
        if (run->first == SIZE_MAX) {
            run->first = start;
            run->end = *run->offset;
        } else if (start == run->end) {
            run->end = *run->offset;
        } else {
            run->anomaly = 1;  // IDAT after another chunk: libpng's reader would not read it as image data
        }
    } else if ((chunk->name[0] & 0x20) == 0) {
        run->anomaly = 1;      // an unknown critical chunk: libpng's row reader decides (before IDAT it refuses)
    }
    return 1;
}

void kk_png_idat_install(png_structp png, kk_png_idat_run *run, const size_t *offset) {
    run->offset = offset;
    run->first = SIZE_MAX;
    run->end = 0;
    run->anomaly = 0;
    static const png_byte idat[] = "IDAT";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, idat, 1);
    png_set_read_user_chunk_fn(png, run, kk_png_take_chunk);
}

/// The rows of one image, pass after pass (one pass unless Adam7).
typedef struct kk_png_rows {
    uint32_t width, height;
    int pixel_bits;
    int interlaced;
    int pass;             ///< the pass of the current row (7 when all are done)
    uint32_t rows_left;   ///< rows still to come in this pass
    size_t row_bytes;     ///< bytes of one row of this pass, filter byte included
} kk_png_rows;

// Adam7: first column, column step, first row, row step of each pass.
static const uint8_t kk_adam7[7][4] = {
    {0, 8, 0, 8}, {4, 8, 0, 8}, {0, 4, 4, 8}, {2, 4, 0, 4}, {0, 2, 2, 4}, {1, 2, 0, 2}, {0, 1, 1, 2},
};

/// Moves to the next pass that has rows; returns 0 when there is none.
static int kk_png_next_pass(kk_png_rows *rows) {
    int passes = rows->interlaced ? 7 : 1;
    while (++rows->pass < passes) {
        uint32_t x0 = 0, dx = 1, y0 = 0, dy = 1;
        if (rows->interlaced) {
            x0 = kk_adam7[rows->pass][0]; dx = kk_adam7[rows->pass][1];
            y0 = kk_adam7[rows->pass][2]; dy = kk_adam7[rows->pass][3];
        }
        uint64_t columns = rows->width > x0 ? (rows->width - x0 + dx - 1) / dx : 0;
        uint32_t count = rows->height > y0 ? (rows->height - y0 + dy - 1) / dy : 0;
        if (columns == 0 || count == 0) continue;  // an empty pass has no rows, not even filter bytes
        rows->rows_left = count;
        rows->row_bytes = (size_t)((columns * (uint64_t)rows->pixel_bits + 7) / 8) + 1;
        return 1;
    }
    rows->pass = 7;
    return 0;
}

/// The output buffer zlib inflates into; its bytes are only looked at, never kept.
#define KK_INFLATE_WINDOW (256 * 1024)

/// Hands zlib the data of the IDAT chunk at `*offset` and moves `*offset` past it.
static void kk_png_feed_idat(z_stream *z, const unsigned char *data, size_t *offset) {
    uint32_t length = kk_be32(data + *offset);
    z->next_in = (Bytef *)(data + *offset + 8);
    z->avail_in = length;
    *offset += 12 + (size_t)length;
}

/// The most image data (every row, filter bytes included) the pristine decode inflates whole: 64 MiB,
/// a 21-megapixel RGB or 16-megapixel RGBA image; it is held beside the decoded pixels for the while.
#define KK_PNG_WHOLE_MAX ((uint64_t)64 << 20)

static const int kk_png_channels[7] = {1, 0, 3, 1, 2, 0, 4};  // by PNG colour type

int kk_png_pristine_kind(const kk_png_info *info) {
    return info->bit_depth == 8 && !info->interlaced && !info->has_trns && info->color_type >= 0
        && info->color_type <= 6 && info->color_type != 3 && kk_png_channels[info->color_type] != 0;
}

int kk_png_idat_inflate(const kk_png_idat_run *run, const unsigned char *data, const kk_png_info *info,
                        unsigned char **raw) {
    *raw = NULL;
    if (run->anomaly || run->first == SIZE_MAX || !kk_png_pristine_kind(info)) return 0;
    size_t row_bytes = (size_t)info->width * (size_t)kk_png_channels[info->color_type] + 1;
    uint64_t total = (uint64_t)row_bytes * info->height;
    if (info->height == 0 || total > KK_PNG_WHOLE_MAX) return 0;
    size_t size = (size_t)total;
    unsigned char *out = malloc(size + KK_PNG_RAW_SLACK);
    if (!out) return 0;
    kk_advise_large_buffer(out, size);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 0) != Z_OK) {  // windowBits 0: the window the stream declares, as libpng
        free(out);
        return 0;
    }
    // One output buffer for the whole image: zlib decodes straight into it (no window copies), and
    // a stream longer than the image stops with no room left, short of its end.
    z.next_out = out;
    z.avail_out = (uInt)size;
    int ended = 0;
    size_t offset = run->first;
    while (offset < run->end && !ended) {
        kk_png_feed_idat(&z, data, &offset);
        int ret = inflate(&z, Z_NO_FLUSH);
        if (ret == Z_STREAM_END) ended = 1;
        else if (ret != Z_OK && !(ret == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out > 0)) break;
        if (!ended && z.avail_in > 0) break;  // no room for what this chunk holds: too much image data
    }
    int pristine = ended && z.avail_in == 0 && offset == run->end && z.total_out == size;
    inflateEnd(&z);
    for (size_t at = 0; pristine && at < size; at += row_bytes) {
        if (out[at] > 4) pristine = 0;  // bad filter type
    }
    if (!pristine) {
        free(out);
        return 0;
    }
    memset(out + size, 0, KK_PNG_RAW_SLACK);
    *raw = out;
    return 1;
}

int kk_png_idat_pristine(const kk_png_idat_run *run, const unsigned char *data, const kk_png_info *info) {
    if (run->anomaly || run->first == SIZE_MAX) return 0;
    if (info->color_type < 0 || info->color_type > 6 || kk_png_channels[info->color_type] == 0) return 0;
    kk_png_rows rows = { info->width, info->height, kk_png_channels[info->color_type] * info->bit_depth,
                         info->interlaced, -1, 0, 0 };
    if (!kk_png_next_pass(&rows)) return 0;

    unsigned char *out = malloc(KK_INFLATE_WINDOW);
    if (!out) return 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    // windowBits 0: the window the stream's header declares, as libpng inflates it.
    if (inflateInit2(&z, 0) != Z_OK) {
        free(out);
        return 0;
    }
    int pristine = 0, ended = 0;
    size_t left_in_row = 0;  // bytes of the current row still to come; 0: the next byte is a filter type
    size_t offset = run->first;
    while (offset < run->end && !ended) {
        kk_png_feed_idat(&z, data, &offset);
        for (;;) {
            z.next_out = out;
            z.avail_out = KK_INFLATE_WINDOW;
            int ret = inflate(&z, Z_NO_FLUSH);
            size_t produced = KK_INFLATE_WINDOW - z.avail_out;
            for (size_t i = 0; i < produced;) {
                if (left_in_row == 0) {
                    if (rows.rows_left == 0 && !kk_png_next_pass(&rows)) goto done;  // too much image data
                    if (out[i] > 4) goto done;                                       // bad filter type
                    rows.rows_left--;
                    left_in_row = rows.row_bytes;
                }
                size_t take = produced - i < left_in_row ? produced - i : left_in_row;
                i += take;
                left_in_row -= take;
            }
            if (ret == Z_STREAM_END) {
                ended = 1;
                break;
            }
            if (ret == Z_BUF_ERROR && z.avail_in == 0) break;  // nothing pending: the next chunk's bytes
            if (ret != Z_OK) goto done;                         // corrupt data
            // Input used up and room left over: nothing pending. A full buffer may hold back output.
            if (z.avail_in == 0 && z.avail_out != 0) break;
        }
    }
    // Pristine: the stream ended with the last row of the last pass, in the last IDAT, no byte left.
    pristine = ended && z.avail_in == 0 && offset == run->end && left_in_row == 0 && rows.rows_left == 0
        && !kk_png_next_pass(&rows);
done:
    inflateEnd(&z);
    free(out);
    return pristine;
}
