// Scalar reference kernels, the one-shot encoder and the strict (streaming) decoder. The scalar kernels
// are the reference the SIMD kernels (base64_*.c) are tested against, and the streaming decoder's state
// machine is read beside them. Kernel selection lives in base64_select.c.
#include "klingkit_base64.h"
#include "base64_internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// MARK: - Scalar kernels
//
// The portable path (the only one on Apple silicon and other non-x86 CPUs) and the reference every
// SIMD kernel is tested against. Two table tricks, built once per process on first use:
//  * encode: a 4096-entry table maps each 12-bit half of a 3-byte group straight to its 2 characters;
//  * decode: four 256-entry tables hold each character's value pre-shifted to its place in the 24-bit
//    group, with bit 31 set for bytes outside the alphabet, so a quantum is 4 loads, 3 ORs and 1 test.
// Until the tables are ready (or while another thread builds them) the plain per-character loops run.

typedef struct {
    uint16_t pairs[4096];
    uint32_t shifted[4][256];
} kk_scalar_tables;

static kk_scalar_tables kk_scalar[2];
static int kk_scalar_state = 0;  // 0 not built, 1 building, 2 ready

static const kk_scalar_tables *kk_scalar_tables_for(const kk_b64_tables *t) {
    int state = __atomic_load_n(&kk_scalar_state, __ATOMIC_ACQUIRE);
    if (state != 2) {
        int expected = 0;
        if (state != 0 || !__atomic_compare_exchange_n(&kk_scalar_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return NULL;  // another thread is building them
        }
        for (int k = 0; k < 2; k++) {
            const kk_b64_tables *src = &kk_b64_tables_all[k];
            for (unsigned v = 0; v < 4096; v++) {
                const uint8_t pair[2] = { (uint8_t)src->alphabet[v >> 6], (uint8_t)src->alphabet[v & 63] };
                memcpy(&kk_scalar[k].pairs[v], pair, 2);
            }
            for (unsigned c = 0; c < 256; c++) {
                const uint32_t v = src->decode[c];
                for (int p = 0; p < 4; p++) {
                    kk_scalar[k].shifted[p][c] = v == 0xff ? 0x80000000u : v << (18 - 6 * p);
                }
            }
        }
        __atomic_store_n(&kk_scalar_state, 2, __ATOMIC_RELEASE);
    }
    return &kk_scalar[t == &kk_b64_tables_all[1] ? 1 : 0];
}

static inline uint64_t kk_load_be64(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static inline void kk_store_be64(uint8_t *p, uint64_t x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

size_t kk_b64_encode_scalar(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t) {
    const char *a = t->alphabet;
    size_t i = 0;
    const kk_scalar_tables *fast = kk_scalar_tables_for(t);
    if (fast != NULL) {
        const uint16_t *pairs = fast->pairs;
        // Two groups (6 bytes -> 8 characters) per step from one 8-byte load.
        for (; i + 8 <= length; i += 6, dst += 8) {
            const uint64_t x = kk_load_be64(src + i);
            const uint32_t w0 = (uint32_t)(x >> 40), w1 = (uint32_t)(x >> 16) & 0xffffff;
            const uint16_t out[4] = { pairs[w0 >> 12], pairs[w0 & 0xfff], pairs[w1 >> 12], pairs[w1 & 0xfff] };
            memcpy(dst, out, 8);
        }
    }
    for (; i + 3 <= length; i += 3, dst += 4) {
        uint32_t w = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8) | src[i + 2];
        dst[0] = (uint8_t)a[w >> 18];
        dst[1] = (uint8_t)a[(w >> 12) & 63];
        dst[2] = (uint8_t)a[(w >> 6) & 63];
        dst[3] = (uint8_t)a[w & 63];
    }
    return i;
}

size_t kk_b64_decode_scalar(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t) {
    const uint8_t *d = t->decode;
    size_t i = 0;
    const kk_scalar_tables *fast = kk_scalar_tables_for(t);
    if (fast != NULL) {
        const uint32_t (*s)[256] = fast->shifted;
        // Two quanta per step, stored with one 8-byte write while a further quantum follows (its
        // bytes overwrite the 2 extra ones).
        for (; i + 12 <= length; i += 8, dst += 6) {
            const uint32_t w0 = s[0][src[i]] | s[1][src[i + 1]] | s[2][src[i + 2]] | s[3][src[i + 3]];
            const uint32_t w1 = s[0][src[i + 4]] | s[1][src[i + 5]] | s[2][src[i + 6]] | s[3][src[i + 7]];
            if ((w0 | w1) & 0x80000000u) break;
            kk_store_be64(dst, ((uint64_t)w0 << 40) | ((uint64_t)w1 << 16));
        }
    }
    for (; i + 4 <= length; i += 4, dst += 3) {
        uint32_t a = d[src[i]], b = d[src[i + 1]], c = d[src[i + 2]], e = d[src[i + 3]];
        if ((a | b | c | e) & 0x80) break;
        uint32_t w = (a << 18) | (b << 12) | (c << 6) | e;
        dst[0] = (uint8_t)(w >> 16);
        dst[1] = (uint8_t)(w >> 8);
        dst[2] = (uint8_t)w;
    }
    return i;
}

// MARK: - Encode

size_t klingkit_b64_encoded_length(size_t length, int flags) {
    size_t full = (length / 3) * 4;
    size_t rest = length % 3;
    if (rest == 0) return full;
    return full + ((flags & KLINGKIT_B64_OMIT_PADDING) ? rest + 1 : 4);
}

size_t klingkit_b64_decoded_length_bound(size_t length) {
    return (length / 4) * 3 + 3;
}

typedef size_t (*kk_block_fn)(const uint8_t *, size_t, uint8_t *, const kk_b64_tables *);

// Block kernels by kernel id; NULL where this CPU family has no such kernel. A call runs the chosen
// kernel, then every narrower one present, each leaving a tail shorter than its block to the next.
#if defined(__x86_64__)
static const kk_block_fn kk_encoders[KLINGKIT_B64_KERNEL_COUNT] = {
    kk_b64_encode_scalar, kk_b64_encode_ssse3, kk_b64_encode_avx2, kk_b64_encode_avx512vbmi, NULL };
static const kk_block_fn kk_decoders[KLINGKIT_B64_KERNEL_COUNT] = {
    kk_b64_decode_scalar, kk_b64_decode_ssse3, kk_b64_decode_avx2, kk_b64_decode_avx512vbmi, NULL };
#elif defined(__aarch64__)
static const kk_block_fn kk_encoders[KLINGKIT_B64_KERNEL_COUNT] = {
    kk_b64_encode_scalar, NULL, NULL, NULL, kk_b64_encode_neon };
static const kk_block_fn kk_decoders[KLINGKIT_B64_KERNEL_COUNT] = {
    kk_b64_decode_scalar, NULL, NULL, NULL, kk_b64_decode_neon };
#else
static const kk_block_fn kk_encoders[KLINGKIT_B64_KERNEL_COUNT] = { kk_b64_encode_scalar };
static const kk_block_fn kk_decoders[KLINGKIT_B64_KERNEL_COUNT] = { kk_b64_decode_scalar };
#endif

size_t klingkit_b64_encode(int kernel, const void *source, size_t length, void *destination, int flags) {
    const uint8_t *src = (const uint8_t *)source;
    uint8_t *dst = (uint8_t *)destination;
    const kk_b64_tables *t = kk_b64_tables_for(flags);
    kernel = kk_b64_resolve_kernel(kernel);
    size_t done = 0;
    for (int k = kernel; k >= 0; k--) {
        if (kk_encoders[k] == NULL) continue;
        size_t n = kk_encoders[k](src + done, length - done, dst + (done / 3) * 4, t);
        done += n;
    }
    uint8_t *out = dst + (done / 3) * 4;
    size_t rest = length - done;
    const char *a = t->alphabet;
    if (rest == 1) {
        uint32_t w = (uint32_t)src[done] << 16;
        *out++ = (uint8_t)a[w >> 18];
        *out++ = (uint8_t)a[(w >> 12) & 63];
        if (!(flags & KLINGKIT_B64_OMIT_PADDING)) { *out++ = '='; *out++ = '='; }
    } else if (rest == 2) {
        uint32_t w = ((uint32_t)src[done] << 16) | ((uint32_t)src[done + 1] << 8);
        *out++ = (uint8_t)a[w >> 18];
        *out++ = (uint8_t)a[(w >> 12) & 63];
        *out++ = (uint8_t)a[(w >> 6) & 63];
        if (!(flags & KLINGKIT_B64_OMIT_PADDING)) { *out++ = '='; }
    }
    return (size_t)(out - dst);
}

// MARK: - Decode

static inline int kk_is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void klingkit_b64_decoder_init(klingkit_b64_decoder *d, int kernel, int flags) {
    memset(d, 0, sizeof *d);
    d->kernel = kk_b64_resolve_kernel(kernel);
    d->flags = flags;
}

static int kk_fail(klingkit_b64_decoder *d, int status, uint64_t offset, uint64_t *errorOffset) {
    d->status = status;
    d->errorOffset = offset;
    if (errorOffset) *errorOffset = offset;
    return status;
}

/// Emits the bytes of a final quantum holding `n` (2 or 3) data characters; checks that the bits
/// the last character carries beyond the data are zero (RFC 4648 section 3.5 "canonical encoding").
static int kk_emit_tail(klingkit_b64_decoder *d, uint8_t **out, uint64_t *errorOffset) {
    const uint8_t *v = kk_b64_tables_for(d->flags)->decode;
    int n = d->pendingCount;
    uint32_t a = v[d->pending[0]], b = v[d->pending[1]], c = n == 3 ? v[d->pending[2]] : 0;
    if (n == 2 && (b & 0x0f)) return kk_fail(d, KLINGKIT_B64_NONCANONICAL, d->pendingOffset[1], errorOffset);
    if (n == 3 && (c & 0x03)) return kk_fail(d, KLINGKIT_B64_NONCANONICAL, d->pendingOffset[2], errorOffset);
    uint32_t w = (a << 18) | (b << 12) | (c << 6);
    *(*out)++ = (uint8_t)(w >> 16);
    if (n == 3) *(*out)++ = (uint8_t)(w >> 8);
    return KLINGKIT_B64_OK;
}

/// Maps indices of a compacted (whitespace-free) buffer back to absolute input offsets: run r starts at
/// buffer index `compactStart[r]` and input offset `inputStart[r]`. Lookups move forward only.
typedef struct {
    const size_t *compactStart;
    const uint64_t *inputStart;
    size_t count;
    size_t cursor;
} kk_offset_map;

static inline uint64_t kk_map_offset(kk_offset_map *map, uint64_t base, size_t i) {
    if (map == NULL) return base + i;
    while (map->cursor + 1 < map->count && map->compactStart[map->cursor + 1] <= i) map->cursor++;
    return map->inputStart[map->cursor] + (i - map->compactStart[map->cursor]);
}

/// Decodes `length` characters: whole quanta through the widest kernel, everything else (padding,
/// whitespace, errors, quanta split across calls) one character at a time. Offsets are `d->offset + i`,
/// or come from `map` when `src` is a compacted copy of the input.
static int kk_decode_core(klingkit_b64_decoder *d, const uint8_t *src, size_t length, uint8_t **outp,
                          uint64_t *errorOffset, kk_offset_map *map) {
    uint8_t *out = *outp;
    const kk_b64_tables *t = kk_b64_tables_for(d->flags);
    const int ignoreSpace = (d->flags & KLINGKIT_B64_IGNORE_WHITESPACE) != 0;
    const int omitPadding = (d->flags & KLINGKIT_B64_OMIT_PADDING) != 0;
    size_t i = 0;
    while (i < length) {
        if (d->pendingCount == 0 && d->padCount == 0) {
            // Bulk: whole quanta of alphabet characters, widest kernel first.
            for (int k = d->kernel; k >= 0; k--) {
                if (kk_decoders[k] == NULL) continue;
                size_t n = kk_decoders[k](src + i, length - i, out, t);
                i += n;
                out += (n / 4) * 3;
            }
            if (i >= length) break;
        }
        // One character at a time: whitespace, padding, errors, and quanta split by either.
        do {
            uint8_t c = src[i];
            uint64_t at = kk_map_offset(map, d->offset, i);
            uint8_t v = t->decode[c];
            if (v != 0xff) {
                if (d->padCount != 0) return kk_fail(d, KLINGKIT_B64_INVALID_PADDING, at, errorOffset);
                d->pending[d->pendingCount] = c;
                d->pendingOffset[d->pendingCount] = at;
                if (++d->pendingCount == 4) {
                    const uint8_t *p = d->pending;
                    uint32_t w = ((uint32_t)t->decode[p[0]] << 18) | ((uint32_t)t->decode[p[1]] << 12)
                               | ((uint32_t)t->decode[p[2]] << 6) | t->decode[p[3]];
                    *out++ = (uint8_t)(w >> 16);
                    *out++ = (uint8_t)(w >> 8);
                    *out++ = (uint8_t)w;
                    d->pendingCount = 0;
                }
            } else if (c == '=') {
                if (omitPadding || d->padCount < 0) return kk_fail(d, KLINGKIT_B64_INVALID_PADDING, at, errorOffset);
                if (d->padCount == 0 && d->pendingCount < 2) return kk_fail(d, KLINGKIT_B64_INVALID_PADDING, at, errorOffset);
                d->padCount += 1;
                if (d->pendingCount + d->padCount == 4) {
                    // Final quantum complete; its bytes (and its canonical check) come only now, so
                    // a structural padding error is reported before a non-canonical one.
                    int status = kk_emit_tail(d, &out, errorOffset);
                    if (status != KLINGKIT_B64_OK) return status;
                    d->padCount = -1;
                }
            } else if (ignoreSpace && kk_is_space(c)) {
                // skipped
            } else {
                return kk_fail(d, KLINGKIT_B64_INVALID_CHARACTER, at, errorOffset);
            }
            i++;
        } while (i < length && (d->pendingCount != 0 || d->padCount != 0));
    }
    *outp = out;
    return KLINGKIT_B64_OK;
}

/// Length of the prefix of `p` holding no whitespace byte.
static size_t kk_span_nonspace(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    // Whitespace is <= 0x20; find the first such byte 16 at a time (SSE2 is baseline on x86-64).
    const __m128i space = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        const int low = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v));
        if (low != 0) {
            i += (size_t)__builtin_ctz((unsigned)low);
            break;
        }
    }
#endif
    while (i < n && !kk_is_space(p[i])) i++;
    return i;
}

enum { KK_COMPACT_BYTES = 16384, KK_COMPACT_RUNS = 512 };

/// Whitespace-skipping decode: copies the runs between whitespace into a buffer so the SIMD kernels see
/// long clean stretches (MIME's 76-character lines would otherwise stop every wide block), keeping a
/// run table that maps buffer indices back to input offsets for error reports.
static int kk_decode_compacting(klingkit_b64_decoder *d, const uint8_t *src, size_t length, uint8_t **outp,
                                uint64_t *errorOffset) {
    uint8_t buffer[KK_COMPACT_BYTES];
    size_t compactStart[KK_COMPACT_RUNS];
    uint64_t inputStart[KK_COMPACT_RUNS];
    size_t i = 0;
    while (i < length) {
        size_t used = 0, runs = 0;
        while (i < length && used < KK_COMPACT_BYTES && runs < KK_COMPACT_RUNS) {
            while (i < length && kk_is_space(src[i])) i++;
            if (i >= length) break;
            size_t room = KK_COMPACT_BYTES - used;
            size_t n = kk_span_nonspace(src + i, length - i < room ? length - i : room);
            compactStart[runs] = used;
            inputStart[runs] = d->offset + i;
            runs++;
            memcpy(buffer + used, src + i, n);
            used += n;
            i += n;
        }
        kk_offset_map map = { compactStart, inputStart, runs, 0 };
        int status = kk_decode_core(d, buffer, used, outp, errorOffset, &map);
        if (status != KLINGKIT_B64_OK) return status;
    }
    return KLINGKIT_B64_OK;
}

int klingkit_b64_decoder_update(klingkit_b64_decoder *d, const void *source, size_t length,
                                void *destination, size_t *written, uint64_t *errorOffset) {
    *written = 0;
    if (d->status != KLINGKIT_B64_OK) {
        if (errorOffset) *errorOffset = d->errorOffset;
        return d->status;
    }
    uint8_t *out = (uint8_t *)destination;
    int status = (d->flags & KLINGKIT_B64_IGNORE_WHITESPACE)
        ? kk_decode_compacting(d, (const uint8_t *)source, length, &out, errorOffset)
        : kk_decode_core(d, (const uint8_t *)source, length, &out, errorOffset, NULL);
    if (status != KLINGKIT_B64_OK) return status;
    d->offset += length;
    *written = (size_t)(out - (uint8_t *)destination);
    return KLINGKIT_B64_OK;
}

int klingkit_b64_decoder_finish(klingkit_b64_decoder *d, void *destination, size_t *written,
                                uint64_t *errorOffset) {
    *written = 0;
    if (d->status != KLINGKIT_B64_OK) {
        if (errorOffset) *errorOffset = d->errorOffset;
        return d->status;
    }
    if (d->padCount > 0) {
        // "QQ=" at the end: a padded quantum is missing its last '='.
        return kk_fail(d, KLINGKIT_B64_INVALID_PADDING, d->offset, errorOffset);
    }
    if (d->padCount < 0 || d->pendingCount == 0) return KLINGKIT_B64_OK;
    if (!(d->flags & KLINGKIT_B64_OMIT_PADDING) || d->pendingCount == 1) {
        return kk_fail(d, KLINGKIT_B64_INVALID_LENGTH, d->pendingOffset[0], errorOffset);
    }
    uint8_t *out = (uint8_t *)destination;
    int status = kk_emit_tail(d, &out, errorOffset);
    if (status != KLINGKIT_B64_OK) return status;
    d->pendingCount = 0;
    d->padCount = -1;
    *written = (size_t)(out - (uint8_t *)destination);
    return KLINGKIT_B64_OK;
}

int klingkit_b64_decode(int kernel, const void *src, size_t length, void *dst, int flags,
                        size_t *written, uint64_t *errorOffset) {
    klingkit_b64_decoder d;
    klingkit_b64_decoder_init(&d, kernel, flags);
    size_t n = 0, m = 0;
    int status = klingkit_b64_decoder_update(&d, src, length, dst, &n, errorOffset);
    if (status == KLINGKIT_B64_OK) status = klingkit_b64_decoder_finish(&d, (uint8_t *)dst + n, &m, errorOffset);
    *written = n + m;
    return status;
}
