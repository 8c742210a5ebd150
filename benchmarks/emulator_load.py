#!/usr/bin/env python3
"""Load test of `klingkit emulator` on loopback.

N concurrent clients (threads, one keep-alive connection each; half native with HS256 JWTs, half
CometAPI) create tasks and poll each until it ends, for a bounded time. Afterwards every created task
is looked up again, and the emulator's own list is paged through, to prove none was lost. The
emulator's resident memory (VmRSS) is sampled twice a second. Prints one Markdown table.

Only 127.0.0.1 is contacted; every loop is bounded by --seconds plus a grace period.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time


_children = []


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(access_key: str, secret_key: str) -> str:
    now = int(time.time())
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps({"iss": access_key, "exp": now + 1800, "nbf": now - 5}, separators=(",", ":")).encode())
    sig = hmac.new(secret_key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.answered = 0
        self.errors = {}
        self.latencies = []
        self.created = []  # (provider, task_id, external_id)
        self.finished = {"succeed": 0, "failed": 0}
        self.unfinished = 0

    def error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def start_emulator(binary, task_seconds, concurrency_limit):
    """Starts `klingkit emulator` on a free loopback port; returns (process, its NAME=value lines as a
    dict, plus "host" and "port"). Exits the script when no base URL appears within 60 s."""
    proc = subprocess.Popen([binary, "emulator", "--port", "0", "--task-seconds", str(task_seconds),
                             "--concurrency-limit", str(concurrency_limit)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    env = {}
    start_wait = time.time()
    while len(env) < 5 and time.time() - start_wait < 60:
        line = proc.stdout.readline()
        if not line:
            break
        if "=" in line:
            key, value = line.strip().split("=", 1)
            env[key] = value
    if "KLING_BASE_URL" not in env:
        proc.kill()
        sys.exit("the emulator did not print its base URL: " + proc.stderr.read())
    hostport = env["KLING_BASE_URL"].split("//", 1)[1]
    env["host"], env["port"] = hostport.split(":")[0], int(hostport.split(":")[1])
    return proc, env


def client(index, args, env, stats, deadline, grace_deadline):
    native = args.provider == "native" or (args.provider == "both" and index % 2 == 0)
    host, port = env["host"], env["port"]
    prefix = "" if native else "/kling"
    conn = http.client.HTTPConnection(host, port, timeout=30)
    token_at = 0.0
    auth = f"Bearer {env['COMETAPI_KEY']}"

    def call(method, path, body=None):
        nonlocal conn, token_at, auth
        if native and time.time() - token_at > 1500:
            auth = "Bearer " + jwt(env["KLING_ACCESS_KEY"], env["KLING_SECRET_KEY"])
            token_at = time.time()
        headers = {"Authorization": auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            stats.error(type(error).__name__)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            return None, None
        elapsed = time.perf_counter() - start
        with stats.lock:
            stats.answered += 1
            stats.latencies.append(elapsed)
        try:
            payload = json.loads(data)
        except ValueError:
            stats.error(f"http {response.status} non-JSON")
            return response.status, None
        if response.status != 200 or payload.get("code") != 0:
            stats.error(f"http {response.status} code {payload.get('code')}")
        return response.status, payload

    i = 0
    while time.time() < deadline:
        external = f"load-{index}-{i}"
        i += 1
        body = json.dumps({"model_name": "kling-v3", "prompt": f"load test {index} {i}", "n": 1,
                           "aspect_ratio": "1:1", "external_task_id": external})
        status, payload = call("POST", prefix + "/v1/images/generations", body)
        if status != 200 or not payload or payload.get("code") != 0:
            time.sleep(args.poll_interval)
            continue
        task_id = payload["data"]["task_id"]
        with stats.lock:
            stats.created.append(("native" if native else "comet", task_id, external))
        while time.time() < grace_deadline:
            time.sleep(args.poll_interval)
            status, payload = call("GET", prefix + f"/v1/images/generations/{task_id}")
            if payload and payload.get("code") == 0:
                state = payload["data"]["task_status"]
                if state in ("succeed", "failed"):
                    with stats.lock:
                        stats.finished[state] += 1
                    break
        else:
            with stats.lock:
                stats.unfinished += 1
    conn.close()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.environ.get("KLINGKIT_BIN"), help="klingkit executable")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--task-seconds", type=float, default=2)
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--provider", choices=["native", "comet", "both"], default="both")
    args = parser.parse_args()
    binary = args.binary
    if not binary:
        for candidate in ("../.build/release/klingkit", "../.build/debug/klingkit"):
            path = os.path.join(here, candidate)
            if os.access(path, os.X_OK):
                binary = path
                break
    if not binary or not os.access(binary, os.X_OK):
        sys.exit("emulator_load.py: no klingkit binary: build it or pass --binary / KLINGKIT_BIN")

    proc, env = start_emulator(binary, args.task_seconds, 1_000_000)
    _children.append(proc)

    stats = Stats()
    samples = []
    stop_sampling = threading.Event()

    def sampler():
        while not stop_sampling.is_set():
            value = rss_kib(proc.pid)
            if value:
                samples.append((time.time(), value))
            stop_sampling.wait(0.5)

    sampler_thread = threading.Thread(target=sampler, daemon=True)
    sampler_thread.start()
    rss_start = rss_kib(proc.pid)
    t0 = time.time()
    deadline = t0 + args.seconds
    grace_deadline = deadline + args.task_seconds + 10
    threads = [threading.Thread(target=client, args=(i, args, env, stats, deadline, grace_deadline), daemon=True)
               for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, grace_deadline - time.time() + 30))
    elapsed = time.time() - t0
    stop_sampling.set()
    sampler_thread.join()

    # Verification: every created task is found again, terminal, by task id and by external id;
    # and the emulator's list holds exactly the tasks the clients created.
    lost = 0
    checked = 0
    jwt_auth = "Bearer " + jwt(env["KLING_ACCESS_KEY"], env["KLING_SECRET_KEY"])
    comet_auth = "Bearer " + env["COMETAPI_KEY"]
    conn = http.client.HTTPConnection(env["host"], env["port"], timeout=30)

    def get(path, auth):
        conn.request("GET", path, headers={"Authorization": auth})
        return json.loads(conn.getresponse().read())

    listed = {"native": set(), "comet": set()}
    for provider, prefix, auth in (("native", "", jwt_auth), ("comet", "/kling", comet_auth)):
        page = 1
        while page <= 1000:
            data = get(f"{prefix}/v1/images/generations?pageNum={page}&pageSize=500", auth).get("data") or []
            listed[provider].update(item["task_id"] for item in data)
            if len(data) < 500:
                break
            page += 1
    for provider, task_id, external in stats.created:
        prefix, auth = ("", jwt_auth) if provider == "native" else ("/kling", comet_auth)
        by_external = get(f"{prefix}/v1/images/generations?external_task_id={external}", auth)
        checked += 1
        if (by_external.get("code") != 0 or by_external["data"]["task_id"] != task_id
                or by_external["data"]["task_status"] not in ("succeed", "failed") or task_id not in listed[provider]):
            lost += 1
    extra = sum(len(listed[p]) for p in listed) - len(stats.created)
    conn.close()

    rss_end = rss_kib(proc.pid)
    proc.send_signal(15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    clean_exit = proc.returncode == 0

    lat = sorted(stats.latencies)

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    quarter = [v for (_, v) in samples]
    def at(fraction):
        if not quarter:
            return float("nan")
        return quarter[min(len(quarter) - 1, int(fraction * (len(quarter) - 1)))] / 1024

    errors = sum(stats.errors.values())
    rows = [
        ("binary", os.path.relpath(binary)),
        ("clients (native/CometAPI)", f"{args.clients} ({(args.clients + 1) // 2 if args.provider == 'both' else (args.clients if args.provider == 'native' else 0)}/"
                                      f"{args.clients // 2 if args.provider == 'both' else (args.clients if args.provider == 'comet' else 0)})"),
        ("load seconds (+ drain)", f"{args.seconds:.0f} (+{elapsed - args.seconds:.1f})"),
        ("task seconds / poll interval s", f"{args.task_seconds} / {args.poll_interval}"),
        ("requests answered", f"{stats.answered}"),
        ("requests per second", f"{stats.answered / elapsed:.0f}"),
        ("errors (transport + non-zero codes)", f"{errors}" + (f" {stats.errors}" if errors else "")),
        ("latency p50 / p99 / max ms", f"{pct(0.5):.1f} / {pct(0.99):.1f} / {pct(1.0):.1f}"),
        ("tasks created", f"{len(stats.created)}"),
        ("tasks seen terminal by their client", f"{stats.finished['succeed'] + stats.finished['failed']} (unfinished {stats.unfinished})"),
        ("tasks lost (not found by external id, not terminal, or not listed)", f"{lost} of {checked}"),
        ("tasks listed but never created", f"{extra}"),
        ("emulator RSS MiB: start / 25% / 50% / 75% / end / peak",
         f"{(rss_start or 0) / 1024:.1f} / {at(0.25):.1f} / {at(0.5):.1f} / {at(0.75):.1f} / {(rss_end or 0) / 1024:.1f} / {max(quarter or [0]) / 1024:.1f}"),
        ("clean exit on SIGTERM", "yes" if clean_exit else f"no (status {proc.returncode})"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric'.ljust(width)} | value |")
    print(f"| {'-' * width} | ----- |")
    for key, value in rows:
        print(f"| {key.ljust(width)} | {value} |")
    ok = errors == 0 and lost == 0 and extra == 0 and stats.unfinished == 0 and clean_exit
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    try:
        main()
    finally:
        # Never leave an emulator behind, whatever happened above.
        for child in list(_children):
            if child.poll() is None:
                child.kill()
