#!/usr/bin/env python3
"""Hostile input to `klingkit serve` on loopback (see serve-hostile.sh)."""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


def post(port, path, body, headers=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body=body, headers=headers or {"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz")
        return c.getresponse().status == 200
    except OSError:
        return False


def jpeg_bomb(data, side=20000):
    b = bytearray(data)
    i = 2
    while i + 9 < len(b) and b[i] == 0xFF:
        marker, length = b[i + 1], (b[i + 2] << 8) | b[i + 3]
        if 0xC0 <= marker <= 0xC2:
            b[i + 5:i + 7] = side.to_bytes(2, "big")
            b[i + 7:i + 9] = side.to_bytes(2, "big")
            return bytes(b)
        i += 2 + length
    raise SystemExit("no SOF")


def gigabyte(port):
    """A real 1 GiB chunked upload; answered 413 long before its end, the socket closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"\0" * (1 << 20)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    try:
        for _ in range(1024):
            s.sendall(framed)
            sent += len(chunk)
    except OSError:
        pass
    answer = b""
    try:
        while True:
            part = s.recv(65536)
            if not part:
                break
            answer += part
    except OSError:
        pass
    s.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, sent


def slowloris(port, count=200, wait=15):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Le")
        sockets.append(s)
    alive_during = healthy(port)
    deadline = time.time() + wait
    closed = 0
    for s in sockets:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            if s.recv(1) == b"":
                closed += 1
        except OSError:
            closed += 1 if isinstance(sys.exc_info()[1], ConnectionResetError) else 0
        s.close()
    return closed, alive_during


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--samples", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    server = subprocess.Popen([args.binary, "serve", "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().rsplit(":", 1)[1])
    valid = open(os.path.join(args.samples, "portrait-valid.jpg"), "rb").read()
    flipped = bytearray(valid)
    for i in range(2000, len(flipped) - 2, 997):
        flipped[i] ^= 0x5A
    boundary = "hostile"
    cases = [
        ("truncated JPEG, prepare", "/v1/prepare", open(os.path.join(args.samples, "corrupt-truncated.jpg"), "rb").read(), None, {422}),
        ("bit-flipped JPEG, prepare", "/v1/prepare", bytes(flipped), None, {415, 422}),
        ("bit-flipped JPEG, check", "/v1/check", bytes(flipped), None, {200}),
        ("JPEG header 20000x20000, check", "/v1/check", jpeg_bomb(valid), None, {422}),
        ("JPEG header 20000x20000, prepare", "/v1/prepare", jpeg_bomb(valid), None, {422}),
        ("HEIC 100000 px bomb, prepare", "/v1/prepare", open(os.path.join(args.fixtures, "bomb-100000.heic"), "rb").read(), None, {422}),
        ("multipart without boundary", "/v1/check", b"--x\r\n\r\n", {"Content-Type": "multipart/form-data"}, {400}),
        ("multipart truncated", "/v1/check", f"--{boundary}\r\nContent-Disposition: form-data; name=f; filename=a.jpg\r\n\r\n".encode() + valid[:5000],
         {"Content-Type": f"multipart/form-data; boundary={boundary}"}, {400}),
        ("multipart bad header", "/v1/check", f"--{boundary}\r\nBad Header\r\n\r\nx\r\n--{boundary}--\r\n".encode(),
         {"Content-Type": f"multipart/form-data; boundary={boundary}"}, {400}),
        ("text/plain body", "/v1/check", b"hello", {"Content-Type": "text/plain"}, {415}),
    ]
    failed = False
    print(f"RSS at start: {rss_mib(server.pid)} MiB")
    print("| input | status | expected | server answers after |")
    print("|---|---|---|---|")
    for label, route, body, headers, expected in cases:
        status, data = post(port, route, body, headers)
        ok = status in expected and healthy(port)
        failed |= not ok
        try:
            json.loads(data) if status != 200 or route == "/v1/check" else None
        except ValueError:
            failed = True
        print(f"| {label} | {status} | {sorted(expected)} | {'yes' if healthy(port) else 'NO'} |")
    status, sent = gigabyte(port)
    failed |= status != 413 or not healthy(port)
    print(f"| 1 GiB chunked body ({sent >> 20} MiB sent before the close) | {status} | [413] | {'yes' if healthy(port) else 'NO'} |")
    closed, alive = slowloris(port)
    failed |= closed < 200 or not alive or not healthy(port)
    print(f"| slowloris: 200 sockets with half a head | {closed} closed by the server | 200 closed | {'yes' if alive and healthy(port) else 'NO'} |")
    print(f"RSS at end: {rss_mib(server.pid)} MiB")
    server.terminate()
    failed |= server.wait(timeout=60) != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
