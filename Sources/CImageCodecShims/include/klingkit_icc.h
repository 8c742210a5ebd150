// ICC colour conversion to sRGB through Little CMS 2. Same conventions as klingkit_codec_shims.h
// (status codes, kk_status). No lcms2 type crosses this header.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "klingkit_codec_shims.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A prepared conversion from an embedded RGB profile to sRGB, 8 bits per sample (opaque).
typedef struct kk_icc_transform kk_icc_transform;

/// Parses `icc` (an embedded profile, as stored in APP2 or iCCP) and builds a transform from it to
/// sRGB with the perceptual intent (relative colorimetric where the profile has no perceptual table),
/// for pixels of `channels` samples: 3 (RGB) or 4 (RGBA: alpha copied through untouched).
/// A profile that does not parse is KK_CORRUPT; one whose data colour space is not RGB, or that lcms2
/// cannot link to sRGB, is KK_UNSUPPORTED. Each transform has its own lcms2 context: thread-safe to
/// create; one transform is used by one thread at a time.
int kk_icc_to_srgb_open(const void *icc, size_t icc_size, int channels, kk_icc_transform **transform,
                        kk_status *status);

/// Converts `pixels` pixels from `in` to `out` (they may be the same buffer).
void kk_icc_to_srgb_run(kk_icc_transform *transform, const void *in, void *out, size_t pixels);

/// Releases the transform; NULL is allowed.
void kk_icc_transform_free(kk_icc_transform *transform);

#ifdef __cplusplus
}
#endif
