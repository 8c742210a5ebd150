#!/usr/bin/env python3
"""An independent judge of `klingkit prepare`'s outputs (issue #13): for each `OUTPUT REFERENCE` pair,
Pillow must open and fully decode OUTPUT as JPEG or PNG; REFERENCE (an independent decoder's sRGB
rendering, or a file Pillow reads itself: CMYK JPEG, 16-bit PNG) is resized to OUTPUT's size with
Lanczos, both are composited onto white, and the PSNR over RGB is printed as one JSON line per pair:
{"output", "format", "width", "height", "psnr"} or {"output", "error"}.
"""
import json
import math
import sys

from PIL import Image, ImageChops, ImageStat


def rgb_on_white(image):
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I"):
        # 16-bit gray: Pillow keeps 16 bits here; scale to 8 with rounding.
        image = image.point(lambda v: v / 257.0 + 0.5, "F").convert("L")
    return image.convert("RGB")


def psnr(a, b):
    stat = ImageStat.Stat(ImageChops.difference(a, b))
    mse = sum(s / stat.count[i] for i, s in enumerate(stat.sum2)) / len(stat.sum2)
    return float("inf") if mse == 0 else 10 * math.log10(255 * 255 / mse)


def main(pairs):
    for output, reference in zip(pairs[0::2], pairs[1::2]):
        try:
            out = Image.open(output)
            fmt = out.format
            out.load()
            if fmt not in ("JPEG", "PNG"):
                raise ValueError(f"{fmt} is not JPEG or PNG")
            ref = Image.open(reference)
            ref.load()
            ref = rgb_on_white(ref)
            if ref.size != out.size:
                ref = ref.resize(out.size, Image.LANCZOS)
            print(json.dumps({"output": output, "format": fmt.lower(), "width": out.width, "height": out.height,
                              "psnr": round(min(psnr(rgb_on_white(out), ref), 99.0), 2)}))
        except Exception as error:  # reported, judged by the test
            print(json.dumps({"output": output, "error": f"{type(error).__name__}: {error}"}))


if __name__ == "__main__":
    main(sys.argv[1:])
