#!/usr/bin/env python3
"""Python twin of bench_pool.c: the same workloads with multiprocessing.Pool.

Same metric names, same output format ("<metric> <value>", "#: <key>
<value>" for the checks run_bench.py compares), same default start method
choice (fork on Linux), same number of worker processes. The realistic rows
build the same data as bench_pool.c and run the same task on it: an
uppercase copy of short strings, the Adler-32 of byte items (zlib.adler32,
the algorithm bench_limits.c implements), each beside its serial loop, with
the parent's peak memory (Linux: VmHWM, reset through /proc/self/clear_refs).
usage: bench_pool.py [--processes N] [--quick] [--only PREFIX]
"""

import argparse
import ctypes
import ctypes.util
import gc
import multiprocessing as mp
import sys
import time
import zlib

ALPHA = "abcdefghijklmnopqrstuvwxyz"


def noop(x):
    return x


def upper(s):
    return s.upper()


def adler(b):
    return zlib.adler32(b)


# ------------------------------------------------------------ peak memory

def _status_kb(field):
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mem_reset_peak():
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # reset the peak resident set size to the current one
    except OSError:
        pass


def mem_begin():
    """The resident bytes now, after giving freed memory back (as the C
    side: malloc_trim), starting a new peak; None where not known."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass
    mem_reset_peak()
    kb = _status_kb("VmRSS:")
    return None if kb is None else kb * 1024


def print_peak(metric, base):
    kb = _status_kb("VmHWM:") if base is not None else None
    if kb is None:
        print(f"# {metric} skipped: the resident set is read on Linux only")
    else:
        print(f"{metric} {(kb * 1024 - base) / (1024 * 1024):.1f}")


# --------------------------------------------------------- realistic rows

def bench_strings(p, n):
    row = f"str_{n}"
    base = mem_begin()
    items = [f"w{i}-{ALPHA[:i % 13]}" for i in range(n)]
    t0 = time.perf_counter()
    serial = [upper(s) for s in items]
    print(f"serial_{row}_s {time.perf_counter() - t0:.6f}")
    print_peak(f"serial_{row}_peak_mib", base)
    mem_reset_peak()
    t0 = time.perf_counter()
    out = p.map(upper, items)
    print(f"map_{row}_s {time.perf_counter() - t0:.6f}")
    print_peak(f"map_{row}_peak_mib", base)
    if out != serial:
        sys.exit("strings row: a wrong result")
    check = 1
    for s in out:
        check = zlib.adler32(s.encode(), check)
    print(f"#: {row}_check {check}", flush=True)


def bench_bytes(p, n, size, size_name):
    row = f"bytes_{n}x{size_name}"
    base = mem_begin()
    pattern = bytes(range(256)) * (size // 256 + 1)
    items = [pattern[k % 256:k % 256 + size] for k in range(n)]  # byte j: (j + k) & 0xff
    del pattern
    t0 = time.perf_counter()
    sums = [adler(b) for b in items]
    print(f"serial_{row}_s {time.perf_counter() - t0:.6f}")
    print_peak(f"serial_{row}_peak_mib", base)
    mem_reset_peak()
    t0 = time.perf_counter()
    out = p.map(adler, items)
    print(f"map_{row}_s {time.perf_counter() - t0:.6f}")
    print_peak(f"map_{row}_peak_mib", base)
    if out != sums:
        sys.exit("bytes row: a wrong result")
    print(f"#: {row}_check {sum(sums)}", flush=True)


def start_stop(method, procs, runs):
    ctx = mp.get_context(method)
    t0 = time.perf_counter()
    for _ in range(runs):
        # Python's Pool returns before its workers have started; the first
        # apply makes the comparison fair (procpool's create waits for them).
        p = ctx.Pool(procs)
        p.apply(noop, (1,))
        p.close()
        p.join()
    return (time.perf_counter() - t0) / runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="only the metrics starting with this")
    a = ap.parse_args()
    q = a.quick

    def want(name):
        return name.startswith(a.only)

    def want_row(row):
        fams = (f"map_{row}_", f"serial_{row}_")
        return any(f.startswith(a.only) or a.only.startswith(f) for f in fams)
    print(f"# Python {sys.version.split()[0]} multiprocessing.Pool, {a.processes} worker processes")
    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux"):
        if want("start_stop_fork_s"):
            print(f"start_stop_fork_s {start_stop('fork', a.processes, 5):.6f}")
        if want("start_stop_forkserver_s"):
            print(f"start_stop_forkserver_s {start_stop('forkserver', a.processes, 5):.6f}")
    if "spawn" in methods and want("start_stop_spawn_s"):
        print(f"start_stop_spawn_s {start_stop('spawn', a.processes, 5):.6f}")

    default = "fork" if sys.platform.startswith("linux") else "spawn"
    with mp.get_context(default).Pool(a.processes) as p:
        p.apply(noop, (1,))
        n = 2000 if q else 20000
        if want("apply_async_"):
            t0 = time.perf_counter()
            rs = [p.apply_async(noop, (1,)) for _ in range(n)]
            for r in rs:
                r.get()
            print(f"apply_async_{n}_s {time.perf_counter() - t0:.6f}")

        n = 200 if q else 2000
        if want("apply_roundtrip_us"):
            t0 = time.perf_counter()
            for _ in range(n):
                assert p.apply(noop, (5,)) == 5
            print(f"apply_roundtrip_us {(time.perf_counter() - t0) / n * 1e6:.3f}")

        n = 100000 if q else 1000000
        if want(f"map_{n}_default_chunk"):
            t0 = time.perf_counter()
            out = p.map(noop, range(n))
            print(f"map_{n}_default_chunk_s {time.perf_counter() - t0:.6f}")
            # the twin of procpool's map + reading (and checking) every result
            for i, x in enumerate(out):
                if x != i:
                    sys.exit(f"item {i} is {x}")
            print(f"map_{n}_default_chunk_read_s {time.perf_counter() - t0:.6f}")
            assert out == list(range(n))
            del out

        n = 2000 if q else 20000
        if want(f"map_{n}_chunksize1"):
            t0 = time.perf_counter()
            out = p.map(noop, range(n), chunksize=1)
            print(f"map_{n}_chunksize1_s {time.perf_counter() - t0:.6f}")
            assert out == list(range(n))

        if want("imap_unordered_"):
            t0 = time.perf_counter()
            seen = sorted(p.imap_unordered(noop, range(n), chunksize=1))
            print(f"imap_unordered_{n}_s {time.perf_counter() - t0:.6f}")
            assert seen == list(range(n))

        n = 20000 if q else 200000
        if want_row(f"str_{n}"):
            bench_strings(p, n)
        n = 512 if q else 4096
        if want_row(f"bytes_{n}x64k"):
            bench_bytes(p, n, 64 << 10, "64k")
        n = 32 if q else 256
        if want_row(f"bytes_{n}x1m"):
            bench_bytes(p, n, 1 << 20, "1m")

if __name__ == "__main__":
    main()
