#!/usr/bin/env python3
"""Load of `klingkit serve` and of the Pillow/FastAPI anchor on loopback (see serve-load.sh).

CLIENTS clients (threads in several processes, one keep-alive connection each) post the inputs in
turn to /v1/check and /v1/prepare for SECONDS. They upload as curl does (`Expect: 100-continue` for
a body over 1 MiB) and wait as long as a 503's Retry-After asks; `--naive` clients do neither. Each input has the statuses it is designed to get
(200, or 422 for a corrupt file's prepare, 503 when the server is busy); anything else, and any
connection failure, is an error. Only 127.0.0.1 is contacted; every loop is bounded in time.
"""
import argparse
import http.client
import multiprocessing
import select
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BUSY = {503}


def inputs(samples, fixtures):
    def read(path):
        with open(path, "rb") as f:
            return f.read()
    items = [
        ("valid", read(os.path.join(samples, "portrait-valid.jpg")), {200}, {200}),
        ("too-small", read(os.path.join(samples, "avatar-tiny.png")), {200}, {200}),
        ("too-wide", read(os.path.join(samples, "panorama-wide.jpg")), {200}, {200}),
        ("exif6", read(os.path.join(samples, "phone-photo-exif6.jpg")), {200}, {200}),
        ("corrupt", read(os.path.join(samples, "corrupt-truncated.jpg")), {200}, {422}),
        ("png-15mb", read(os.path.join(samples, "screenshot-large.png")), {200}, {200}),
    ]
    heic = os.path.join(fixtures, "landscape.heic")
    if os.path.exists(heic):
        # The anchor cannot read HEIC: its designed prepare answer is 415.
        items.append(("heic", read(heic), {200}, {200, 415}))
    return items


class CurlLikeClient:
    """One keep-alive HTTP/1.1 connection that uploads the way curl does: a body over 1 MiB is announced
    with `Expect: 100-continue` and sent after the interim 100 (or after 1 s without an answer); a final
    answer instead of the 100 means the body is never sent, and the connection is closed."""

    EXPECT_OVER = 1 << 20

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buffer = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buffer += chunk

    def _answer(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            return status, headers
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buffer:
                    self._fill()
                size_line, self.buffer = self.buffer.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buffer) < size + 2:
                    self._fill()
                self.buffer = self.buffer[size + 2:]
                if size == 0:
                    break
        else:
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                self._fill()
            self.buffer = self.buffer[length:]
        return status, headers

    def post(self, route, body):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        expect = len(body) > self.EXPECT_OVER
        head = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(body)}\r\n" + ("Expect: 100-continue\r\n" if expect else "") + "\r\n").encode()
        if not expect:
            self.sock.sendall(head + body)
        else:
            self.sock.sendall(head)
            ready, _, _ = select.select([self.sock], [], [], 1.0)
            if ready:
                status, headers = self._answer()
                if status != 100:
                    self.close()  # answered without the body: this connection cannot carry on
                    return status, headers
            self.sock.sendall(body)
        status, headers = self._answer()
        while status == 100:  # an interim answer that came after the 1 s wait
            status, headers = self._answer()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers


def client_process(port, threads, seconds, items, routes, queue, start_at, naive):
    results = []
    lock = threading.Lock()

    def naive_post(state, route, body):
        if state.get("connection") is None:
            state["connection"] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection = state["connection"]
        connection.request("POST", route, body=body, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        response.read()
        if response.getheader("connection", "").lower() == "close":
            connection.close()
            state["connection"] = None
        return response.status, {"retry-after": response.getheader("retry-after")}

    def run(index):
        client = CurlLikeClient(port)
        state = {}
        n = index
        while time.time() < start_at:
            time.sleep(0.01)
        end = start_at + seconds
        local = []
        while time.time() < end:
            name, body, check_ok, prepare_ok = items[n % len(items)]
            route = routes[(n // len(items)) % len(routes)]
            allowed = (check_ok if route == "/v1/check" else prepare_ok) | BUSY
            n += 1
            started = time.perf_counter()
            headers = {}
            try:
                status, headers = naive_post(state, route, body) if naive else client.post(route, body)
            except Exception as error:
                status = "error: " + type(error).__name__
                client.close()
                if state.get("connection") is not None:
                    state["connection"].close()
                state["connection"] = None
            local.append((route, name, status, time.perf_counter() - started, status in allowed, time.time()))
            # A well-behaved client waits as long as a 503's Retry-After asks (the naive one does not).
            if status == 503 and not naive and headers.get("retry-after"):
                time.sleep(max(0.0, min(float(headers["retry-after"]), end - time.time())))
        with lock:
            results.extend(local)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(results)


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    """User + system CPU time of the processes, from /proc/PID/stat (fields 14 and 15, in clock ticks)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def family(pid):
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except OSError:
        pass
    return pids


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_healthy(port, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.2)
    return False


def load(label, port, pids, args, items, routes):
    processes = max(1, min(8, args.clients // 25))
    per = [args.clients // processes + (1 if i < args.clients % processes else 0) for i in range(processes)]
    queue = multiprocessing.Queue()
    start_at = time.time() + 2
    rss_start = rss_kib(pids)
    cpu_start = cpu_seconds(pids)
    children = [multiprocessing.Process(target=client_process, args=(port, n, args.seconds, items, routes, queue, start_at, args.naive)) for n in per]
    for c in children:
        c.start()
    results = []
    for _ in children:
        results.extend(queue.get(timeout=args.seconds + 300))
    for c in children:
        c.join(timeout=30)
    rss_end = rss_kib(pids)
    # The server's CPU over the phase (late answers included), per answer with 200: its cost per job.
    cpu = cpu_seconds(pids) - cpu_start
    rows = {}
    end = start_at + args.seconds
    for route in routes:
        mine = [r for r in results if r[0] == route]
        # Rates count the answers that arrived within the window, as wrk does: a server that queues
        # without bound finishes much of its window's work afterwards (p99 of a minute), and dividing
        # those late answers by the window's seconds would credit it with time it did not have.
        timely = [r for r in mine if r[5] <= end]
        latencies = sorted(r[3] for r in mine)
        statuses = {}
        for r in mine:
            statuses[r[2]] = statuses.get(r[2], 0) + 1
        errors = sum(1 for r in mine if not r[4])
        ok = sum(1 for r in timely if r[2] == 200)
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
        rows[route] = {"requests": len(mine), "ok": ok, "rps": len(timely) / args.seconds, "ok_rps": ok / args.seconds,
                       "late": len(mine) - len(timely), "cpu": cpu, "ok_all": sum(1 for r in mine if r[2] == 200),
                       "by_input": {name: sum(1 for r in timely if r[1] == name and r[2] == 200) for name in dict.fromkeys(i[0] for i in items)}, "p50": p(0.5), "p99": p(0.99), "errors": errors, "statuses": statuses}
    answered = sum(row["ok_all"] for row in rows.values())  # with --mixed the CPU pays for both routes
    for row in rows.values():
        row["cpu_per_ok"] = cpu * 1000 / answered if answered else float("nan")
    return rows, rss_start, rss_end


ROUTES = ("/v1/check", "/v1/prepare")


def phases(label, port, pids, args, items):
    """Each route under the whole load in turn (its throughput is then its own), or, with --mixed, the
    clients alternating between them (each route's rate then also pays for the other's work)."""
    if args.mixed:
        return load(label, port, pids, args, items, ROUTES)
    rows, rss_start, rss_end = {}, None, None
    for route in ROUTES:
        part, start, rss_end = load(label, port, pids, args, items, (route,))
        rows.update(part)
        rss_start = start if rss_start is None else rss_start
    return rows, rss_start, rss_end


def table(label, rows, rss_start, rss_end):
    for route, row in rows.items():
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(row["statuses"].items(), key=lambda kv: str(kv[0])))
        print(f"| {label} | {route} | {row['requests']} | {row['late']} | {row['rps']:.1f} | {row['ok_rps']:.1f} | {row['p50']:.0f} | {row['p99']:.0f} | "
              f"{row['errors']} | {row['cpu']:.0f} | {row['cpu_per_ok']:.0f} | {rss_start // 1024} -> {rss_end // 1024} | {statuses} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--anchor-dir", required=True)
    parser.add_argument("--samples", required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--only", choices=["serve", "anchor"])
    parser.add_argument("--mixed", action="store_true",
                        help="one phase with the clients alternating between the routes, instead of one phase per route")
    parser.add_argument("--naive", action="store_true",
                        help="clients post with http.client: no Expect: 100-continue, no wait after a 503")
    args = parser.parse_args()
    items = inputs(args.samples, args.fixtures)
    print(f"{args.clients} {'naive' if args.naive else 'curl-like'} clients, {args.seconds} s per {'server' if args.mixed else 'route'}, {len(items)} inputs: {', '.join(i[0] for i in items)}; "
          f"CPU: {os.cpu_count()} cores", file=sys.stderr)
    # requests: every request sent within the window; late: those answered after it (not in the rates).
    # server CPU s: the server's user+system time over the phase; CPU ms/200: that over its 200 answers.
    print("| server | route | requests | late | req/s | 200/s | p50 ms | p99 ms | errors | server CPU s | CPU ms/200 | RSS MiB start -> end | statuses |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    measured = {}
    failed = False
    if args.only in (None, "serve"):
        server = subprocess.Popen([args.binary, "serve", "--port", "0", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        wait_healthy(port)
        rows, a, b = phases("klingkit serve", port, [server.pid], args, items)
        table("klingkit serve", rows, a, b)
        measured["serve"] = rows
        server.send_signal(signal.SIGTERM)
        failed |= server.wait(timeout=60) != 0
        failed |= any(r["errors"] for r in rows.values())
    if args.only in (None, "anchor"):
        port = free_port()
        anchor = subprocess.Popen([sys.executable, "-m", "uvicorn", "serve_anchor:app", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "2", "--log-level", "warning"], cwd=args.anchor_dir, stderr=subprocess.DEVNULL)
        if not wait_healthy(port):
            print("the anchor did not start", file=sys.stderr)
            anchor.kill()
            sys.exit(1)
        rows, a, b = phases("Pillow + FastAPI (uvicorn, 2 workers)", port, family(anchor.pid), args, items)
        table("Pillow + FastAPI (uvicorn, 2 workers)", rows, a, b)
        measured["anchor"] = rows
        anchor.send_signal(signal.SIGTERM)
        anchor.wait(timeout=60)
    # Which inputs the 200s were for: a server that turns the heavy uploads away answers more, not faster.
    labels = {"serve": "klingkit serve", "anchor": "Pillow + FastAPI"}
    names = list(dict.fromkeys(i[0] for i in items))
    print()
    print("| 200 answers in the window, by input | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, rows in measured.items():
        for route, row in rows.items():
            print(f"| {labels[key]} {route} | " + " | ".join(str(row["by_input"][n]) for n in names) + " |")
    print()
    if "serve" in measured and "anchor" in measured:
        for route, goal in zip(ROUTES, (5, 3)):
            mine, theirs = measured["serve"][route]["ok_rps"], measured["anchor"][route]["ok_rps"]
            ratio = mine / theirs if theirs else float("inf")
            print(f"RESULT {route} throughput (200 answers/s): klingkit serve {mine:.1f} / anchor {theirs:.1f} = {ratio:.2f}x (goal >= {goal}x)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
