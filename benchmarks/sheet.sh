#!/usr/bin/env bash
# Contact sheets: `klingkit sheet` beside ImageMagick `montage`, a Pillow script (thumbnail(): JPEG draft) and a
# pyvips script making the same 3x3 (512 px tiles) and 10x10 (256 px tiles) PNG sheets from the same
# 1024x1024 JPEGs: photographs (crops of the corpus photos) and, for the 3x3 case, pure noise too (the worst
# case for PNG encoding, which klingkit runs on every core: parallel deflate segments). The goal of the
# 3x3 photo case is >= 4x Pillow (a GOAL line says whether it is met).
# Prints wall time (median of RUNS) and peak RSS per tool, and RESULT lines whose ratio is anchor / ours
# (> 1: klingkit faster or smaller). Env: KLINGKIT_BIN (default .build/release/klingkit), RUNS (default 5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${KLINGKIT_BIN:-$root/.build/release/klingkit}"
runs="${RUNS:-5}"
work="$here/work/sheet"
mkdir -p "$work/inputs" "$work/out"
[ -x "$bin" ] || { echo "no klingkit binary at $bin (swift build -c release --product klingkit)" >&2; exit 1; }
python3 "$here/sheet_inputs.py" "$work/inputs" 100
python3 "$here/sheet_inputs.py" "$work/noise" 9 noise

python3 - "$bin" "$runs" "$work" "$here" <<'PY'
import os, statistics, subprocess, sys, time, shutil, importlib.util
binary, runs, work, here = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
inputs = sorted(os.path.join(work, "inputs", f) for f in os.listdir(os.path.join(work, "inputs")))
noise = sorted(os.path.join(work, "noise", f) for f in os.listdir(os.path.join(work, "noise")))

def measure(argv):
    """Median wall seconds and the largest peak RSS (MiB) over `runs` runs; the output must appear."""
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        err = proc.stderr.read().decode(errors="replace")
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv[0]} failed: {err.strip()}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(walls), max(peaks)

cases = [("3x3 512px PNG", inputs[:9], 3, 512), ("3x3 noise 512px PNG", noise[:9], 3, 512),
         ("10x10 256px PNG", inputs[:100], 10, 256)]
tools = {
    "klingkit": lambda out, files, cols, tile: [binary, "sheet", *files, "--out", out, "--columns", str(cols),
                                                 "--tile", str(tile), "--gap", "8", "--margin", "16", "--captions", "name"],
    "pillow": lambda out, files, cols, tile: ["python3", os.path.join(here, "sheet_pillow.py"), out, str(cols), str(tile),
                                               "8", "16", *files],
    "montage": lambda out, files, cols, tile: ["montage", "-label", "%f", "-tile", f"{cols}x", "-geometry",
                                                f"{tile}x{tile}+4+4", "-background", "#f4f4f2", *files, out],
}
if importlib.util.find_spec("pyvips"):
    tools["pyvips"] = lambda out, files, cols, tile: ["python3", os.path.join(here, "sheet_pyvips.py"), out, str(cols),
                                                       str(tile), "8", "16", *files]
else:
    print("pyvips not installed: skipped (pip install pyvips)", file=sys.stderr)
if not shutil.which("montage"):
    del tools["montage"]
    print("ImageMagick not installed: montage skipped", file=sys.stderr)

print(f"{'case':<18} {'tool':<9} {'wall ms':>9} {'peak MiB':>9} {'out KiB':>9}")
for name, files, cols, tile in cases:
    results = {}
    for tool, make in tools.items():
        out = os.path.join(work, "out", f"{tool}-{name.replace(' ', '-')}.png")
        wall, peak = measure(make(out, files, cols, tile))
        results[tool] = (wall, peak)
        print(f"{name:<18} {tool:<9} {wall * 1000:9.0f} {peak:9.1f} {os.path.getsize(out) / 1024:9.0f}")
    ours = results["klingkit"]
    for tool, (wall, peak) in results.items():
        if tool == "klingkit":
            continue
        print(f"RESULT\tsheet\t{name}\twall ms\t{ours[0] * 1000:.0f}\t{tool}\t{wall * 1000:.0f}\t{wall / ours[0]:.2f}")
        print(f"RESULT\tsheet\t{name}\tpeak RSS MiB\t{ours[1]:.1f}\t{tool}\t{peak:.1f}\t{peak / ours[1]:.2f}")
    if name == "3x3 512px PNG" and "pillow" in results:
        ratio = results["pillow"][0] / ours[0]
        print(f"GOAL\tsheet\t{name}\tpillow / klingkit wall = {ratio:.2f} (goal >= 4): {'met' if ratio >= 4 else 'NOT met'}")
PY
