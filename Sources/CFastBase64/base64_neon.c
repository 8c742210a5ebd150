// AArch64 NEON kernels. Advanced SIMD is part of every AArch64 CPU (Apple silicon, Graviton, Ampere,
// the Raspberry Pi 4 and later), so there is no run-time detection: on aarch64 these always run unless
// `KLINGKIT_BASE64_KERNEL=scalar` caps the choice.
//
// Written here from the instruction semantics (Arm's A64 Advanced SIMD reference); the shape is the
// usual one for NEON base64, e.g. the NEON64 codec of the aklomp/base64 library: the structure loads
// and stores (`ld3`/`st4`, `ld4`/`st3`) do the 3<->4 byte (de)interleaving, so each lane holds one input byte of its group and
// the 6-bit fields are plain shifts; the alphabet is a 64-byte table for one `tbl` of four registers
// (encode), and the decode table's first 128 entries are two `tbl`/`tbx` lookups whose 0xFF entries, or
// the input's own high bit, mark bytes outside the alphabet. Both alphabets use the same code: the
// tables come from `kk_b64_tables` (base64_tables.c).
#include "base64_internal.h"
#include "klingkit_base64.h"

#if defined(__aarch64__)

#include <arm_neon.h>

static inline uint8x16x4_t kk_load_table64(const uint8_t *table) {
    uint8x16x4_t t;
    t.val[0] = vld1q_u8(table);
    t.val[1] = vld1q_u8(table + 16);
    t.val[2] = vld1q_u8(table + 32);
    t.val[3] = vld1q_u8(table + 48);
    return t;
}

size_t kk_b64_encode_neon(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t) {
    const uint8x16x4_t alphabet = kk_load_table64((const uint8_t *)t->alphabet);
    const uint8x16_t low6 = vdupq_n_u8(0x3f);
    size_t i = 0;
    // 48 bytes -> 64 characters per step; the tail (< 48 bytes) goes to the scalar kernel.
    for (; i + 48 <= length; i += 48, dst += 64) {
        const uint8x16x3_t in = vld3q_u8(src + i);
        const uint8x16_t a = in.val[0], b = in.val[1], c = in.val[2];
        uint8x16x4_t out;
        out.val[0] = vshrq_n_u8(a, 2);
        out.val[1] = vandq_u8(vorrq_u8(vshlq_n_u8(a, 4), vshrq_n_u8(b, 4)), low6);
        out.val[2] = vandq_u8(vorrq_u8(vshlq_n_u8(b, 2), vshrq_n_u8(c, 6)), low6);
        out.val[3] = vandq_u8(c, low6);
        out.val[0] = vqtbl4q_u8(alphabet, out.val[0]);
        out.val[1] = vqtbl4q_u8(alphabet, out.val[1]);
        out.val[2] = vqtbl4q_u8(alphabet, out.val[2]);
        out.val[3] = vqtbl4q_u8(alphabet, out.val[3]);
        vst4q_u8(dst, out);
    }
    return i;
}

/// Values of 16 characters: 0...63 for alphabet characters, a byte with bit 7 set for anything else.
static inline uint8x16_t kk_neon_values(uint8x16_t c, uint8x16x4_t low, uint8x16x4_t high) {
    // tbl gives low[c] for c < 64 and 0 otherwise; tbx then replaces lanes with 64 <= c < 128 by
    // high[c - 64]. Lanes with c >= 128 would keep that 0 (a valid value), so the input's own sign
    // bit is OR-ed in.
    uint8x16_t v = vqtbl4q_u8(low, c);
    v = vqtbx4q_u8(v, high, vsubq_u8(c, vdupq_n_u8(64)));
    return vorrq_u8(v, vreinterpretq_u8_s8(vshrq_n_s8(vreinterpretq_s8_u8(c), 7)));
}

size_t kk_b64_decode_neon(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t) {
    const uint8x16x4_t low = kk_load_table64(t->decode);
    const uint8x16x4_t high = kk_load_table64(t->decode + 64);
    size_t i = 0;
    // 64 characters -> 48 bytes per step. A block holding any byte outside the alphabet ('=',
    // whitespace, an error) stops the loop before anything of it is stored; the scalar kernel and the
    // caller's per-character path take it from there.
    for (; i + 64 <= length; i += 64, dst += 48) {
        const uint8x16x4_t in = vld4q_u8(src + i);
        const uint8x16_t v0 = kk_neon_values(in.val[0], low, high);
        const uint8x16_t v1 = kk_neon_values(in.val[1], low, high);
        const uint8x16_t v2 = kk_neon_values(in.val[2], low, high);
        const uint8x16_t v3 = kk_neon_values(in.val[3], low, high);
        const uint8x16_t any = vorrq_u8(vorrq_u8(v0, v1), vorrq_u8(v2, v3));
        if (vmaxvq_u8(any) > 63) break;
        uint8x16x3_t out;
        out.val[0] = vorrq_u8(vshlq_n_u8(v0, 2), vshrq_n_u8(v1, 4));
        out.val[1] = vorrq_u8(vshlq_n_u8(v1, 4), vshrq_n_u8(v2, 2));
        out.val[2] = vorrq_u8(vshlq_n_u8(v2, 6), v3);
        vst3q_u8(dst, out);
    }
    return i;
}

#endif
