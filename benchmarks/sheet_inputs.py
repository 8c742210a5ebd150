#!/usr/bin/env python3
"""Makes the contact-sheet benchmark inputs: N distinct 1024x1024 baseline JPEGs (quality 90, 4:2:0),
cut and scaled from the corpus photographs with fixed offsets, so every run measures the same bytes;
with `noise`, N 1024x1024 JPEGs of uniform random pixels (seeded), the worst case for every encoder.
Usage: sheet_inputs.py OUTDIR COUNT [noise]"""
import os
import sys

from PIL import Image, ImageEnhance

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "..", "..", "shared", "corpus")
if not os.path.isdir(corpus):
    corpus = "/work/shared/corpus"
SOURCES = ["exif-orientation/Landscape_1.jpg", "exif-orientation/Portrait_5.jpg", "jpeg/pillow_flower.jpg",
           "jpeg/pillow_flower2.jpg", "png/pillow_test-card.png", "jpeg/ljt_testorig.jpg", "png/pillow_hopper_bw_500.png"]

def noise(out, count):
    import numpy
    generator = numpy.random.default_rng(16)
    for i in range(count):
        path = os.path.join(out, f"noise-{i:03d}.jpg")
        pixels = generator.integers(0, 256, size=(1024, 1024, 3), dtype=numpy.uint8)
        if not os.path.exists(path):
            Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=90, subsampling="4:2:0")

def main():
    out, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[3] == "noise":
        return noise(out, count)
    images = [Image.open(os.path.join(corpus, s)).convert("RGB") for s in SOURCES]
    for i in range(count):
        path = os.path.join(out, f"{i:03d}.jpg")
        if os.path.exists(path):
            continue
        src = images[i % len(images)]
        w, h = src.size
        side = int(min(w, h) * (0.6 + 0.4 * ((i * 37) % 11) / 10))
        x = ((i * 97) % max(1, w - side + 1))
        y = ((i * 53) % max(1, h - side + 1))
        tile = src.crop((x, y, x + side, y + side)).resize((1024, 1024), Image.LANCZOS)
        tile = ImageEnhance.Color(tile).enhance(0.6 + (i % 5) * 0.2)
        tile.save(path, "JPEG", quality=90, subsampling="4:2:0")

if __name__ == "__main__":
    main()
