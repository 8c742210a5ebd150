#!/usr/bin/env python3
"""The Pillow anchor for benchmarks/sheet.sh: the contact sheet a Python user would write by hand.
Shrink-on-load (thumbnail() drafts JPEGs), Lanczos fit, file-name captions, PNG at Pillow's default level 6.
Usage: sheet_pillow.py OUT COLUMNS TILE GAP MARGIN INPUT..."""
import math
import os
import sys

from PIL import Image, ImageDraw, ImageFont

def main():
    out, columns, tile, gap, margin = sys.argv[1], *map(int, sys.argv[2:6])
    paths = sys.argv[6:]
    rows = math.ceil(len(paths) / columns)
    caption = 24
    width = 2 * margin + columns * tile + (columns - 1) * gap
    height = 2 * margin + rows * (tile + caption) + (rows - 1) * gap
    sheet = Image.new("RGB", (width, height), (244, 244, 242))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, path in enumerate(paths):
        x0 = margin + (i % columns) * (tile + gap)
        y0 = margin + (i // columns) * (tile + caption + gap)
        with Image.open(path) as im:
            im.thumbnail((tile, tile), Image.LANCZOS)
            im = im.convert("RGB")
            sheet.paste(im, (x0 + (tile - im.width) // 2, y0 + (tile - im.height) // 2))
        draw.text((x0 + tile // 2, y0 + tile + 4), os.path.basename(path), fill=(31, 31, 31), font=font, anchor="mt")
    sheet.save(out)

if __name__ == "__main__":
    main()
