#!/usr/bin/env python3
"""Python twin of bench_pool.c: the same workloads with multiprocessing.Pool.

Same metric names, same output format ("<metric> <value>"), same default
start method choice (fork on Linux), same number of worker processes.
usage: bench_pool.py [--processes N] [--quick]
"""

import argparse
import multiprocessing as mp
import sys
import time


def noop(x):
    return x


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
    a = ap.parse_args()
    q = a.quick
    print(f"# Python {sys.version.split()[0]} multiprocessing.Pool, {a.processes} worker processes")
    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux"):
        print(f"start_stop_fork_s {start_stop('fork', a.processes, 5):.6f}")
        print(f"start_stop_forkserver_s {start_stop('forkserver', a.processes, 5):.6f}")
    if "spawn" in methods:
        print(f"start_stop_spawn_s {start_stop('spawn', a.processes, 5):.6f}")

    default = "fork" if sys.platform.startswith("linux") else "spawn"
    with mp.get_context(default).Pool(a.processes) as p:
        p.apply(noop, (1,))
        n = 2000 if q else 20000
        t0 = time.perf_counter()
        rs = [p.apply_async(noop, (1,)) for _ in range(n)]
        for r in rs:
            r.get()
        print(f"apply_async_{n}_s {time.perf_counter() - t0:.6f}")

        n = 200 if q else 2000
        t0 = time.perf_counter()
        for _ in range(n):
            assert p.apply(noop, (5,)) == 5
        print(f"apply_roundtrip_us {(time.perf_counter() - t0) / n * 1e6:.3f}")

        n = 100000 if q else 1000000
        t0 = time.perf_counter()
        out = p.map(noop, range(n))
        print(f"map_{n}_default_chunk_s {time.perf_counter() - t0:.6f}")
        # the twin of procpool's map + reading (and checking) every result
        for i, x in enumerate(out):
            if x != i:
                sys.exit(f"item {i} is {x}")
        print(f"map_{n}_default_chunk_read_s {time.perf_counter() - t0:.6f}")
        assert out == list(range(n))

        n = 2000 if q else 20000
        t0 = time.perf_counter()
        out = p.map(noop, range(n), chunksize=1)
        print(f"map_{n}_chunksize1_s {time.perf_counter() - t0:.6f}")
        assert out == list(range(n))

        t0 = time.perf_counter()
        seen = sorted(p.imap_unordered(noop, range(n), chunksize=1))
        print(f"imap_unordered_{n}_s {time.perf_counter() - t0:.6f}")
        assert seen == list(range(n))


if __name__ == "__main__":
    main()
