#!/usr/bin/env python3
"""Python side of benchmarks/base64.sh.

  base64_bench.py measure --sizes 10,100 --runs 5 --seconds 1 --tsv OUT
      times pybase64 and fastpybase64 (simdutf) on the same seeded buffers as the Swift bench and
      writes one TSV line per result (operation, bytes, implementation, GB/s), like Base64Bench.
  base64_bench.py report --sizes 10,100 ROUND.tsv...
      merges the TSV files of several rounds (Swift and Python processes run alternately) into one
      table: the median of the rounds, with ratios of medians, and the spread of the rounds.

GB/s counts input bytes (10^9 bytes per second): raw bytes for encode, base64 text for decode. Within a
process each figure is the best of N timed calls (fewest interruptions on a shared machine); across
processes the median, because the speed of a process on 10 MiB buffers depends on where its pages
landed (measured here: the same binary varies by +-8% from one process to the next)."""
import argparse
import random
import statistics
import sys
import time


def best_rate(fn, arg, nbytes, min_runs, min_seconds):
    best = float("inf")
    runs = 0
    start = time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn(arg)  # the returned bytes object is freed before the clock is read again, as in Swift
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return nbytes / best / 1e9


def measure(sizes, min_runs, min_seconds, tsv):
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
    import base64 as std
    lines = []
    for size in sizes:
        data = random.Random(size).randbytes(size)
        text = std.b64encode(data)
        for name, enc, dec in impls:
            assert enc(data) == text and dec(text) == data, name
            for op, fn, arg in (("encode", enc, data), ("decode", dec, text)):
                rate = best_rate(fn, arg, len(arg), min_runs, min_seconds)
                lines.append(f"{op}\t{size}\t{name}\t{rate:.3f}\n")
                sys.stderr.write(f"  {op} {size >> 20:4d} MiB {name:<22} {rate:7.2f} GB/s\n")
    with open(tsv, "w") as f:
        f.writelines(lines)


def read_rounds(paths):
    """{(op, bytes, name): [GB/s per round]} and the implementations in first-seen order."""
    results, order = {}, []
    for path in paths:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 4 or parts[0] not in ("encode", "decode"):
                    continue
                op, size, name, rate = parts
                results.setdefault((op, int(size), name), []).append(float(rate))
                if name not in order:
                    order.append(name)
    # Anchors after our rows, in a fixed order.
    order.sort(key=lambda n: (not n.startswith("FastBase64") and n != "memcpy", 0))
    return results, order


def reference_for(name):
    # memcpy copies into a preallocated buffer: compare it with "FastBase64 (into)", which encodes into
    # one; every other row allocates its output on every call, like the public "FastBase64" API.
    return "FastBase64 (into)" if name == "memcpy" else "FastBase64"


def report(sizes, paths):
    results, order = read_rounds(paths)
    rounds = max((len(v) for v in results.values()), default=0)
    median = {k: statistics.median(v) for k, v in results.items()}
    columns = [(op, size) for op in ("encode", "decode") for size in sizes]
    width = 20

    print()
    print(f"base64 throughput, GB/s of input: median of {rounds} rounds (each the best of a process's runs);")
    print("(Nx) = FastBase64 is N times as fast, ratio of the medians")
    print()
    header = f"{'implementation':<30}" + "".join(f"{op + ' ' + str(size >> 20) + ' MiB':>{width}}" for op, size in columns)
    print(header)
    print("-" * len(header))
    for name in order:
        reference = reference_for(name)
        cells = []
        for op, size in columns:
            rate, mine = median.get((op, size, name)), median.get((op, size, reference))
            if rate is None:
                cells.append(f"{'-':>{width}}")
            elif name.startswith("FastBase64") or mine is None:
                cells.append(f"{rate:>{width}.2f}")
            else:
                cells.append(f"{rate:.2f} ({mine / rate:.2f}x)".rjust(width))
        print(f"{name:<30}" + "".join(cells))

    if rounds > 1:
        print()
        print("spread over the rounds: min-max GB/s")
        print(header)
        print("-" * len(header))
        for name in order:
            cells = []
            for op, size in columns:
                values = results.get((op, size, name))
                cells.append((f"{min(values):.1f}-{max(values):.1f}" if values else "-").rjust(width))
            print(f"{name:<30}" + "".join(cells))
        # Rounds alternate Swift and Python processes, so round i of each ran at nearly the same time:
        # per-round ratios show how much of a gap is machine noise.
        print()
        print("per-round ratios, FastBase64 (public API, allocating) / anchor:")
        for name in ("pybase64", "fastpybase64"):
            for op, size in columns:
                theirs, mine = results.get((op, size, name)), results.get((op, size, "FastBase64"))
                if theirs and mine and len(theirs) == len(mine):
                    ratios = " ".join(f"{m / t:.2f}" for m, t in zip(mine, theirs))
                    print(f"  {op} {size >> 20} MiB vs {name}: {ratios}")
    print()
    # Machine-readable lines for benchmarks/run-all.sh: ratio = FastBase64 GB/s / anchor GB/s (medians).
    for name in order:
        if name.startswith("FastBase64"):
            continue
        reference = reference_for(name)
        for op, size in columns:
            rate, mine = median.get((op, size, name)), median.get((op, size, reference))
            if rate and mine:
                print(f"RESULT\tbase64\t{op} {size >> 20} MiB ({reference})\tGB/s\t{mine:.2f}\t{name}\t{rate:.2f}\t{mine / rate:.2f}")
    print("What each row measures (encode: GB/s of raw bytes; decode: GB/s of base64 text):")
    print("  FastBase64          the public API, Base64.encode(_:) / decode(_:) -> [UInt8]: a new array per call")
    print("  FastBase64 (into)   Base64.encode(_:into:) / decode(_:into:) into one preallocated, pre-faulted buffer")
    print("  memcpy              copies the same number of bytes into a preallocated buffer (compared with 'into')")
    print("  pybase64, fastpybase64, Foundation, swift-extras-base64: a new bytes/Data/array object per call")
    print("Every allocating row gets its output from malloc. At 10 MiB glibc serves each call from the chunk the")
    print("previous call freed (its mmap threshold rises after the first free), so no row pays page faults there;")
    print("at 100 MiB (over glibc's 32 MiB limit for that) every call maps fresh memory and every allocating row")
    print("pays first-touch faults. FastBase64 asks Linux for transparent huge pages on outputs of 4 MiB and more")
    print("(512 times fewer faults); the others do not. All decoders validate: FastBase64 strictly,")
    print("pybase64/fastpybase64 with validate=True.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("measure", "report"))
    parser.add_argument("files", nargs="*", help="report: TSV files of every round (Swift and Python)")
    parser.add_argument("--sizes", default="10,100", help="buffer sizes in MiB")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--tsv", help="measure: where to write the results")
    args = parser.parse_intermixed_args()
    sizes = [int(s) << 20 for s in args.sizes.split(",")]
    if args.mode == "measure":
        if not args.tsv:
            parser.error("measure needs --tsv")
        measure(sizes, args.runs, args.seconds, args.tsv)
    else:
        report(sizes, args.files)


if __name__ == "__main__":
    main()
