#!/usr/bin/env python3
"""Create rate of `klingkit emulator` as tasks accumulate (issue #18: "within 20 % at 50,000 held").

For each scenario a fresh emulator is started on 127.0.0.1 and CLIENTS keep-alive connections
(CometAPI bearer key) create tasks back to back:
  * running: tasks last an hour, so every task created is still running (held and counted in slots);
  * ended:   tasks last 0.2 s, so the store holds ended tasks up to its retention limit (50,000) and
             forgets the oldest beyond it.
The rate of a window of WINDOW creates is measured with 0 tasks held, then the store is filled to
HELD tasks, and the next window is measured. Prints a Markdown table with the ratio held/empty.
Only 127.0.0.1 is contacted; every request has a 30 s timeout.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from emulator_load import start_emulator


def start(binary, task_seconds):
    proc, env = start_emulator(binary, task_seconds, 100_000_000)
    return proc, env["host"], env["port"], env["COMETAPI_KEY"]


def create_many(host, port, key, count, clients):
    """Creates `count` tasks over `clients` connections; returns (seconds, failures)."""
    body = json.dumps({"prompt": "a lighthouse at dusk", "n": 1}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    left = [count]
    lock = threading.Lock()
    failures = [0]

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            try:
                conn.request("POST", "/kling/v1/images/generations", body=body, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                if answer.status != 200 or json.loads(payload).get("code") != 0:
                    with lock:
                        failures[0] += 1
            except (OSError, http.client.HTTPException):
                with lock:
                    failures[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, failures[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.environ.get("KLINGKIT_BIN"))
    parser.add_argument("--held", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    binary = args.binary
    if not binary:
        for candidate in ("../.build/release/klingkit", "../.build/debug/klingkit"):
            path = os.path.join(here, candidate)
            if os.access(path, os.X_OK):
                binary = path
                break
    if not binary:
        sys.exit("emulator_creates.py: no klingkit binary: build it or pass --binary / KLINGKIT_BIN")

    rows = []
    failed = 0
    for scenario, task_seconds in (("running", 3600), ("ended", 0.2)):
        proc, host, port, key = start(binary, task_seconds)
        try:
            empty_s, f1 = create_many(host, port, key, args.window, args.clients)
            fill = args.held - args.window
            fill_s, f2 = create_many(host, port, key, fill, args.clients)
            if task_seconds < 1:
                time.sleep(task_seconds + 0.5)   # every task so far has ended
            held_s, f3 = create_many(host, port, key, args.window, args.clients)
            failed += f1 + f2 + f3
            empty_rate, held_rate = args.window / empty_s, args.window / held_s
            rows.append((scenario, empty_rate, fill / fill_s, held_rate, held_rate / empty_rate, f1 + f2 + f3))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(f"binary: {binary}; {args.clients} connections; windows of {args.window} creates; "
          f"{args.held} tasks held before the second window\n")
    print("| tasks | creates/s, 0 held | creates/s while filling | creates/s at %d held | held / empty | failures |" % args.held)
    print("|---|---|---|---|---|---|")
    for scenario, a, f, b, ratio, fails in rows:
        print(f"| {scenario} | {a:.0f} | {f:.0f} | {b:.0f} | {ratio:.2f} | {fails} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
