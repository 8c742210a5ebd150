#!/usr/bin/env bash
# The review gallery: `klingkit gallery` over 500 results (1024x1024 photograph JPEGs from sheet_inputs.py,
# in 50 task folders of 10 with task.json) against making the same 320 px JPEG thumbnails with libvips'
# `vipsthumbnail` (one process over all files, and one process per core with xargs -P). Cold runs: the
# gallery folder is removed before each. Prints wall time (median of RUNS) and peak RSS, and RESULT lines
# whose ratio is anchor / ours (> 1: klingkit faster or smaller).
# Env: KLINGKIT_BIN (default .build/release/klingkit), RUNS (default 3), COUNT (default 500).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bin="${KLINGKIT_BIN:-$root/.build/release/klingkit}"
runs="${RUNS:-3}"
count="${COUNT:-500}"
work="$here/work/gallery"
[ -x "$bin" ] || { echo "no klingkit binary at $bin (swift build -c release --product klingkit)" >&2; exit 1; }
command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail not installed (apt install libvips-tools)" >&2; exit 1; }
mkdir -p "$work"
python3 "$here/sheet_inputs.py" "$here/work/sheet/inputs" "$count"

python3 - "$bin" "$runs" "$count" "$work" "$here/work/sheet/inputs" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time
binary, runs, count, work, inputs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
files = sorted(os.path.join(inputs, f) for f in os.listdir(inputs))[:count]
results = os.path.join(work, "results")
# Task folders as `klingkit generate` leaves them: <task>/<index>.jpg + task.json (hard links, no copies).
if os.path.exists(results):
    shutil.rmtree(results)
for t in range((count + 9) // 10):
    folder = os.path.join(results, f"task{t:03d}")
    os.makedirs(folder)
    names = []
    for i, src in enumerate(files[t * 10:(t + 1) * 10]):
        os.link(src, os.path.join(folder, f"{i}.jpg"))
        names.append(f"{i}.jpg")
    json.dump({"task_id": f"task{t:03d}", "prompt": f"benchmark task {t}", "files": names, "task_status": "succeed"},
              open(os.path.join(folder, "task.json"), "w"))

def measure(make):
    walls, peaks = [], []
    for _ in range(runs):
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        argv = make(out)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv[0]} failed: {proc.stderr.read().decode(errors='replace').strip()}")
        peaks.append(usage.ru_maxrss / 1024)
    made = sum(len(fs) for _, _, fs in os.walk(out) if True)
    return statistics.median(walls), max(peaks), made

cores = os.cpu_count() or 1
tools = {
    "klingkit": lambda out: [binary, "gallery", results, "--out", out, "--thumbnail-size", "320"],
    "vipsthumbnail": lambda out: ["vipsthumbnail", "--size", "320", "-o", os.path.join(out, "%s.jpg[Q=82]"), *files],
    f"vipsthumbnail-P{cores}": lambda out: ["sh", "-c", f'printf "%s\\n" "$@" | xargs -P {cores} -n 25 vipsthumbnail --size 320 -o "{out}/%s.jpg[Q=82]"', "sh", *files],
}
print(f"{'case':<22} {'tool':<18} {'wall ms':>9} {'peak MiB':>9} {'files':>6}")
case = f"{count} x 1024px JPEG"
measured = {}
for tool, make in tools.items():
    wall, peak, made = measure(make)
    measured[tool] = (wall, peak)
    print(f"{case:<22} {tool:<18} {wall * 1000:9.0f} {peak:9.1f} {made:6d}")
ours = measured["klingkit"]
print(f"note: klingkit also writes gallery.json, gallery.js and index.html; vipsthumbnail only the thumbnails")
for tool, (wall, peak) in measured.items():
    if tool == "klingkit":
        continue
    print(f"RESULT\tgallery\t{case}\twall ms\t{ours[0] * 1000:.0f}\t{tool}\t{wall * 1000:.0f}\t{wall / ours[0]:.2f}")
    print(f"RESULT\tgallery\t{case}\tpeak RSS MiB\t{ours[1]:.1f}\t{tool}\t{peak:.1f}\t{peak / ours[1]:.2f}")
PY
