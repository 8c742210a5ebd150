// WebP decoding through libwebp: the RIFF structure through WebPDemux (canvas, animation, EXIF and
// ICCP chunks; it refuses a truncated or inconsistent file as a whole), the first frame's VP8/VP8L
// bitstream through WebPDecode straight into the caller's buffer (external memory, no copy).
// Chunk layout and flags from Google's "WebP Container Specification"; the API from webp/demux.h
// and webp/decode.h. libwebp returns status codes, never longjmps: each is checked here.
#include "kkf_internal.h"

#include <stdlib.h>
#include <webp/decode.h>
#include <webp/demux.h>

static int map_vp8_status(VP8StatusCode code, kkf_status *status) {
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return kkf_fail(status, KKF_NO_MEMORY, "libwebp: out of memory");
    case VP8_STATUS_UNSUPPORTED_FEATURE: return kkf_fail(status, KKF_UNSUPPORTED, "libwebp: unsupported feature");
    case VP8_STATUS_INVALID_PARAM: return kkf_fail(status, KKF_INVALID_ARGUMENT, "libwebp: invalid parameter");
    case VP8_STATUS_NOT_ENOUGH_DATA:
    case VP8_STATUS_SUSPENDED: return kkf_fail(status, KKF_CORRUPT, "libwebp: not enough data (truncated bitstream)");
    default: return kkf_fail(status, KKF_CORRUPT, "libwebp: bitstream error");
    }
}

/// Opens the demuxer and fills `info`; the first frame is left in `frame` (release with
/// WebPDemuxReleaseIterator). Checks the pixel limit on the canvas.
static int open_webp(const void *data, size_t size, const kkf_limits *limits, WebPDemuxer **out_demux,
                     WebPIterator *frame, kkf_webp_info *info, kkf_status *status) {
    *out_demux = NULL;
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    if (!data || size < 12) return kkf_fail(status, KKF_CORRUPT, "too short for a WebP file");
    WebPData whole = {data, size};
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    WebPDemuxer *demux = WebPDemuxPartial(&whole, &state);
    if (!demux || state != WEBP_DEMUX_DONE) {
        if (demux) WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_CORRUPT, state == WEBP_DEMUX_PARSE_ERROR
            ? "WebP RIFF structure does not parse" : "WebP file is truncated (RIFF structure incomplete)");
    }
    uint32_t width = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
    uint32_t height = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
    uint32_t flags = WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS);
    info->width = width;
    info->height = height;
    info->frame_count = (int)WebPDemuxGetI(demux, WEBP_FF_FRAME_COUNT);
    info->is_animated = (flags & ANIMATION_FLAG) != 0;
    info->has_icc = (flags & ICCP_FLAG) != 0;
    uint64_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : 100000000u;
    if (width == 0 || height == 0) {
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_CORRUPT, "WebP canvas has no size");
    }
    if ((uint64_t)width * height > max_pixels) {
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_TOO_MANY_PIXELS, "%ux%u is more than the limit of %llu pixels", width, height,
                        (unsigned long long)max_pixels);
    }
    if (!WebPDemuxGetFrame(demux, 1, frame)) {
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_CORRUPT, "WebP file has no frame");
    }
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(frame->fragment.bytes, frame->fragment.size, &features);
    if (code != VP8_STATUS_OK) {
        WebPDemuxReleaseIterator(frame);
        WebPDemuxDelete(demux);
        return map_vp8_status(code, status);
    }
    if (frame->x_offset < 0 || frame->y_offset < 0 || frame->width <= 0 || frame->height <= 0
        || (uint64_t)frame->x_offset + (uint64_t)frame->width > width
        || (uint64_t)frame->y_offset + (uint64_t)frame->height > height
        || features.width != frame->width || features.height != frame->height) {
        WebPDemuxReleaseIterator(frame);
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_CORRUPT, "WebP frame does not fit its canvas");
    }
    info->has_alpha = (flags & ALPHA_FLAG) != 0 || features.has_alpha;
    info->is_lossless = features.format == 2;

    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
        info->orientation = kkf_tiff_orientation(chunk.chunk.bytes, chunk.chunk.size);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    *out_demux = demux;
    return KKF_OK;
}

int kkf_webp_probe(const void *data, size_t size, const kkf_limits *limits, kkf_webp_info *info, kkf_status *status) {
    WebPDemuxer *demux;
    WebPIterator frame;
    int rc = open_webp(data, size, limits, &demux, &frame, info, status);
    if (rc != KKF_OK) return rc;
    WebPDemuxReleaseIterator(&frame);
    WebPDemuxDelete(demux);
    kkf_ok(status);
    return KKF_OK;
}

int kkf_webp_decode(const void *data, size_t size, const kkf_limits *limits, int channels,
                    uint8_t *out, size_t out_size, kkf_webp_info *info,
                    void **icc, size_t *icc_size, kkf_status *status) {
    if (icc) *icc = NULL;
    if (icc_size) *icc_size = 0;
    if (channels != 3 && channels != 4) return kkf_fail(status, KKF_INVALID_ARGUMENT, "channels must be 3 or 4");
    WebPDemuxer *demux;
    WebPIterator frame;
    int rc = open_webp(data, size, limits, &demux, &frame, info, status);
    if (rc != KKF_OK) return rc;
    size_t stride = (size_t)info->width * (size_t)channels;
    size_t need = kkf_byte_count(info->width, info->height, (uint64_t)channels);
    if (!out || need == 0 || out_size < need) {
        WebPDemuxReleaseIterator(&frame);
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_INVALID_ARGUMENT, "output buffer of %zu bytes, %zu needed", out_size, need);
    }
    // A first frame smaller than the canvas lies on a transparent canvas (container spec, "Canvas
    // Assembling": the canvas starts transparent; the background colour is only a hint).
    if ((uint32_t)frame.width != info->width || (uint32_t)frame.height != info->height) memset(out, 0, need);

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        WebPDemuxReleaseIterator(&frame);
        WebPDemuxDelete(demux);
        return kkf_fail(status, KKF_INVALID_ARGUMENT, "libwebp version mismatch");
    }
    size_t origin = (size_t)frame.y_offset * stride + (size_t)frame.x_offset * (size_t)channels;
    config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out + origin;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = need - origin;
    VP8StatusCode code = WebPDecode(frame.fragment.bytes, frame.fragment.size, &config);
    WebPFreeDecBuffer(&config.output);  // external memory: frees nothing of ours
    if (code != VP8_STATUS_OK) {
        WebPDemuxReleaseIterator(&frame);
        WebPDemuxDelete(demux);
        return map_vp8_status(code, status);
    }
    if (icc && icc_size && info->has_icc) {
        WebPChunkIterator chunk;
        if (WebPDemuxGetChunk(demux, "ICCP", 1, &chunk)) {
            if (chunk.chunk.size > 0) {
                void *profile = malloc(chunk.chunk.size);
                if (profile) {
                    memcpy(profile, chunk.chunk.bytes, chunk.chunk.size);
                    *icc = profile;
                    *icc_size = chunk.chunk.size;
                }
            }
            WebPDemuxReleaseChunkIterator(&chunk);
        }
    }
    WebPDemuxReleaseIterator(&frame);
    WebPDemuxDelete(demux);
    kkf_ok(status);
    return KKF_OK;
}
