#!/usr/bin/env python3
"""`klingkit batch run` against `klingkit emulator`: wall time vs the budget's minimum, CPU per query,
peak RSS, and a loop over `klingkit generate` as the anchor. Prints one Markdown table.

Only 127.0.0.1 is contacted. Every child is bounded by a timeout and killed at exit.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

_children = []


def start_emulator(binary, task_seconds, limit):
    p = subprocess.Popen([binary, "emulator", "--port", "0", "--task-seconds", str(task_seconds),
                          "--concurrency-limit", str(limit)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _children.append(p)
    env = {}
    while len(env) < 5:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("the emulator printed no environment")
        if "=" in line:
            k, v = line.strip().split("=", 1)
            env[k] = v
    return p, env


def stats(base):
    with urllib.request.urlopen(base + "/_emulator/stats", timeout=10) as r:
        return json.load(r)


def write_batch(path, lines):
    with open(path, "w") as f:
        f.write('{"defaults": {"aspect_ratio": "1:1"}}\n')
        for i in range(lines):
            f.write(json.dumps({"id": f"b{i}", "prompt": f"benchmark product shot {i}", "n": 1}) + "\n")


def timed(cmd, env, timeout):
    """Runs cmd; returns (wall s, user+sys CPU s, peak RSS KiB, exit code) of that child alone (wait4)."""
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    _children.append(p)
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() - t0 > timeout:
            p.kill()
            raise SystemExit(f"{' '.join(cmd[:3])} did not finish within {timeout} s")
        time.sleep(0.05)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        err.seek(0)
        sys.stderr.write(err.read()[-2000:].decode(errors="replace"))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, p.returncode


def batch_run(binary, env, lines, budget, task_seconds, poll, work):
    path = os.path.join(work, f"batch-{lines}.jsonl")
    write_batch(path, lines)
    out = os.path.join(work, f"out-{lines}")
    base = env["KLING_BASE_URL"]
    s0 = stats(base)
    # --sheet-every 0: the contact sheets are not part of the pipeline being measured.
    cmd = [binary, "batch", "run", path, "--out", out, "--budget", str(budget), "--base-url", base,
           "--poll-interval", str(poll), "--sheet-every", "0", "--json"]
    wall, cpu, rss, code = timed(cmd, {**os.environ, **env}, timeout=lines * task_seconds + 600)
    s1 = stats(base)
    created = s1.get("native_tasks_created", 0) - s0.get("native_tasks_created", 0)
    requests = s1.get("requests", 0) - s0.get("requests", 0)
    minimum = math.ceil(lines / budget) * task_seconds
    return {"wall": wall, "cpu": cpu, "rss": rss, "code": code, "created": created, "requests": requests,
            "queries": max(1, requests - created), "minimum": minimum,
            "refusals": s1.get("native_concurrency_refusals", 0) - s0.get("native_concurrency_refusals", 0),
            "peak": s1.get("native_peak_running_slots", 0)}


def generate_loop(binary, env, lines, parallel, poll, work, offset):
    """`klingkit generate` once per line: sequentially, or `parallel` at a time like `xargs -P`."""
    out = os.path.join(work, f"gen-{parallel}")
    base = env["KLING_BASE_URL"]
    cmds = [[binary, "generate", "--prompt", f"benchmark product shot {offset + i}", "--n", "1", "--aspect-ratio", "1:1",
             "--out", out, "--base-url", base, "--poll-interval", str(poll), "--journal", os.path.join(work, f"journal-{parallel}")]
            for i in range(lines)]
    s0 = stats(base)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    running, failures = [], 0
    full_env = {**os.environ, **env}
    while cmds or running:
        while cmds and len(running) < parallel:
            p = subprocess.Popen(cmds.pop(0), env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _children.append(p)
            running.append(p)
        time.sleep(0.02)
        for p in list(running):
            if p.poll() is not None:
                failures += p.returncode != 0
                running.remove(p)
        if time.monotonic() - t0 > 3600:
            raise SystemExit("the generate loop took over an hour")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = stats(base)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), "failures": failures,
            "created": s1.get("native_tasks_created", 0) - s0.get("native_tasks_created", 0),
            "refusals": s1.get("native_concurrency_refusals", 0) - s0.get("native_concurrency_refusals", 0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--task-seconds", type=float, default=2)
    ap.add_argument("--poll-interval", type=float, default=0.5)
    ap.add_argument("--sample", type=int, default=40, help="lines of the sequential generate loop (extrapolated)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="klingkit-batch-bench-")
    try:
        emulator, env = start_emulator(a.binary, a.task_seconds, a.budget)
        small = batch_run(a.binary, env, 200, a.budget, a.task_seconds, a.poll_interval, work)
        big = batch_run(a.binary, env, a.lines, a.budget, a.task_seconds, a.poll_interval, work)
        seq = generate_loop(a.binary, env, a.sample, 1, a.poll_interval, work, 10_000)
        par = generate_loop(a.binary, env, a.lines, a.budget, a.poll_interval, work, 20_000)
        seq_total = seq["wall"] * a.lines / a.sample
        print(f"\n## klingkit batch: {a.lines} lines, budget {a.budget}, {a.task_seconds:g} s tasks, polls every {a.poll_interval:g} s\n")
        print("| measure | value |")
        print("|---|---|")
        print(f"| theoretical minimum (ceil({a.lines}/{a.budget}) x {a.task_seconds:g} s) | {big['minimum']:.1f} s |")
        print(f"| batch run wall time | {big['wall']:.1f} s (**{big['wall'] / big['minimum']:.2f}x** the minimum; goal <= 1.2x) |")
        print(f"| tasks created / 1303 refusals / emulator peak slots | {big['created']} / {big['refusals']} / {big['peak']} |")
        print(f"| batch run CPU (user+sys) | {big['cpu']:.2f} s; {1000 * big['cpu'] / big['queries']:.2f} ms per status query ({big['queries']} queries) |")
        print(f"| batch run peak RSS: {a.lines} lines / 200 lines | {big['rss'] / 1024:.1f} MiB / {small['rss'] / 1024:.1f} MiB |")
        print(f"| anchor: sequential `generate` loop ({a.sample} lines, extrapolated to {a.lines}) | {seq_total:.0f} s (**{seq_total / big['wall']:.1f}x** batch run) |")
        print(f"| anchor: {a.budget} parallel `generate` (xargs -P), {a.lines} lines | {par['wall']:.1f} s (**{par['wall'] / big['wall']:.2f}x** batch run); "
              f"{par['refusals']} 1303 answers, {par['failures']} failed runs, CPU {par['cpu']:.1f} s |")
        ok = big["code"] == 0 and small["code"] == 0 and big["created"] == a.lines
        emulator.terminate()
        return 0 if ok else 1
    finally:
        for p in _children:
            if p.poll() is None:
                p.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
