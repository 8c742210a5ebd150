// ICC → sRGB conversion (declared in include/klingkit_codec_shims.h). lcms2 reports errors through a
// per-context log handler, which here copies the first message into the caller's kk_status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lcms2.h>

#include "klingkit_codec_shims.h"

struct kk_icc_transform {
    cmsContext context;
    cmsHTRANSFORM transform;
};

static void kk_icc_log(cmsContext context, cmsUInt32Number code, const char *text) {
    (void)code;
    kk_status *status = (kk_status *)cmsGetContextUserData(context);
    if (status && status->message[0] == 0) snprintf(status->message, sizeof status->message, "%s", text);
}

static int kk_icc_fail(kk_status *status, int code, const char *fallback) {
    status->code = code;
    if (status->message[0] == 0) snprintf(status->message, sizeof status->message, "%s", fallback);
    return code;
}

int kk_icc_to_srgb_open(const void *icc, size_t icc_size, int channels, kk_icc_transform **transform,
                        kk_status *status) {
    *transform = NULL;
    memset(status, 0, sizeof *status);
    if ((channels != 3 && channels != 4) || !icc || icc_size < 128 || icc_size > UINT32_MAX)
        return kk_icc_fail(status, KK_INVALID_ARGUMENT, "an ICC conversion needs RGB or RGBA pixels and a profile");
    kk_icc_transform *t = calloc(1, sizeof *t);
    if (!t) return kk_icc_fail(status, KK_NO_MEMORY, "out of memory");
    t->context = cmsCreateContext(NULL, status);
    if (!t->context) { free(t); return kk_icc_fail(status, KK_NO_MEMORY, "out of memory"); }
    cmsSetLogErrorHandlerTHR(t->context, kk_icc_log);
    cmsHPROFILE source = cmsOpenProfileFromMemTHR(t->context, icc, (cmsUInt32Number)icc_size);
    if (!source) {
        kk_icc_transform_free(t);
        return kk_icc_fail(status, KK_CORRUPT, "the ICC profile does not parse");
    }
    if (cmsGetColorSpace(source) != cmsSigRgbData) {
        cmsCloseProfile(source);
        kk_icc_transform_free(t);
        return kk_icc_fail(status, KK_UNSUPPORTED, "the ICC profile is not an RGB profile");
    }
    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(t->context);
    cmsUInt32Number intent = cmsIsIntentSupported(source, INTENT_PERCEPTUAL, LCMS_USED_AS_INPUT)
        ? INTENT_PERCEPTUAL : INTENT_RELATIVE_COLORIMETRIC;
    cmsUInt32Number format = channels == 4 ? TYPE_RGBA_8 : TYPE_RGB_8;
    // COPY_ALPHA carries the fourth sample through; the transform itself only sees colour.
    cmsUInt32Number flags = channels == 4 ? cmsFLAGS_COPY_ALPHA : 0;
    if (srgb) t->transform = cmsCreateTransformTHR(t->context, source, format, srgb, format, intent, flags);
    cmsCloseProfile(source);
    if (srgb) cmsCloseProfile(srgb);
    if (!t->transform) {
        kk_icc_transform_free(t);
        return kk_icc_fail(status, KK_UNSUPPORTED, "lcms2 cannot convert this ICC profile to sRGB");
    }
    // The context's user data pointed at this call's status; later runs have none to report into.
    cmsSetLogErrorHandlerTHR(t->context, NULL);
    *transform = t;
    return KK_OK;
}

void kk_icc_to_srgb_run(kk_icc_transform *t, const void *in, void *out, size_t pixels) {
    const unsigned char *src = (const unsigned char *)in;
    unsigned char *dst = (unsigned char *)out;
    size_t bytes = T_CHANNELS(cmsGetTransformInputFormat(t->transform)) + T_EXTRA(cmsGetTransformInputFormat(t->transform));
    while (pixels > 0) {   // lcms2 counts pixels in 32 bits
        cmsUInt32Number n = pixels > 0x10000000u ? 0x10000000u : (cmsUInt32Number)pixels;
        cmsDoTransform(t->transform, src, dst, n);
        src += (size_t)n * bytes;
        dst += (size_t)n * bytes;
        pixels -= n;
    }
}

void kk_icc_transform_free(kk_icc_transform *t) {
    if (!t) return;
    if (t->transform) cmsDeleteTransform(t->transform);
    if (t->context) cmsDeleteContext(t->context);
    free(t);
}
