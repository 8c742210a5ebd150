#!/usr/bin/env python3
"""The libvips anchor for benchmarks/sheet.sh: thumbnail() (shrink-on-load) each input, centre it in its tile,
add a file-name caption, arrayjoin the grid, PNG at libvips' default level 6.
Usage: sheet_pyvips.py OUT COLUMNS TILE GAP MARGIN INPUT..."""
import os
import sys

import pyvips

def main():
    out, columns, tile, gap, margin = sys.argv[1], *map(int, sys.argv[2:6])
    paths = sys.argv[6:]
    background = [244, 244, 242]
    cells = []
    for path in paths:
        thumb = pyvips.Image.thumbnail(path, tile, height=tile)
        if thumb.bands == 1:
            thumb = thumb.colourspace("srgb")
        thumb = thumb.gravity("centre", tile, tile, extend="background", background=background)
        text = pyvips.Image.text(os.path.basename(path), width=tile, height=16, dpi=72)
        label = text.ifthenelse([31, 31, 31], background, blend=True)
        label = label.gravity("centre", tile, 24, extend="background", background=background)
        cells.append(thumb.join(label, "vertical"))
    sheet = pyvips.Image.arrayjoin(cells, across=columns, shim=gap, background=background)
    sheet = sheet.embed(margin, margin, sheet.width + 2 * margin, sheet.height + 2 * margin,
                        extend="background", background=background)
    sheet.write_to_file(out)

if __name__ == "__main__":
    main()
