#!/usr/bin/env python3
"""Codecs benchmark: ImageCodecs (CodecsBench, in-process, files in memory) beside djpeg, Pillow,
pyvips and vipsheader on the same files. Prints a table and RESULT lines whose ratio is
anchor time / KlingKit time (> 1: KlingKit faster).

usage: codecs_bench.py CODECSBENCH_BINARY CORPUS_DIR WORK_DIR [RUNS]
"""
import io
import os
import statistics
import subprocess
import sys
import time

from PIL import Image

bench, corpus, work = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
os.makedirs(work, exist_ok=True)
try:
    import pyvips
except Exception:  # optional anchor
    pyvips = None


def make_inputs():
    """A 12-megapixel photo (4000x3000) as baseline JPEG q90 4:2:0, progressive JPEG, and RGB PNG."""
    src = os.path.join(corpus, "exif-orientation", "Landscape_1.jpg")
    paths = {
        "jpeg-baseline-12MP": os.path.join(work, "photo-4000x3000.jpg"),
        "jpeg-progressive-12MP": os.path.join(work, "photo-4000x3000-progressive.jpg"),
        "png-rgb-12MP": os.path.join(work, "photo-4000x3000.png"),
    }
    if not all(os.path.exists(p) for p in paths.values()):
        big = Image.open(src).convert("RGB").resize((4000, 3000), Image.LANCZOS)
        big.save(paths["jpeg-baseline-12MP"], quality=90, subsampling=2)
        big.save(paths["jpeg-progressive-12MP"], quality=90, subsampling=2, progressive=True)
        big.save(paths["png-rgb-12MP"], compress_level=6)
    return paths


def ours(mode, files, n=runs):
    out = subprocess.run([bench, mode, "--runs", str(n)] + files, check=True, capture_output=True, text=True)
    return float(out.stdout.split("\t")[0])


def median_time(fn, n=runs):
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_process(argv):
    return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pillow_decode(data, draft=None):
    def go():
        for b in data:
            im = Image.open(io.BytesIO(b))
            if draft:
                im.draft("L", (im.width // 8, im.height // 8))
            im.load()
    return go


def pillow_probe(data):
    def go():
        for b in data:
            Image.open(io.BytesIO(b)).size
    return go


def pyvips_decode(data):
    def go():
        for b in data:
            pyvips.Image.new_from_buffer(b, "", access="sequential").avg()
    return go


rows = []


def record(case, metric, our_seconds, anchor, anchor_seconds):
    rows.append((case, metric, our_seconds, anchor, anchor_seconds, anchor_seconds / our_seconds))


inputs = make_inputs()
for case, path in inputs.items():
    data = [open(path, "rb").read()]
    t = ours("decode", [path])
    record(case, "decode ms", t, "Pillow", median_time(pillow_decode(data)))
    if pyvips:
        record(case, "decode ms", t, "pyvips", median_time(pyvips_decode(data)))
    if case.startswith("jpeg"):
        record(case, "decode ms", t, "djpeg", median_time(run_process(["djpeg", "-outfile", "/dev/null", path])))
        v = ours("verify", [path])
        record(case, "verify ms (1/8 scale)", v, "djpeg -scale 1/8",
               median_time(run_process(["djpeg", "-scale", "1/8", "-outfile", "/dev/null", path])))
        record(case, "verify ms (1/8 scale)", v, "Pillow draft 1/8", median_time(pillow_decode(data, draft=True)))
    else:
        v = ours("verify", [path])
        record(case, "verify ms (rows, no image)", v, "Pillow decode", median_time(pillow_decode(data)))

# Probe: every decodable JPEG/PNG header of the corpus, repeated to 1,000 files.
probe_files = []
for folder in ("jpeg", "png", "png-suite", "exif-orientation"):
    for name in sorted(os.listdir(os.path.join(corpus, folder))):
        if name.lower().endswith((".jpg", ".png")) and not name.startswith("x") and "12" not in name and "lossless" not in name:
            probe_files.append(os.path.join(corpus, folder, name))
probe_files = (probe_files * (1000 // len(probe_files) + 1))[:1000]
probe_data = [open(p, "rb").read() for p in probe_files]
t = ours("probe", probe_files)
record("probe 1,000 corpus files", "probe ms", t, "Pillow Image.open", median_time(pillow_probe(probe_data)))
record("probe 1,000 corpus files", "probe ms", t, "vipsheader (1 process)", median_time(run_process(["vipsheader"] + probe_files), n=3))

print(f"| case | metric | KlingKit | anchor | anchor | ratio (anchor/KlingKit, >1: KlingKit faster) |")
print("|---|---|---:|---|---:|---:|")
for case, metric, o, anchor, a, ratio in rows:
    print(f"| {case} | {metric} | {o*1000:.2f} | {anchor} | {a*1000:.2f} | {ratio:.2f} |")
for case, metric, o, anchor, a, ratio in rows:
    print(f"RESULT\tcodecs\t{case}\t{metric}\t{o*1000:.2f}\t{anchor}\t{a*1000:.2f}\t{ratio:.2f}")
print(f"\nprobe throughput: {1000 / (rows[-1][2]):,.0f} files/s (KlingKit)")
