#!/usr/bin/env python3
"""Regenerates the sample reference images from two photos of the shared corpus.

Sources (MIT licence, recurser/exif-orientation-examples, copied into ../shared/corpus/exif-orientation/):
Landscape_1.jpg and Portrait_6.jpg. Everything else here is derived from them by this script
(deterministic: fixed seeds). Needs Pillow and numpy: `pip install pillow numpy`.
"""
import io
import os
import shutil
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus", "exif-orientation")
if not os.path.isdir(CORPUS):
    sys.exit(f"corpus not found at {CORPUS}")

landscape = Image.open(os.path.join(CORPUS, "Landscape_1.jpg")).convert("RGB")  # 1800x1200

# 1. A phone photo lying on its side: pixels stored 1800x1200, EXIF orientation 6 (upright 1200x1800).
shutil.copyfile(os.path.join(CORPUS, "Portrait_6.jpg"), os.path.join(HERE, "phone-photo-exif6.jpg"))

# 2. A valid portrait: 900x1200 crop of the landscape scene, baseline JPEG q88, no metadata.
landscape.crop((450, 0, 1350, 1200)).save(os.path.join(HERE, "portrait-valid.jpg"), quality=88)

# 3. A tiny avatar: 160x160 PNG with an alpha circle mask (below the 300 px minimum).
avatar = landscape.crop((600, 200, 1400, 1000)).resize((160, 160), Image.LANCZOS).convert("RGBA")
mask = Image.new("L", (160, 160), 0)
ImageDraw.Draw(mask).ellipse((0, 0, 159, 159), fill=255)
avatar.putalpha(mask)
avatar.save(os.path.join(HERE, "avatar-tiny.png"), optimize=True)

# 4. A wide panorama: 4200x1200 (3.5:1, outside 2.5:1) made of the scene and its mirror image.
pano = Image.new("RGB", (4200, 1200))
pano.paste(landscape, (0, 0))
pano.paste(landscape.transpose(Image.FLIP_LEFT_RIGHT), (1800, 0))
pano.paste(landscape.crop((0, 0, 600, 1200)), (3600, 0))
pano.save(os.path.join(HERE, "panorama-wide.jpg"), quality=85)

# 5. A large PNG screenshot: 3840x2400 RGB, over the 10 MiB limit: a window chrome drawn over
#    the photo with sensor-like noise (which is what makes real screenshots of photos big).
rng = np.random.default_rng(20261121)
shot = landscape.resize((3840, 2400), Image.BICUBIC)
arr = np.asarray(shot).astype(np.int16)
arr += rng.integers(-6, 7, size=arr.shape, dtype=np.int16)
shot = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
d = ImageDraw.Draw(shot)
d.rectangle((0, 0, 3839, 90), fill=(236, 236, 240))
for i, c in enumerate([(255, 95, 87), (254, 188, 46), (40, 200, 64)]):
    d.ellipse((30 + i * 60, 25, 70 + i * 60, 65), fill=c)
d.rectangle((0, 2300, 3839, 2399), fill=(32, 33, 36))
shot.save(os.path.join(HERE, "screenshot-large.png"), compress_level=6)

# 6. A corrupt file: the first 40% of a valid JPEG (truncated upload).
buf = io.BytesIO()
landscape.save(buf, format="JPEG", quality=90)
data = buf.getvalue()
with open(os.path.join(HERE, "corrupt-truncated.jpg"), "wb") as f:
    f.write(data[: len(data) * 2 // 5])

for name in sorted(os.listdir(HERE)):
    path = os.path.join(HERE, name)
    if os.path.isfile(path) and not name.endswith((".py", ".md")):
        print(f"{os.path.getsize(path):>10}  {name}")
