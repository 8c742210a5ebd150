"""Makes the `prepare` benchmark inputs (once; kept between runs) from the corpus photos.

photo12mp.jpg: Landscape_1.jpg enlarged to 4000x3000 with film-grain noise, so it compresses like a
camera photo (about 3-4 MB at q90, 4:2:0). rgba12mp.png: the same picture with a radial alpha ramp.
batch/: 100 JPEGs, copies of the 12 exif-orientation photos (orientations 1-8, 1800x1200 stored).
"""
import os, shutil, sys
from PIL import Image, ImageChops, ImageDraw, ImageFilter

corpus, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "batch"), exist_ok=True)

photo = os.path.join(out, "photo12mp.jpg")
if not os.path.exists(photo):
    base = Image.open(os.path.join(corpus, "Landscape_1.jpg")).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
    noise = Image.merge("RGB", [Image.effect_noise((4000, 3000), 14 + 3 * i) for i in range(3)])
    base = ImageChops.add(base, noise, scale=1.0, offset=-128)
    base.save(photo, quality=90, subsampling=2)

rgba = os.path.join(out, "rgba12mp.png")
if not os.path.exists(rgba):
    rgb = Image.open(photo).convert("RGB")
    alpha = Image.radial_gradient("L").resize((4000, 3000)).point(lambda v: 255 - v)
    rgb.putalpha(alpha)
    rgb.save(rgba, compress_level=6)

names = sorted(n for n in os.listdir(corpus) if n.endswith(".jpg") and not n.startswith("pillow_"))
existing = [n for n in os.listdir(os.path.join(out, "batch"))]
if len(existing) != 100:
    for n in existing:
        os.remove(os.path.join(out, "batch", n))
    for i in range(100):
        src = names[i % len(names)]
        shutil.copyfile(os.path.join(corpus, src), os.path.join(out, "batch", f"{i:03d}_{src}"))
