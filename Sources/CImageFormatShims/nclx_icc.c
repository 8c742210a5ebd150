// An ICC profile for an nclx colour description (ITU-T H.273 primaries and transfer), so HEIF/AVIF
// pixels in Display P3, BT.2020 or another gamut reach sRGB through the same lcms2 path as embedded
// ICC profiles. Curves: sRGB per IEC 61966-2-1 (used for the SDR camera curves 1, 6, 14 and 15 too, as
// browsers render them), pure gammas for 4 and 5, linear for 8. PQ and HLG are HDR: refused.
#include "kkf_internal.h"

#include <lcms2.h>
#include <stdlib.h>

int kkf_nclx_icc(const float xy[8], int transfer, void **icc, size_t *icc_size, kkf_status *status) {
    if (!xy || !icc || !icc_size) return kkf_fail(status, KKF_INVALID_ARGUMENT, "missing argument");
    *icc = NULL;
    *icc_size = 0;
    cmsToneCurve *curve = NULL;
    switch (transfer) {
    case 1: case 2: case 6: case 13: case 14: case 15: {
        // IEC 61966-2-1 as lcms2 parametric type 4: Y = (aX + b)^g for X >= d, cX below.
        const cmsFloat64Number srgb[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
        curve = cmsBuildParametricToneCurve(NULL, 4, srgb);
        break;
    }
    case 4: curve = cmsBuildGamma(NULL, 2.2); break;
    case 5: curve = cmsBuildGamma(NULL, 2.8); break;
    case 8: curve = cmsBuildGamma(NULL, 1.0); break;
    default:
        return kkf_fail(status, KKF_UNSUPPORTED, "nclx transfer characteristic %d (HDR or unusual) is not converted", transfer);
    }
    if (!curve) return kkf_fail(status, KKF_NO_MEMORY, "lcms2 tone curve");
    for (int i = 0; i < 8; i++) {
        if (!(xy[i] > 0.0f && xy[i] < 1.0f)) {
            cmsFreeToneCurve(curve);
            return kkf_fail(status, KKF_CORRUPT, "nclx primaries out of range");
        }
    }
    cmsCIExyY white = {xy[6], xy[7], 1.0};
    cmsCIExyYTRIPLE primaries = {{xy[0], xy[1], 1.0}, {xy[2], xy[3], 1.0}, {xy[4], xy[5], 1.0}};
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
    cmsFreeToneCurve(curve);
    if (!profile) return kkf_fail(status, KKF_UNSUPPORTED, "lcms2 cannot build a profile for these primaries");
    cmsUInt32Number n = 0;
    if (!cmsSaveProfileToMem(profile, NULL, &n) || n == 0) {
        cmsCloseProfile(profile);
        return kkf_fail(status, KKF_UNSUPPORTED, "lcms2 cannot serialise the profile");
    }
    void *bytes = malloc(n);
    if (!bytes) {
        cmsCloseProfile(profile);
        return kkf_fail(status, KKF_NO_MEMORY, "ICC profile of %u bytes", n);
    }
    if (!cmsSaveProfileToMem(profile, bytes, &n)) {
        free(bytes);
        cmsCloseProfile(profile);
        return kkf_fail(status, KKF_UNSUPPORTED, "lcms2 cannot serialise the profile");
    }
    cmsCloseProfile(profile);
    *icc = bytes;
    *icc_size = n;
    kkf_ok(status);
    return KKF_OK;
}
