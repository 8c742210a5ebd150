"""Runs the `prepare` benchmark cases; see prepare.sh."""
import os, shutil, statistics, subprocess, sys, time

binary, runs, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
inputs = os.path.join(work, "inputs")
photo, rgba, batch = (os.path.join(inputs, n) for n in ("photo12mp.jpg", "rgba12mp.png", "batch"))
batch_files = sorted(os.path.join(batch, n) for n in os.listdir(batch))
one_thread = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1", MAGICK_THREAD_LIMIT="1")

PILLOW_FIT = """
import sys
from PIL import Image, ImageOps
size, out = int(sys.argv[1]), sys.argv[2]
for path in sys.argv[3:]:
    im = ImageOps.exif_transpose(Image.open(path))
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    im.convert('RGB').save(out + '/' + path.rsplit('/', 1)[-1], quality=90)
"""
PILLOW_FLATTEN = """
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGBA')
bg = Image.new('RGB', im.size, (255, 255, 255))
bg.paste(im, mask=im.getchannel('A'))
bg.save(sys.argv[2], quality=90)
"""

def fresh(name):
    path = os.path.join(work, "out", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path

def run_once(argv, env=None, outdir=None):
    """One run: wall seconds, CPU seconds (user + system, children included) and peak RSS in MiB
    (wait4's ru_maxrss, the figure /usr/bin/time -v reports)."""
    if outdir:
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(outdir)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {err.strip()}")
    if outdir and not os.listdir(outdir):
        raise SystemExit(f"{argv[0]} wrote nothing to {outdir}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024

out1, out2, out3 = fresh("fit"), fresh("flatten"), fresh("batch")
cases = {
    "12MP JPEG -> 2048 px": {
        "klingkit 1 thread": ([binary, "prepare", photo, "--out", out1, "--max-side", "2048", "--quality", "90",
                               "--jobs", "1", "--threads", "1"], None, out1),
        "klingkit": ([binary, "prepare", photo, "--out", out1, "--max-side", "2048", "--quality", "90"], None, out1),
        "vipsthumbnail 1 thread": (["vipsthumbnail", photo, "-s", "2048", "-o", out1 + "/%s.jpg[Q=90]"], one_thread, out1),
        "pillow": (["python3", "-c", PILLOW_FIT, "2048", out1, photo], None, out1),
        "imagemagick": (["convert", photo, "-auto-orient", "-resize", "2048x2048", "-quality", "90", out1 + "/im.jpg"], None, out1),
        "djpeg (decode only)": (["djpeg", "-outfile", "/dev/null", photo], None, None),
    },
    "4000x3000 RGBA PNG -> JPEG": {
        "klingkit 1 thread": ([binary, "prepare", rgba, "--out", out2, "--format", "jpeg", "--quality", "90",
                               "--jobs", "1", "--threads", "1"], None, out2),
        "klingkit": ([binary, "prepare", rgba, "--out", out2, "--format", "jpeg", "--quality", "90"], None, out2),
        "vips 1 thread": (["vips", "flatten", rgba, out2 + "/v.jpg[Q=90]", "--background", "255 255 255"], one_thread, out2),
        "pillow": (["python3", "-c", PILLOW_FLATTEN, rgba, out2 + "/p.jpg"], None, out2),
        "imagemagick": (["convert", rgba, "-background", "white", "-flatten", "-quality", "90", out2 + "/im.jpg"], None, out2),
    },
    "100 JPEGs -> 1024 px, upright": {
        "klingkit 1 thread": ([binary, "prepare", batch, "--out", out3, "--max-side", "1024", "--quality", "90",
                               "--jobs", "1", "--threads", "1"], None, out3),
        "klingkit": ([binary, "prepare", batch, "--out", out3, "--max-side", "1024", "--quality", "90"], None, out3),
        "vipsthumbnail 1 thread": (["vipsthumbnail", *batch_files, "-s", "1024", "-o", out3 + "/%s.jpg[Q=90]"], one_thread, out3),
        "pillow": (["python3", "-c", PILLOW_FIT, "1024", out3, *batch_files], None, out3),
        "imagemagick": (["mogrify", "-path", out3, "-auto-orient", "-resize", "1024x1024", "-quality", "90", *batch_files], None, out3),
    },
}

# Rounds interleave the tools (A B C A B C ...) so a burst of load on a shared machine hits all of them;
# each figure is the best (minimum) wall and CPU time over the rounds, and the largest peak RSS.
print(f"{'case':32} {'tool':24} {'wall ms':>9} {'cpu ms':>8} {'peak RSS MiB':>13}")
results = {}
for case, tools in cases.items():
    samples = {tool: [] for tool in tools}
    for _ in range(runs):
        for tool, (argv, env, outdir) in tools.items():
            samples[tool].append(run_once(argv, env, outdir))
    for tool in tools:
        wall = min(s[0] for s in samples[tool])
        cpu = min(s[1] for s in samples[tool])
        peak = max(s[2] for s in samples[tool])
        results[(case, tool)] = (wall, cpu, peak)
        print(f"{case:32} {tool:24} {wall * 1000:9.0f} {cpu * 1000:8.0f} {peak:13.1f}", flush=True)
for case, tools in cases.items():
    for ours in ("klingkit 1 thread", "klingkit"):
        mine = results[(case, ours)]
        for tool in tools:
            if tool.startswith("klingkit") or tool.startswith("djpeg"):
                continue
            wall, cpu, peak = results[(case, tool)]
            label = case if ours == "klingkit" else case + " [1 thread]"
            print(f"RESULT\tprepare\t{label}\twall ms\t{mine[0] * 1000:.0f}\t{tool}\t{wall * 1000:.0f}\t{wall / mine[0]:.2f}")
            print(f"RESULT\tprepare\t{label}\tcpu ms\t{mine[1] * 1000:.0f}\t{tool}\t{cpu * 1000:.0f}\t{cpu / mine[1]:.2f}")
            print(f"RESULT\tprepare\t{label}\tpeak RSS MiB\t{mine[2]:.1f}\t{tool}\t{peak:.1f}\t{peak / mine[2]:.2f}")
