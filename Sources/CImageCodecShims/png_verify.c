// Verification of a PNG's image data without unfiltering it (see kk_png_decode with pixels == NULL).
//
// Why: checking an upload means proving the whole stream decodes. libpng's row reader inflates every
// row and then unfilters it (its Paeth filter is scalar in Debian's build): on a 3840x2400 screenshot
// the unfilter is ~45 % of the time and proves nothing, because unfiltering cannot fail once every
// row's filter type is valid. So libpng still walks every chunk (signature, IHDR, PLTE, iCCP limits,
// order, every CRC, IEND) but hands IDAT over as an unknown chunk (libpng's documented way for an
// application to take the image data); this file records where the IDAT run lies and then inflates it,
// counting the rows of every pass and checking each filter-type byte.
//
// The inflate: libdeflate, whole, when the image data is at most KK_PNG_WHOLE_MAX (it decodes
// about 2.2x faster than zlib, 68 ms against 152 ms on that screenshot's 27.6 MB, but only into one
// buffer holding the whole output); above that, or when the zlib header declares a window under
// 32 KiB (libdeflate does not hold a stream to its declared window, zlib and libpng do), zlib streams
// it through a 256 KiB buffer. Both check the Adler-32. libdeflate accepts a few Huffman-table forms
// zlib refuses (a literal/length count of 287-288 or a distance count of 31-32 in a block header, a
// one-codeword precode: see its deflate_decompress.c); a stream using them has to be built on purpose
// and still decode to data matching its own Adler-32, and for such a file alone this pass says
// "valid" where libpng's reader says "corrupt".
//
// It only ever says "pristine": the stream ends exactly with the last row, in one contiguous run of
// IDAT chunks, nothing left over. Anything else (a zlib error, too little or too much data, a bad
// filter byte, IDAT after another chunk, an unknown critical chunk, a chunk over 8 MiB that libpng
// would refuse to cache) sends the caller back to libpng's own row reader, whose verdict and message
// are then the answer. Row sizes follow the PNG specification (ISO/IEC 15948, 7.2 and 8.2 Adam7).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
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

/// The most image data (every row of every pass, filter bytes included) inflated whole by libdeflate:
/// 64 MiB, a 21-megapixel RGB or 16-megapixel RGBA image at 8 bits. The verification then holds this
/// and a copy of the IDAT bytes.
#define KK_PNG_WHOLE_MAX ((uint64_t)64 << 20)

/// Every row of every pass from `rows` (positioned on its first pass) on, filter bytes included.
static uint64_t kk_png_raw_bytes(kk_png_rows rows) {
    uint64_t total = 0;
    do {
        total += (uint64_t)rows.rows_left * rows.row_bytes;
    } while (kk_png_next_pass(&rows));
    return total;
}

/// The whole-buffer pass: 1 pristine, 0 not (or out of memory: the row reader decides), -1 when the
/// zlib header declares a window under 32 KiB and zlib must judge the stream.
static int kk_png_pristine_whole(const kk_png_idat_run *run, const unsigned char *data, kk_png_rows rows,
                                 size_t raw) {
    size_t packed = 0;
    for (size_t offset = run->first; offset < run->end; offset += 12 + (size_t)kk_be32(data + offset)) {
        packed += kk_be32(data + offset);
    }
    if (packed < 2) return 0;
    unsigned char *in = malloc(packed);
    if (!in) return 0;
    size_t at = 0;
    for (size_t offset = run->first; offset < run->end; offset += 12 + (size_t)kk_be32(data + offset)) {
        memcpy(in + at, data + offset + 8, kk_be32(data + offset));
        at += kk_be32(data + offset);
    }
    if ((in[0] >> 4) != 7) {
        free(in);
        return -1;
    }
    unsigned char *out = malloc(raw);
    struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
    int pristine = 0;
    if (out && inflater) {
        size_t used_in = 0, used_out = 0;
        if (libdeflate_zlib_decompress_ex(inflater, in, packed, out, raw, &used_in, &used_out) == LIBDEFLATE_SUCCESS
            && used_in == packed && used_out == raw) {
            pristine = 1;
            at = 0;
            do {
                for (uint32_t row = 0; row < rows.rows_left && pristine; row++, at += rows.row_bytes) {
                    if (out[at] > 4) pristine = 0;  // bad filter type
                }
            } while (pristine && kk_png_next_pass(&rows));
        }
    }
    libdeflate_free_decompressor(inflater);
    free(out);
    free(in);
    return pristine;
}

int kk_png_idat_pristine(const kk_png_idat_run *run, const unsigned char *data, const kk_png_info *info) {
    if (run->anomaly || run->first == SIZE_MAX) return 0;
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};  // by PNG colour type
    if (info->color_type < 0 || info->color_type > 6 || channels[info->color_type] == 0) return 0;
    kk_png_rows rows = { info->width, info->height, channels[info->color_type] * info->bit_depth,
                         info->interlaced, -1, 0, 0 };
    if (!kk_png_next_pass(&rows)) return 0;
    uint64_t raw = kk_png_raw_bytes(rows);
    if (raw <= KK_PNG_WHOLE_MAX) {
        int whole = kk_png_pristine_whole(run, data, rows, (size_t)raw);
        if (whole >= 0) return whole;
    }

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
        uint32_t length = kk_be32(data + offset);
        z.next_in = (Bytef *)(data + offset + 8);
        z.avail_in = length;
        offset += 12 + (size_t)length;
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
