// dlib's frontal face detector behind a C API (see klingkit_face_detect.h). Usage follows dlib's own
// example examples/face_detection_ex.cpp: get_frontal_face_detector(), then detector(image) on an
// array2d<unsigned char>; we use the overload that also returns scores (std::vector<rect_detection>).
#include "klingkit_face_detect.h"

// dlib is linked statically (libdlib.a, see Package.swift) and only the members the detector needs
// are pulled in: base64 and the entropy decoder that unpack its built-in model. Debian's config.h
// turns on BLAS and LAPACK, which would make every klingkit process load liblapack, libblas and
// libgfortran (~2.5 MiB of resident memory at start) for one call: the SVD that splits the HOG
// filters into separable ones when the detector loads. With them off, dlib's own SVD does it (same
// boxes). config.h has no include guard; the only two headers that include it do, so including them
// first and then undefining the two settings holds for everything after. Neither setting is part of
// the ODR check (test_for_odr_violations.h compares ENABLE_ASSERTS and the version).
#include <dlib/assert.h>
#include <dlib/test_for_odr_violations.h>
#undef DLIB_USE_BLAS
#undef DLIB_USE_LAPACK
#include <dlib/image_processing/frontal_face_detector.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

namespace {

void fail(kkface_status *status, int code, const char *message) {
    if (!status) return;
    status->code = code;
    std::snprintf(status->message, sizeof status->message, "%s", message);
}

/// One detector per thread: dlib's object_detector keeps scratch buffers and is not safe to share.
dlib::frontal_face_detector &detector() {
    static thread_local dlib::frontal_face_detector instance = dlib::get_frontal_face_detector();
    return instance;
}

}  // namespace

extern "C" int kkface_detect(const uint8_t *pixels, int width, int height, int channels, size_t stride,
                             kkface_box *boxes, int max_boxes, kkface_status *status) {
    if (status) {
        status->code = KKFACE_OK;
        status->message[0] = 0;
    }
    if (!pixels || width <= 0 || height <= 0 || channels < 1 || channels > 4
        || stride < static_cast<size_t>(width) * static_cast<size_t>(channels) || max_boxes < 0
        || (max_boxes > 0 && !boxes)) {
        fail(status, KKFACE_INVALID_ARGUMENT, "bad image description");
        return -1;
    }
    try {
        dlib::array2d<unsigned char> gray(height, width);
        for (int y = 0; y < height; y++) {
            const uint8_t *row = pixels + static_cast<size_t>(y) * stride;
            for (int x = 0; x < width; x++) {
                const uint8_t *p = row + static_cast<size_t>(x) * static_cast<size_t>(channels);
                // Rec. 601 luma, as ImageCore's gray conversion.
                gray[y][x] = channels >= 3
                    ? static_cast<unsigned char>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000)
                    : p[0];
            }
        }
        std::vector<dlib::rect_detection> found;
        detector()(gray, found, 0.0);
        std::sort(found.begin(), found.end(),
                  [](const dlib::rect_detection &a, const dlib::rect_detection &b) { return a.detection_confidence > b.detection_confidence; });
        int n = static_cast<int>(found.size());
        for (int i = 0; i < n && i < max_boxes; i++) {
            const dlib::rectangle &r = found[i].rect;
            boxes[i].x = static_cast<int32_t>(r.left());
            boxes[i].y = static_cast<int32_t>(r.top());
            boxes[i].width = static_cast<int32_t>(r.width());
            boxes[i].height = static_cast<int32_t>(r.height());
            boxes[i].score = found[i].detection_confidence;
        }
        return n;
    } catch (const std::exception &error) {
        fail(status, KKFACE_FAILED, error.what());
    } catch (...) {
        fail(status, KKFACE_FAILED, "dlib failed");
    }
    return -1;
}
