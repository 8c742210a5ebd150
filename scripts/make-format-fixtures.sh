#!/usr/bin/env bash
# Makes the HEIF/AVIF/WebP/APNG fixtures in Tests/Fixtures/formats from corpus photos with real
# encoders, and their references with independent decoders (heif-convert, dwebp, Pillow), so the tests
# compare KlingKit's decoders against other implementations. Run from the repository root:
#   scripts/make-format-fixtures.sh            (needs the corpus at ../shared/corpus)
# Tools (Debian 12): libheif-examples (heif-enc, heif-convert), libavif-bin (avifenc), webp (cwebp,
# img2webp, dwebp), imagemagick (convert), python3-pil. Outputs are deterministic for a given tool version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${KLINGKIT_CORPUS:-$root/../shared/corpus}"
out="$root/Tests/Fixtures/formats"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
py=/usr/bin/python3   # Debian's python3 with python3-pil

# Sources: an upright landscape photo and the same photo stored sideways with EXIF orientation 6.
convert "$corpus/exif-orientation/Landscape_1.jpg" -resize 150x100! -strip "$tmp/land.png"
convert "$corpus/exif-orientation/Landscape_6.jpg" -resize 100x150! "$tmp/land6.jpg"   # keeps EXIF orientation 6
convert "$tmp/land6.jpg" -strip "$tmp/land6.png"
# The upright reference for orientation tests (ImageMagick turns it; the WebP/AVIF decoders must agree).
convert "$tmp/land6.png" -rotate 90 "$out/upright-reference.png"
# RGBA with real transparency: the photo inside a transparent ring.
convert "$tmp/land.png" -alpha set \( -size 150x100 xc:black -fill white -draw "ellipse 75,50 68,44 0,360" \) \
    -alpha off -compose CopyOpacity -composite "PNG32:$tmp/alpha.png"

# HEIF (HEVC via x265) and AVIF (AV1 via aom).
heif-enc -q 90 "$tmp/land.png" -o "$out/landscape.heic" >/dev/null
heif-enc -q 90 "$tmp/alpha.png" -o "$out/alpha.heic" >/dev/null
heif-enc -q 90 "$tmp/land6.jpg" -o "$out/exif6-ignored.heic" >/dev/null          # EXIF 6, no irot: HEIF ignores EXIF
heif-enc -q 90 -b 10 "$corpus/png-suite/basn2c16.png" -o "$out/tenbit.heic" >/dev/null  # 16-bit PNG -> 10-bit HEVC
heif-enc -q 90 "$tmp/land.png" "$tmp/land6.png" -o "$out/two-images.heic" >/dev/null   # primary is the first
avifenc -s 8 --min 0 --max 10 "$tmp/land.png" "$out/landscape.avif" >/dev/null
avifenc -s 8 --min 0 --max 10 --ignore-exif --irot 3 "$tmp/land6.png" "$out/irot.avif" >/dev/null  # 270 deg anticlockwise
avifenc -s 8 --min 0 --max 10 --cicp 12/13/6 "$tmp/land.png" "$out/p3-nclx.avif" >/dev/null         # Display P3 primaries

# WebP: lossy, lossless, alpha, EXIF orientation 6, animated (3 frames of different colours).
cwebp -quiet -q 90 "$tmp/land.png" -o "$out/lossy.webp"
cwebp -quiet -lossless "$tmp/land.png" -o "$out/lossless.webp"
cwebp -quiet -q 90 -alpha_q 100 -exact "$tmp/alpha.png" -o "$out/alpha.webp"
cwebp -quiet -q 90 -metadata exif "$tmp/land6.jpg" -o "$out/exif6.webp"
for c in red green blue; do convert -size 96x64 "xc:$c" "$tmp/frame-$c.png"; done
img2webp -loop 0 -lossless -d 100 "$tmp/frame-red.png" "$tmp/frame-green.png" "$tmp/frame-blue.png" -o "$out/animated.webp" >/dev/null

# Animated PNG (acTL): default image red, then green and blue frames (Pillow's APNG writer).
"$py" - "$out/animated.png" <<'PY'
import sys
from PIL import Image
frames = [Image.new("RGB", (96, 64), c) for c in ("red", "green", "blue")]
frames[0].save(sys.argv[1], save_all=True, append_images=frames[1:], duration=100, loop=0)
PY

# Bombs: headers patched to claim huge sizes (no pixel data behind them).
"$py" - "$out" <<'PY'
import struct, sys, os
out = sys.argv[1]
heic = bytearray(open(os.path.join(out, "landscape.heic"), "rb").read())
i = heic.find(b"ispe")
struct.pack_into(">II", heic, i + 8, 100000, 100000)        # 'ispe': type, version+flags, width, height
open(os.path.join(out, "bomb-100000.heic"), "wb").write(heic)
webp = bytearray(open(os.path.join(out, "lossy.webp"), "rb").read())
assert webp[12:16] == b"VP8 " and webp[23:26] == b"\x9d\x01\x2a"  # simple lossy file: VP8 key frame
struct.pack_into("<HH", webp, 26, 16383, 16383)             # RFC 6386 9.1: 14-bit width, height (scale 0)
open(os.path.join(out, "bomb-16383.webp"), "wb").write(webp)
PY
# A grid of 2,000 tiles of 64x64 (AVIF grid tiles must be at least 64 px): 3,200x2,560 of flat grey.
convert -size 3200x2560 xc:gray50 "$tmp/flat.png"
avifenc -s 10 --min 63 --max 63 -y 400 --grid 50x40 "$tmp/flat.png" "$out/grid-bomb.avif" >/dev/null

# frame-bomb.heic is not made here: it is a 14 KB file found by fuzz/run-formats.sh (kept as found) whose
# HEVC stream decodes to a 57840x38746 frame while its 'ispe' says 150x100.
# nclx-leak.heic, found the same way, has an nclx box that libheif 1.15 allocates and then refuses (the
# shim leaked it); it stays as a seed of the formats fuzz pass, which reports leaks.
# av1-matrix-leak.avif (108x100), found the same way, has an AV1 stream with an unknown matrix_coefficients
# code: libheif refuses it after its decoder plugin made the image, and leaks that image.

# Two faces side by side for `check --face` (Grace Hopper, Pillow's test photo, twice).
convert "$corpus/jpeg/pillow_hopper.jpg" "$corpus/jpeg/pillow_hopper.jpg" +append -quality 90 "$out/two-faces.jpg"

# References from independent decoders, at the same size (the tests judge by PSNR).
heif-convert "$out/landscape.heic" "$tmp/heic.png" >/dev/null && cp "$tmp/heic.png" "$out/landscape.heic.reference.png"
heif-convert "$out/landscape.avif" "$tmp/avif.png" >/dev/null && cp "$tmp/avif.png" "$out/landscape.avif.reference.png"
heif-convert "$out/tenbit.heic" "$tmp/ten.png" >/dev/null && cp "$tmp/ten.png" "$out/tenbit.heic.reference.png"
# The P3 AVIF: heif-convert gives its pixels in Display P3 (no profile attached); the sRGB rendering is
# computed here from the standards, not by Little CMS (which KlingKit's conversion uses).
heif-convert "$out/p3-nclx.avif" "$tmp/p3.png" >/dev/null
"$py" - "$tmp/p3.png" "$out/p3-nclx.avif.reference.png" <<'PY'
import sys
from PIL import Image
# Display P3 -> sRGB by the published definitions, independent of KlingKit's Little CMS path: both
# use the sRGB transfer curve (IEC 61966-2-1) and D65; the primaries are SMPTE EG 432-1's (P3) and
# ITU-R BT.709's (sRGB). RGB->XYZ matrices from the chromaticities (the standard derivation), then
# sRGB = M_srgb^-1 * M_p3 on linear light, clipped to the sRGB gamut, re-encoded, rounded.
def rgb_to_xyz(r, g, b, w):
    def xyz(c): return [c[0] / c[1], 1.0, (1 - c[0] - c[1]) / c[1]]
    P = [xyz(r), xyz(g), xyz(b)]                      # columns
    M = [[P[j][i] for j in range(3)] for i in range(3)]
    W = xyz(w)
    S = solve(M, W)
    return [[M[i][j] * S[j] for j in range(3)] for i in range(3)]
def solve(A, y):
    import copy
    A = copy.deepcopy(A); y = list(y); n = 3
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(A[r][c])); A[c], A[p] = A[p], A[c]; y[c], y[p] = y[p], y[c]
        for r in range(n):
            if r != c:
                f = A[r][c] / A[c][c]
                A[r] = [a - f * b for a, b in zip(A[r], A[c])]; y[r] -= f * y[c]
    return [y[i] / A[i][i] for i in range(n)]
def inverse(A):
    cols = [solve(A, [1.0 if i == j else 0.0 for i in range(3)]) for j in range(3)]
    return [[cols[j][i] for j in range(3)] for i in range(3)]
def mul(A, B): return [[sum(A[i][k] * B[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
d65 = (0.3127, 0.3290)
p3 = rgb_to_xyz((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), d65)
srgb = rgb_to_xyz((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), d65)
M = mul(inverse(srgb), p3)
def decode(v):
    v /= 255.0
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
def encode(v):
    v = min(1.0, max(0.0, v))
    v = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return int(v * 255 + 0.5)
lut = [decode(i) for i in range(256)]
image = Image.open(sys.argv[1]).convert("RGB")
out = []
data = image.tobytes()
for i in range(0, len(data), 3):
    r, g, b = data[i], data[i + 1], data[i + 2]
    lin = (lut[r], lut[g], lut[b])
    out.append(tuple(encode(sum(M[i][k] * lin[k] for k in range(3))) for i in range(3)))
result = Image.new("RGB", image.size)
result.putdata(out)
result.save(sys.argv[2])
PY
dwebp -quiet "$out/lossy.webp" -o "$out/lossy.webp.reference.png"
dwebp -quiet "$out/alpha.webp" -o "$out/alpha.webp.reference.png"
cp "$tmp/land.png" "$out/lossless.webp.reference.png"   # lossless: the encoder's input exactly
ls -l "$out"
du -sh "$out"
