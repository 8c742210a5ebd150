// EXIF orientation from a TIFF block, for WebP's EXIF chunk and HEIF's Exif item. A bounded walk of
// IFD0 only (TIFF 6.0: 8-byte header "II*\0"/"MM\0*" + IFD offset; 12-byte entries; tag 0x0112 SHORT).
#include "kkf_internal.h"

int kkf_tiff_orientation(const uint8_t *p, size_t n) {
    if (!p) return 1;
    // Some writers keep the JPEG APP1 prefix (ExifTool's WebP output does not, cwebp copies it through).
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        p += 6;
        n -= 6;
    }
    if (n < 8) return 1;
    int little;
    if (p[0] == 'I' && p[1] == 'I' && p[2] == 42 && p[3] == 0) little = 1;
    else if (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && p[3] == 42) little = 0;
    else return 1;
#define U16(i) (little ? (uint32_t)p[(i)] | (uint32_t)p[(i) + 1] << 8 : (uint32_t)p[(i)] << 8 | (uint32_t)p[(i) + 1])
#define U32(i) (little ? (uint32_t)p[(i)] | (uint32_t)p[(i) + 1] << 8 | (uint32_t)p[(i) + 2] << 16 | (uint32_t)p[(i) + 3] << 24 \
                       : (uint32_t)p[(i)] << 24 | (uint32_t)p[(i) + 1] << 16 | (uint32_t)p[(i) + 2] << 8 | (uint32_t)p[(i) + 3])
    uint32_t ifd = U32(4);
    if (ifd > n - 2 || ifd < 8) return 1;
    uint32_t entries = U16(ifd);
    for (uint32_t k = 0; k < entries; k++) {
        size_t e = (size_t)ifd + 2 + (size_t)k * 12;
        if (e + 12 > n) return 1;
        if (U16(e) == 0x0112) {
            if (U16(e + 2) != 3 || U32(e + 4) != 1) return 1;  // SHORT, count 1
            uint32_t v = U16(e + 8);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
#undef U16
#undef U32
    return 1;
}
