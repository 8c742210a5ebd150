"""Runs the three HEIC -> 2048 px JPEG pipelines of heic.sh and prints their times and ratios."""
import os
import shutil
import subprocess
import sys
import time

bin_path, runs, work, source, python = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
one_core = ["taskset", "-c", "0"]
env1 = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1")

PILLOW = """
import sys
from PIL import Image
from pillow_heif import register_heif_opener
register_heif_opener()
im = Image.open(sys.argv[1])
im.thumbnail((2048, 2048), Image.LANCZOS)
im.convert("RGB").save(sys.argv[2], quality=90)
"""


def run(argv):
    """Wall seconds, CPU seconds (user+sys of the process tree) and peak RSS in MiB of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env1, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({status}): {err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def ours():
    out = os.path.join(work, "klingkit-out")
    shutil.rmtree(out, ignore_errors=True)
    return [run(one_core + [bin_path, "prepare", "--max-side", "2048", "--jobs", "1", "--threads", "1",
                            "--out", out, source])]


def vips():
    mid = os.path.join(work, "heif-convert.jpg")
    a = run(one_core + ["heif-convert", "-q", "90", source, mid])
    b = run(one_core + ["vipsthumbnail", mid, "--size", "2048", "-o", os.path.join(work, "vips-out.jpg[Q=90]")])
    return [a, b]


def pillow():
    return [run(one_core + [python, "-c", PILLOW, source, os.path.join(work, "pillow-out.jpg")])]


tools = {"klingkit prepare": ours, "heif-convert + vipsthumbnail": vips, "Pillow + pillow-heif": pillow}
best = {name: [float("inf"), float("inf"), 0.0] for name in tools}
for _ in range(runs):
    for name, fn in tools.items():
        steps = fn()
        wall, cpu, rss = sum(s[0] for s in steps), sum(s[1] for s in steps), max(s[2] for s in steps)
        b = best[name]
        b[0], b[1], b[2] = min(b[0], wall), min(b[1], cpu), max(b[2], rss)

print(f"12 MP HEIC -> 2048 px JPEG q90, one core, best of {runs}")
for name, (wall, cpu, rss) in best.items():
    print(f"  {name:32s} wall {wall:6.3f} s  cpu {cpu:6.3f} s  peak RSS {rss:6.1f} MiB")
ours_wall = best["klingkit prepare"][0]
for name in list(tools)[1:]:
    print(f"RESULT heic-2048 vs {name}: {best[name][0] / ours_wall:.2f}x (wall)")
faster = min(best[n][0] for n in list(tools)[1:])
print(f"RESULT heic-2048 vs the faster anchor: {faster / ours_wall:.2f}x (goal >= 1.5x)")
