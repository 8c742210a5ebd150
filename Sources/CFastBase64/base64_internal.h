// Internal declarations shared by the CFastBase64 sources (not part of the module's public header).
#pragma once

#include <stddef.h>
#include <stdint.h>

/// Everything a kernel needs to know about one alphabet. See base64_tables.c for how the SIMD
/// lookup tables are derived.
typedef struct {
    char alphabet[65];
    uint8_t decode[256];  // value 0...63, or 0xFF for a byte outside the alphabet
    uint8_t lutLo[16];    // decode validation: classes a low nibble is invalid in
    uint8_t lutHi[16];    // decode validation: the class of each high nibble
    uint8_t roll[16];     // decode translation: offset per high nibble (slot hi^8 for `special`)
    uint8_t encodeOffset[16]; // encode translation: offset per range class
    uint8_t special;      // alphabet[63], the one character sharing a high nibble with a different offset
} kk_b64_tables;

extern const kk_b64_tables kk_b64_tables_all[2];

static inline const kk_b64_tables *kk_b64_tables_for(int flags) {
    return &kk_b64_tables_all[(flags & 1) ? 1 : 0];
}

// The kernel a call runs: `kernel` when this CPU has it, otherwise the best one (base64_select.c).
int kk_b64_resolve_kernel(int kernel);

// Block kernels. Encoders consume a multiple of 3 input bytes and write 4/3 as many characters;
// decoders consume a multiple of 4 characters that are all in the alphabet (no '=', no whitespace)
// and return at the first block holding anything else. Both return the input bytes consumed and
// never read or write outside [src, src+length) / the output the consumed input implies, except
// that decoders may store up to one vector past it while at least two blocks of input remain.
size_t kk_b64_encode_scalar(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_decode_scalar(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);

#if defined(__x86_64__)
size_t kk_b64_encode_ssse3(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_encode_avx2(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_encode_avx512vbmi(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_decode_ssse3(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_decode_avx2(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_decode_avx512vbmi(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
unsigned kk_b64_detect_x86(void);
#endif

#if defined(__aarch64__)
size_t kk_b64_encode_neon(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
size_t kk_b64_decode_neon(const uint8_t *src, size_t length, uint8_t *dst, const kk_b64_tables *t);
#endif
