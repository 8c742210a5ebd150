// libwebp (libwebp-dev): VP8/VP8L decoding and the RIFF demuxer (animation, EXIF/ICCP chunks).
// Used only by CImageFormatShims.
#include <webp/decode.h>
#include <webp/demux.h>
