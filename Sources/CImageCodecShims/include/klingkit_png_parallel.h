// Parallel PNG encoding: the image's rows are cut into segments, each filtered and deflated on its own
// thread as an independent raw deflate stream ended by a full flush (byte-aligned, no back-references
// across it), and the segments are joined in order into one zlib stream whose Adler-32 is combined from
// the segments' (adler32_combine). Any PNG decoder reads the result; its pixels are exactly the input.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "klingkit_codec_shims.h"

#ifdef __cplusplus
extern "C" {
#endif

/// One tEXt chunk written after IHDR (keyword 1...79 Latin-1 bytes, no NUL; text any Latin-1).
typedef struct kk_png_text {
    const char *keyword;
    const char *text;
} kk_png_text;

/// A PNG written to a file descriptor by several threads (opaque).
typedef struct kk_ppng_writer kk_ppng_writer;

/// Starts a PNG on `fd`: signature, IHDR, iCCP (when `icc`), the tEXt chunks.
/// - `filters`: one KK_PNG_FILTER_* bit for that filter on every row, or 0 / several bits for the
///   adaptive choice among them (minimum sum of absolute differences, as libpng does).
/// - `threads`: 1...64 deflate threads; each call to kk_ppng_writer_write_rows cuts its rows into that
///   many segments (at least `min_segment_rows` rows each, default 32 when 0).
int kk_ppng_writer_open(int fd, uint32_t width, uint32_t height, int channels, int compression_level,
                        int filters, int threads, uint32_t min_segment_rows, const void *icc, size_t icc_size,
                        const kk_png_text *texts, size_t text_count, kk_ppng_writer **writer, kk_status *status);

/// Filters and deflates the next `count` rows (`stride` bytes apart) on the writer's threads and
/// writes the compressed segments in order. Memory: the rows' compressed size plus one row.
int kk_ppng_writer_write_rows(kk_ppng_writer *writer, const void *rows, size_t stride, uint32_t count,
                              kk_status *status);

/// Ends the zlib stream (final block, combined Adler-32) and writes IEND; `*bytes` is the file length.
int kk_ppng_writer_finish(kk_ppng_writer *writer, uint64_t *bytes, kk_status *status);

/// Releases the writer (finished or not); NULL is allowed.
void kk_ppng_writer_free(kk_ppng_writer *writer);

/// Reads a PNG's chunks up to the first IDAT from `data` and returns 1 when a tEXt chunk has
/// `keyword` (and, when `text_prefix` is not NULL, a text starting with it); 0 otherwise or when
/// `data` is not a PNG.
int kk_png_has_text(const void *data, size_t size, const char *keyword, const char *text_prefix);

#ifdef __cplusplus
}
#endif
