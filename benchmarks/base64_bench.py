#!/usr/bin/env python3
"""Python side of benchmarks/base64.sh: pybase64 and fastpybase64 (simdutf) on the same buffers as the
Swift bench, then one table of GB/s with ratios, merged with the Swift results (TSV from Base64Bench).

GB/s counts input bytes (10^9 bytes per second): raw bytes for encode, base64 text for decode.
Each figure is the best of N timed runs (fewest interruptions on a shared machine)."""
import argparse
import os
import random
import sys
import time


def best_rate(fn, arg, nbytes, min_runs, min_seconds):
    best = float("inf")
    runs = 0
    start = time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return nbytes / best / 1e9


def python_results(sizes, min_runs, min_seconds):
    results = {}
    impls = []
    try:
        import pybase64
        impls.append(("pybase64", pybase64.b64encode, lambda s: pybase64.b64decode(s, validate=True)))
        sys.stderr.write(f"pybase64 {pybase64.get_version()}\n")
    except ImportError:
        sys.stderr.write("pybase64 not installed (pip install pybase64): skipped\n")
    try:
        import fastpybase64
        impls.append(("fastpybase64", fastpybase64.b64encode, lambda s: fastpybase64.b64decode(s, validate=True)))
        sys.stderr.write(f"fastpybase64 {fastpybase64.__version__} (simdutf {fastpybase64.simdutf_version}, {fastpybase64.get_implementation()})\n")
    except ImportError:
        sys.stderr.write("fastpybase64 not installed (pip install fastpybase64): skipped\n")
    for size in sizes:
        data = random.Random(size).randbytes(size)
        import base64 as std
        text = std.b64encode(data)
        for name, enc, dec in impls:
            assert enc(data) == text and dec(text) == data, name
            results[("encode", size, name)] = best_rate(enc, data, len(data), min_runs, min_seconds)
            results[("decode", size, name)] = best_rate(dec, text, len(text), min_runs, min_seconds)
            sys.stderr.write(f"  {name} {size >> 20} MiB done\n")
    return results


def read_swift(path):
    results = {}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or parts[0] not in ("encode", "decode"):
                continue
            op, size, name, rate = parts
            results[(op, int(size), name)] = float(rate)
            if name not in order:
                order.append(name)
    return results, order


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swift", help="TSV written by Base64Bench (op, bytes, implementation, GB/s)")
    parser.add_argument("--sizes", default="10,100", help="buffer sizes in MiB")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    sizes = [int(s) << 20 for s in args.sizes.split(",")]

    results, order = ({}, [])
    if args.swift and os.path.exists(args.swift):
        results, order = read_swift(args.swift)
    py = python_results(sizes, args.runs, args.seconds)
    results.update(py)
    for name in ("pybase64", "fastpybase64"):
        if any(k[2] == name for k in py):
            order.append(name)

    # Rows: implementations; columns: operation x size. Ratio = FastBase64 / that implementation, where
    # memcpy (into a preallocated buffer) is compared with "FastBase64 (into)" and every allocating
    # implementation with the allocating "FastBase64".
    columns = [(op, size) for op in ("encode", "decode") for size in sizes]
    print()
    print("base64 throughput, GB/s of input (best of runs); (Nx) = FastBase64 is N times as fast")
    print()
    width = 20
    header = f"{'implementation':<30}" + "".join(f"{op + ' ' + str(size >> 20) + ' MiB':>{width}}" for op, size in columns)
    print(header)
    print("-" * len(header))
    for name in order:
        reference = "FastBase64 (into)" if name == "memcpy" else "FastBase64"
        cells = []
        for op, size in columns:
            rate = results.get((op, size, name))
            mine = results.get((op, size, reference))
            if rate is None:
                cells.append(f"{'-':>{width}}")
            elif name.startswith("FastBase64") or mine is None:
                cells.append(f"{rate:>{width}.2f}")
            else:
                cells.append(f"{rate:.2f} ({mine / rate:.2f}x)".rjust(width))
        print(f"{name:<30}" + "".join(cells))
    print()
    # Machine-readable lines for benchmarks/run-all.sh: ratio = FastBase64 GB/s / anchor GB/s.
    for name in order:
        if name.startswith("FastBase64"):
            continue
        reference = "FastBase64 (into)" if name == "memcpy" else "FastBase64"
        for op, size in columns:
            rate = results.get((op, size, name))
            mine = results.get((op, size, reference))
            if rate and mine:
                print(f"RESULT\tbase64\t{op} {size >> 20} MiB ({reference})\tGB/s\t{mine:.2f}\t{name}\t{rate:.2f}\t{mine / rate:.2f}")
    print("encode: GB/s of raw bytes; decode: GB/s of base64 text. memcpy copies the same number of bytes")
    print("into a preallocated buffer, like \"FastBase64 (into)\"; all other rows allocate their output, so at")
    print("100 MiB they also pay first-touch page faults (FastBase64 asks Linux for transparent huge pages")
    print("for outputs of 4 MiB and more, which cuts those faults 512-fold; the others do not).")
    print("All decoders validate: FastBase64 strictly, pybase64/fastpybase64 with validate=True.")

if __name__ == "__main__":
    main()
