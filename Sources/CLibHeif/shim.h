// libheif (libheif-dev): HEIF/HEIC and AVIF containers, HEVC through libde265 and AV1 through
// dav1d/libaom plugins. Used only by CImageFormatShims.
#include <libheif/heif.h>
