// Differential check of the base64 kernels, built with CFastBase64's own sources for another CPU
// (aarch64-linux-gnu-gcc) and run under qemu-user by NEONKernelTests: the kernel named on the command
// line must agree byte for byte with the scalar kernel and with the naive reference below on every
// length, option set, invalid byte and whitespace layout tried, and be the one automatic selection
// picks. Prints one summary line; exits 1 on the first disagreement (described on stderr).
#include "klingkit_base64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kStd = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char *kURL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static unsigned long long cases = 0;

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned long long next_random(void) {  // SplitMix64, the tests' generator
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fail(const char *what, size_t length, int flags, size_t at) {
    fprintf(stderr, "kernel_check: %s (length %zu, flags %d, at %zu)\n", what, length, flags, at);
    exit(1);
}

/// The reference: RFC 4648 section 4/5 one group at a time.
static size_t reference_encode(const unsigned char *src, size_t n, char *dst, int flags) {
    const char *a = (flags & KLINGKIT_B64_URLSAFE) ? kURL : kStd;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned w = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8 | src[i + 2];
        dst[o++] = a[w >> 18]; dst[o++] = a[(w >> 12) & 63]; dst[o++] = a[(w >> 6) & 63]; dst[o++] = a[w & 63];
    }
    if (n - i == 1) {
        unsigned w = (unsigned)src[i] << 16;
        dst[o++] = a[w >> 18]; dst[o++] = a[(w >> 12) & 63];
        if (!(flags & KLINGKIT_B64_OMIT_PADDING)) { dst[o++] = '='; dst[o++] = '='; }
    } else if (n - i == 2) {
        unsigned w = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8;
        dst[o++] = a[w >> 18]; dst[o++] = a[(w >> 12) & 63]; dst[o++] = a[(w >> 6) & 63];
        if (!(flags & KLINGKIT_B64_OMIT_PADDING)) dst[o++] = '=';
    }
    return o;
}

typedef struct { int status; size_t written; uint64_t offset; } decode_result;

static decode_result decode_with(int kernel, const char *text, size_t n, unsigned char *out, int flags) {
    decode_result r = { 0, 0, 0 };
    r.status = klingkit_b64_decode(kernel, text, n, out, flags, &r.written, &r.offset);
    if (r.status == KLINGKIT_B64_OK) r.offset = 0;
    return r;
}

/// Decodes `text` with `kernel` and the scalar kernel: same status, same offset, same bytes.
static void compare_decode(int kernel, const char *text, size_t n, int flags, const unsigned char *expect,
                           size_t expectLength) {
    size_t bound = klingkit_b64_decoded_length_bound(n) + 64;
    unsigned char *a = malloc(bound), *b = malloc(bound);
    decode_result ra = decode_with(kernel, text, n, a, flags);
    decode_result rb = decode_with(KLINGKIT_B64_SCALAR, text, n, b, flags);
    cases++;
    if (ra.status != rb.status) fail("decode status differs from the scalar kernel", n, flags, ra.status);
    if (ra.offset != rb.offset) fail("decode error offset differs from the scalar kernel", n, flags, (size_t)ra.offset);
    if (ra.status == KLINGKIT_B64_OK) {
        if (ra.written != rb.written || memcmp(a, b, ra.written) != 0) fail("decoded bytes differ", n, flags, 0);
        if (expect != NULL && (ra.written != expectLength || memcmp(a, expect, expectLength) != 0)) {
            fail("decode does not invert the reference encoding", n, flags, 0);
        }
    }
    free(a);
    free(b);
}

static const char *kernel_name(int k) {
    switch (k) {
    case KLINGKIT_B64_SCALAR: return "scalar";
    case KLINGKIT_B64_SSSE3: return "ssse3";
    case KLINGKIT_B64_AVX2: return "avx2";
    case KLINGKIT_B64_AVX512VBMI: return "avx512vbmi";
    case KLINGKIT_B64_NEON: return "neon";
    default: return "?";
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: kernel_check KERNEL (the kernel automatic selection must pick)\n");
        return 2;
    }
    int kernel = -1;
    for (int k = 0; k < KLINGKIT_B64_KERNEL_COUNT; k++) if (strcmp(argv[1], kernel_name(k)) == 0) kernel = k;
    if (kernel < 0) fail("unknown kernel name", 0, 0, 0);
    if (!(klingkit_b64_supported_kernels() & (1u << kernel))) fail("kernel not supported on this CPU", 0, 0, kernel);
    if (klingkit_b64_best_kernel() != kernel) {
        fprintf(stderr, "kernel_check: automatic selection picked %s, expected %s\n",
                kernel_name(klingkit_b64_best_kernel()), argv[1]);
        return 1;
    }
    // Every check below forces the widest supported kernel, so that even a run where the environment
    // caps selection to scalar still exercises the SIMD code.
    int widest = KLINGKIT_B64_SCALAR;
    for (int k = 0; k < KLINGKIT_B64_KERNEL_COUNT; k++) if (klingkit_b64_supported_kernels() & (1u << k)) widest = k;

    enum { MAX = 4200 };
    static unsigned char source[MAX];
    static char ref[MAX * 2], got[MAX * 2], scalar[MAX * 2], spaced[MAX * 3];
    for (size_t i = 0; i < MAX; i++) source[i] = (unsigned char)next_random();
    const int optionSets[4] = { 0, KLINGKIT_B64_URLSAFE, KLINGKIT_B64_OMIT_PADDING,
                                KLINGKIT_B64_URLSAFE | KLINGKIT_B64_OMIT_PADDING };

    // Every length 0...MAX at every offset modulo 16 of the source (unaligned loads), every option set.
    for (size_t n = 0; n <= MAX - 16; n += (n < 600 ? 1 : 7)) {
        const unsigned char *src = source + (n % 16);
        for (int o = 0; o < 4; o++) {
            int flags = optionSets[o];
            size_t rn = reference_encode(src, n, ref, flags);
            size_t gn = klingkit_b64_encode(widest, src, n, got, flags);
            size_t sn = klingkit_b64_encode(KLINGKIT_B64_SCALAR, src, n, scalar, flags);
            cases++;
            if (gn != rn || memcmp(got, ref, rn) != 0) fail("encode differs from the reference", n, flags, 0);
            if (sn != rn || memcmp(scalar, ref, rn) != 0) fail("scalar encode differs from the reference", n, flags, 0);
            if (gn != klingkit_b64_encoded_length(n, flags)) fail("encoded length", n, flags, gn);
            compare_decode(widest, ref, rn, flags, src, n);
        }
    }

    // Every byte value at positions inside, at the edge of and after the first 64-character block.
    for (int o = 0; o < 4; o++) {
        int flags = optionSets[o];
        size_t rn = reference_encode(source, 300, ref, flags);
        const size_t positions[] = { 0, 1, 3, 31, 47, 48, 63, 64, 65, 127, 128, 200, 399 };
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
            for (int byte = 0; byte < 256; byte++) {
                memcpy(got, ref, rn);
                got[positions[p]] = (char)byte;
                compare_decode(widest, got, rn, flags, NULL, 0);
            }
        }
    }

    // Whitespace: MIME-style line breaks every 76 characters, and random spaces, under IGNORE_WHITESPACE.
    for (size_t n = 0; n <= 3000; n += 37) {
        size_t rn = reference_encode(source, n, ref, 0);
        size_t s = 0;
        for (size_t i = 0; i < rn; i++) {
            if (i > 0 && i % 76 == 0) { spaced[s++] = '\r'; spaced[s++] = '\n'; }
            if (next_random() % 29 == 0) spaced[s++] = ' ';
            spaced[s++] = ref[i];
        }
        compare_decode(widest, spaced, s, KLINGKIT_B64_IGNORE_WHITESPACE, source, n);
        compare_decode(widest, spaced, s, 0, NULL, 0);  // refused, at the same offset
    }

    // One large buffer (many full blocks back to back).
    enum { BIG = 3 << 20 };
    unsigned char *big = malloc(BIG);
    char *bigText = malloc(BIG / 3 * 4 + 4), *bigScalar = malloc(BIG / 3 * 4 + 4);
    for (size_t i = 0; i < BIG; i++) big[i] = (unsigned char)(next_random() >> 7);
    size_t bn = klingkit_b64_encode(widest, big, BIG, bigText, 0);
    size_t bs = klingkit_b64_encode(KLINGKIT_B64_SCALAR, big, BIG, bigScalar, 0);
    cases++;
    if (bn != bs || memcmp(bigText, bigScalar, bn) != 0) fail("large encode differs", BIG, 0, 0);
    compare_decode(widest, bigText, bn, 0, big, BIG);

    printf("kernel_check: selected %s, widest %s: %llu cases agree with the scalar kernel and the reference\n",
           kernel_name(kernel), kernel_name(widest), cases);
    return 0;
}
