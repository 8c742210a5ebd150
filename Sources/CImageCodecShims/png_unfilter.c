// Reversing PNG row filters (ISO/IEC 15948, 9.2-9.4) in place, for image data that png_verify.c
// inflated whole: the decode of a pristine 8-bit PNG (see kk_png_idat_inflate).
//
// Why not libpng's: its own row reader inflates with zlib and unfilters one byte at a time (Debian's
// build has no SIMD filters), 130 ms of a 3840x2400 RGB screenshot; here Paeth, the filter encoders
// choose most, runs one pixel per step in SSE2 16-bit lanes. The predictor is the specification's:
// p = a + b - c, the nearest of a (left), b (above), c (above-left), ties in that order.
#include <stdint.h>
#include <string.h>

#include "kk_internal.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <emmintrin.h>
#define KK_UNFILTER_SSE2 1
#endif

static inline uint8_t kk_paeth(int a, int b, int c) {
    int pa = b - c, pb = a - c, pc = a + b - 2 * c;
    pa = pa < 0 ? -pa : pa;
    pb = pb < 0 ? -pb : pb;
    pc = pc < 0 ? -pc : pc;
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

#ifdef KK_UNFILTER_SSE2
/// One pixel of `bpp` (3 or 4) bytes in 16-bit lanes: loads take 4 bytes (the caller's buffers have
/// slack past the last pixel), stores write exactly `bpp`.
static inline __m128i kk_load_pixel(const unsigned char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_unpacklo_epi8(_mm_cvtsi32_si128(v), _mm_setzero_si128());
}

static inline void kk_store_pixel(unsigned char *p, __m128i wide, int bpp) {
    int32_t v = _mm_cvtsi128_si32(_mm_packus_epi16(wide, wide));
    memcpy(p, &v, (size_t)bpp);
}

static inline __m128i kk_abs16(__m128i x) { return _mm_max_epi16(x, _mm_sub_epi16(_mm_setzero_si128(), x)); }

static void kk_paeth_sse2(unsigned char *row, const unsigned char *above, size_t length, int bpp) {
    const __m128i mask = _mm_set1_epi16(0xFF);
    __m128i a = _mm_setzero_si128(), c = _mm_setzero_si128();
    for (size_t i = 0; i < length; i += (size_t)bpp) {
        __m128i b = kk_load_pixel(above + i);
        __m128i pa = kk_abs16(_mm_sub_epi16(b, c));
        __m128i pb = kk_abs16(_mm_sub_epi16(a, c));
        __m128i pc = kk_abs16(_mm_sub_epi16(_mm_add_epi16(a, b), _mm_add_epi16(c, c)));
        // a where pa <= pb and pa <= pc, else b where pb <= pc, else c.
        __m128i take_a = _mm_andnot_si128(_mm_or_si128(_mm_cmpgt_epi16(pa, pb), _mm_cmpgt_epi16(pa, pc)), _mm_set1_epi16(-1));
        __m128i take_b = _mm_andnot_si128(_mm_cmpgt_epi16(pb, pc), _mm_set1_epi16(-1));
        __m128i b_or_c = _mm_or_si128(_mm_and_si128(take_b, b), _mm_andnot_si128(take_b, c));
        __m128i predicted = _mm_or_si128(_mm_and_si128(take_a, a), _mm_andnot_si128(take_a, b_or_c));
        __m128i value = _mm_and_si128(_mm_add_epi16(kk_load_pixel(row + i), predicted), mask);
        kk_store_pixel(row + i, value, bpp);
        a = value;
        c = b;
    }
}
#endif

void kk_png_unfilter_row(unsigned char *row, const unsigned char *above, size_t length, int bpp, int filter) {
    size_t i;
    switch (filter) {
    case 1:  // Sub
        for (i = (size_t)bpp; i < length; i++) row[i] = (uint8_t)(row[i] + row[i - (size_t)bpp]);
        break;
    case 2:  // Up
        if (!above) break;
        for (i = 0; i < length; i++) row[i] = (uint8_t)(row[i] + above[i]);
        break;
    case 3:  // Average
        if (!above) {
            for (i = (size_t)bpp; i < length; i++) row[i] = (uint8_t)(row[i] + (row[i - (size_t)bpp] >> 1));
            break;
        }
        for (i = 0; i < (size_t)bpp && i < length; i++) row[i] = (uint8_t)(row[i] + (above[i] >> 1));
        for (; i < length; i++) row[i] = (uint8_t)(row[i] + ((row[i - (size_t)bpp] + above[i]) >> 1));
        break;
    case 4:  // Paeth; on the first row it is Sub (b = c = 0)
        if (!above) {
            for (i = (size_t)bpp; i < length; i++) row[i] = (uint8_t)(row[i] + row[i - (size_t)bpp]);
            break;
        }
#ifdef KK_UNFILTER_SSE2
        if (bpp == 3 || bpp == 4) {
            kk_paeth_sse2(row, above, length, bpp);
            break;
        }
#endif
        for (i = 0; i < (size_t)bpp && i < length; i++) row[i] = (uint8_t)(row[i] + above[i]);
        for (; i < length; i++) {
            row[i] = (uint8_t)(row[i] + kk_paeth(row[i - (size_t)bpp], above[i], above[i - (size_t)bpp]));
        }
        break;
    default:  // None
        break;
    }
}

void kk_png_raw_row(unsigned char *raw, uint32_t y, size_t stride, int bpp, unsigned char *out) {
    unsigned char *row = raw + (size_t)y * (stride + 1);
    kk_png_unfilter_row(row + 1, y ? row + 1 - (stride + 1) : NULL, stride, bpp, row[0]);
    memcpy(out, row + 1, stride);
}
