// CFastBase64: the base64 kernels behind FastBase64 (scalar reference, SSSE3, AVX2, AVX-512 VBMI on
// x86-64, NEON on AArch64).
//
// Why C: the SIMD kernels need x86 intrinsics in functions compiled for a wider target
// (`__attribute__((target("avx2")))`) than the baseline x86-64 that Swift builds for, chosen at run
// time by CPUID. Every function takes `const void *` + `size_t` so Swift passes raw buffers directly.
// Everything compiles on any CPU; each kernel exists only where its instructions do.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel identifiers. `KLINGKIT_B64_AUTO` picks the fastest kernel the CPU and OS support.
enum {
    KLINGKIT_B64_AUTO = -1,
    KLINGKIT_B64_SCALAR = 0,
    KLINGKIT_B64_SSSE3 = 1,
    KLINGKIT_B64_AVX2 = 2,
    KLINGKIT_B64_AVX512VBMI = 3,
    KLINGKIT_B64_NEON = 4,      ///< AArch64 only (every AArch64 CPU has it)
    KLINGKIT_B64_KERNEL_COUNT = 5,
};

/// Option bits shared by encode and decode.
enum {
    KLINGKIT_B64_URLSAFE = 1,           ///< alphabet `-` `_` instead of `+` `/` (RFC 4648 section 5)
    KLINGKIT_B64_OMIT_PADDING = 2,      ///< encode: no `=`; decode: `=` is refused, 2- or 3-char tails allowed
    KLINGKIT_B64_IGNORE_WHITESPACE = 4, ///< decode: skip space, tab, CR, LF, FF, VT anywhere
};

/// Decode status codes.
enum {
    KLINGKIT_B64_OK = 0,
    KLINGKIT_B64_INVALID_CHARACTER = 1, ///< a byte outside the alphabet (offset = that byte)
    KLINGKIT_B64_INVALID_PADDING = 2,   ///< `=` misplaced, or data after the padding (offset = that byte)
    KLINGKIT_B64_INVALID_LENGTH = 3,    ///< input ends inside a quantum (offset = start of that quantum)
    KLINGKIT_B64_NONCANONICAL = 4,      ///< the last character carries non-zero unused bits (offset = that char)
};

/// Bit mask (1 << kernel id) of the kernels this CPU and OS can run; the scalar bit is always set.
unsigned klingkit_b64_supported_kernels(void);

/// The kernel `KLINGKIT_B64_AUTO` resolves to: the widest supported one.
int klingkit_b64_best_kernel(void);

/// Number of characters `klingkit_b64_encode` writes for `length` input bytes.
size_t klingkit_b64_encoded_length(size_t length, int flags);

/// Upper bound of the bytes a decode of `length` input characters produces.
size_t klingkit_b64_decoded_length_bound(size_t length);

/// Encodes `length` bytes of `src` into `dst` (which must hold `klingkit_b64_encoded_length` bytes).
/// Returns the number of characters written. An unsupported `kernel` falls back to the best one.
size_t klingkit_b64_encode(int kernel, const void *src, size_t length, void *dst, int flags);

/// Streaming decoder state. Treat as opaque; initialise with `klingkit_b64_decoder_init`.
typedef struct {
    int kernel;
    int flags;
    uint64_t offset;        // absolute input offset of the next byte fed
    uint8_t pending[4];     // characters of an incomplete quantum
    uint64_t pendingOffset[4];
    int pendingCount;
    int padCount;           // '=' characters seen in the current (final) quantum; -1 when the final quantum is complete
    int status;             // first error, sticky
    uint64_t errorOffset;
} klingkit_b64_decoder;

void klingkit_b64_decoder_init(klingkit_b64_decoder *decoder, int kernel, int flags);

/// Feeds `length` characters. `dst` must hold `klingkit_b64_decoded_length_bound(length + 4)` bytes.
/// On success stores the bytes written in `*written` and returns `KLINGKIT_B64_OK`; on error returns
/// the status (also kept in the decoder) and the absolute offset in `*errorOffset`.
int klingkit_b64_decoder_update(klingkit_b64_decoder *decoder, const void *src, size_t length,
                                void *dst, size_t *written, uint64_t *errorOffset);

/// Ends the input: emits the last 1 or 2 bytes of an unpadded tail into `dst` (room for 3 bytes),
/// or reports a truncated quantum / missing padding.
int klingkit_b64_decoder_finish(klingkit_b64_decoder *decoder, void *dst, size_t *written,
                                uint64_t *errorOffset);

/// One-shot decode of `length` characters into `dst` (`klingkit_b64_decoded_length_bound(length)` bytes).
int klingkit_b64_decode(int kernel, const void *src, size_t length, void *dst, int flags,
                        size_t *written, uint64_t *errorOffset);

/// Hints that a freshly allocated, not yet written output buffer of `length` bytes will be filled
/// sequentially: on Linux, asks for transparent huge pages on its 2 MiB-aligned interior
/// (`madvise(MADV_HUGEPAGE)`), so first-touch page faults drop 512-fold. Used for outputs of 4 MiB
/// and more; a no-op elsewhere, for small buffers, or when the kernel refuses.
void klingkit_b64_advise_output(void *buffer, size_t length);

#ifdef __cplusplus
}
#endif
