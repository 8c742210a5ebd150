#!/usr/bin/env bash
# Regenerates the sample contact sheets in this folder with `klingkit sheet`.
# Usage: samples/sheets/make_sheets.sh [KLINGKIT_BINARY]   (default: .build/debug/klingkit; needs Pillow for the
# stand-in `klingkit generate` output folder, which is cut from the corpus photo Landscape_1.jpg).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/.build/debug/klingkit}"
corpus="$root/../shared/corpus"
[ -d "$corpus" ] || corpus=/work/shared/corpus
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. The sample inputs, light theme, one damaged file drawn as a placeholder.
"$bin" sheet "$root"/samples/*.jpg "$root"/samples/*.png --out "$here/sample-inputs.png" \
  --title "KlingKit sample inputs" || true

# 2. A `klingkit generate` output folder (<out>/<task_id>/<index>.jpg + task.json): task captions with prompts, dark.
python3 - "$corpus/exif-orientation/Landscape_1.jpg" "$work/out" <<'PY'
import json, os, sys
from PIL import Image, ImageEnhance, ImageOps
src = Image.open(sys.argv[1]).convert("RGB")
out = sys.argv[2]
tasks = [("861204711923556352", "a lighthouse on a cliff at dusk, oil painting"),
         ("861204711923556353", "the same valley in early winter light, wide shot, soft haze over the hills")]
for t, (task, prompt) in enumerate(tasks):
    os.makedirs(f"{out}/{task}", exist_ok=True)
    with open(f"{out}/{task}/task.json", "w") as f:
        json.dump({"task_id": task, "task_status": "succeed", "request": {"prompt": prompt, "n": 4}}, f)
    for i in range(4):
        w, h = src.size
        side = min(w, h) - 200 * i
        x = (w - side) * i // 3
        im = src.crop((x, 0, x + side, side)).resize((1024, 1024), Image.LANCZOS)
        im = ImageEnhance.Color(im).enhance(0.5 + 0.4 * i)
        if t == 1:
            im = ImageEnhance.Brightness(ImageOps.mirror(im)).enhance(0.8 + 0.1 * i)
        im.save(f"{out}/{task}/{i}.jpg", quality=88)
PY
"$bin" sheet "$work/out" --out "$here/generate-output-dark.jpg" --captions task --background dark \
  --columns 4 --tile 240 --title "klingkit generate: 2 tasks x 4 images"

# 3. The corpus JPEG folder: small tiles, many inputs, three drawn as placeholders (12-bit and lossless JPEG).
"$bin" sheet "$corpus/jpeg" --out "$here/corpus-jpeg.png" --tile 128 --gap 6 --margin 12 \
  --title "corpus/jpeg (30 files)" || true
