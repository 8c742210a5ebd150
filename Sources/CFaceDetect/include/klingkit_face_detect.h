// CFaceDetect: an advisory face count with dlib's frontal face detector (HOG features + a linear
// classifier over an image pyramid; the weights are compiled into libdlib, nothing is loaded from disk).
//
// Why it exists: dlib is C++ and throws exceptions; Swift sees only this C API. Every dlib call runs
// inside a try/catch in face_detect.cpp, so no exception crosses into Swift.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One face: a box in the pixels given (top-left x, y, size) and the detector's score (higher = surer).
typedef struct kkface_box {
    int32_t x, y, width, height;
    double score;
} kkface_box;

/// Status codes: 0 success, 1 bad argument, 2 dlib failed (the message says why).
enum { KKFACE_OK = 0, KKFACE_INVALID_ARGUMENT = 1, KKFACE_FAILED = 2 };

typedef struct kkface_status {
    int code;
    char message[256];
} kkface_status;

/// Finds frontal faces of at least about 80x80 px (the detector's window) in 8-bit gray (1), gray+alpha
/// (2), RGB (3) or RGBA (4) pixels, rows `stride` bytes apart. Writes up to `max_boxes` boxes, best first.
/// Returns the number of faces found (which may exceed max_boxes), or -1 with `status` filled.
/// Thread-safe: each thread gets its own detector.
int kkface_detect(const uint8_t *pixels, int width, int height, int channels, size_t stride,
                  kkface_box *boxes, int max_boxes, kkface_status *status);

#ifdef __cplusplus
}
#endif
