#!/usr/bin/env python3
"""Makes the memory and CPU bombs of issue #18 with real encoders, into the folder given.

Small files whose headers pass the pixel guard but that cost far more than their size to decode or to
prepare. JPEGs come from cjpeg (libjpeg-turbo-progs) fed a flat PPM on stdin; PNGs from Pillow, or
written chunk by chunk with zlib where Pillow cannot make the file (the iCCP bomb).

    python3 benchmarks/make_bombs.py OUTDIR
"""
import os
import struct
import subprocess
import sys
import zlib

from PIL import Image


def flat_ppm_to_jpeg(path, width, height, extra=()):
    """cjpeg of a flat mid-gray RGB picture, streamed (the PPM is never on disk)."""
    row = bytes([128, 128, 128]) * width
    with open(path, "wb") as out:
        proc = subprocess.Popen(["cjpeg", "-quality", "75", *extra], stdin=subprocess.PIPE, stdout=out)
        proc.stdin.write(b"P6\n%d %d\n255\n" % (width, height))
        for _ in range(height):
            proc.stdin.write(row)
        proc.stdin.close()
        if proc.wait() != 0:
            sys.exit(f"cjpeg failed for {path}")


def repeat_last_scan(path, scans):
    """Rewrites a progressive JPEG so its last scan (luma AC refinement) is sent until the stream has
    `scans` scans: each copy is a full pass over the luma blocks for the decoder (cjpeg's own scan
    scripts stop at 100 scans, so the copies are spliced in at the byte level)."""
    data = open(path, "rb").read()
    i, last_sos = 2, None
    while i < len(data):
        assert data[i] == 0xFF, "marker expected"
        marker = data[i + 1]
        if marker == 0xD9:
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        j = i + 2 + length
        if marker == 0xDA:   # entropy-coded data runs to the next marker that is not a stuffed 0 or RST
            last_sos = i
            while not (data[j] == 0xFF and data[j + 1] not in (0x00, *range(0xD0, 0xD8))):
                j += 1
        i = j
    count = sum(1 for k in range(len(data) - 1) if data[k] == 0xFF and data[k + 1] == 0xDA)
    scan = data[last_sos:i]
    with open(path, "wb") as f:
        f.write(data[:i] + scan * (scans - count) + data[i:])


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def iccp_bomb(path, width=600, height=600, profile_mib=512):
    """A valid gray PNG whose iCCP chunk inflates to `profile_mib` MiB of zeros (about 0.5 MB on disk)."""
    compressor = zlib.compressobj(9)
    block = bytes(1 << 20)
    # An ICC header that declares the whole size (a gray display profile, "acsp" signature), then zeros.
    header = bytearray(128)
    header[0:4] = struct.pack(">I", profile_mib << 20)
    header[12:20] = b"mntrGRAY"
    header[36:40] = b"acsp"
    body = bytearray(compressor.compress(bytes(header) + block[128:]))
    for _ in range(profile_mib - 1):
        body += compressor.compress(block)
    body += compressor.flush()
    rows = zlib.compress(b"".join(b"\x00" + bytes([128]) * width for _ in range(height)), 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        f.write(chunk(b"iCCP", b"bomb\x00\x00" + bytes(body)))
        f.write(chunk(b"IDAT", rows))
        f.write(chunk(b"IEND", b""))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bombs"
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    flat_ppm_to_jpeg(p("progressive-10000.jpg"), 10000, 10000, ["-progressive"])
    scans = 2660
    flat_ppm_to_jpeg(p("many-scans-4000.jpg"), 4000, 4000, ["-progressive"])
    repeat_last_scan(p("many-scans-4000.jpg"), scans)
    flat_ppm_to_jpeg(p("pad-16000x6250.jpg"), 16000, 6250)
    Image.new("L", (1, 1_000_000), 200).save(p("tall-1x1000000.png"), optimize=True)
    Image.new("RGB", (20000, 5000), (90, 120, 150)).save(p("wide-20000x5000.png"), optimize=True)
    Image.new("RGB", (10000, 10000), (200, 180, 160)).save(p("big-10000x10000.png"), optimize=True)
    iccp_bomb(p("iccp-512mib.png"))
    Image.new("RGB", (800, 600), (30, 60, 90)).save(p("small-800x600.png"))
    for name in sorted(os.listdir(out)):
        print(f"{os.path.getsize(p(name)):>12,}  {name}" + (f"  ({scans} scans)" if name == "many-scans-4000.jpg" else ""))


if __name__ == "__main__":
    main()
