#!/usr/bin/env python3
"""Python twin of bench_redis.c: what Python's multiprocessing gives for the
same rows (Python has no distributed pool: its rows are a local Pool).

  local_apply_roundtrip_us  mean Pool.apply() round trip of an empty task
  local_map_trivial_s       Pool.map() of --items identity tasks, chunksize 1
  local_map_cpu_s           Pool.map() of --cpu-items tasks that each keep a
                            CPU busy --cpu-ms ms (the same clock loop as the
                            C task), chunksize 1
  redis_lock_pairs_per_s    acquire+release pairs of a Manager().Lock(),
                            Python's lock reachable over a network

Pool of --remote processes (the C side's remote worker count); best of
--runs runs. Output: "<metric> <number>" lines, "#" lines for information.
"""

import argparse
import multiprocessing as mp
import sys
import time


def identity(x):
    return x


def spin(x, ms):
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass
    return x


def best(fn, runs):
    return min(fn() for _ in range(runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", help="ignored (the C side's address)")
    ap.add_argument("--remote", type=int, default=2)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--cpu-items", type=int, default=100)
    ap.add_argument("--cpu-ms", type=int, default=5)
    ap.add_argument("--applies", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ctx = mp.get_context()
    print(f"# Python {sys.version.split()[0]} multiprocessing.Pool({a.remote}), start method "
          f"{ctx.get_start_method()}")
    with ctx.Pool(a.remote) as pool:
        pool.map(identity, range(a.cpu_items), chunksize=1)  # warm-up

        def applies():
            t0 = time.perf_counter()
            for _ in range(a.applies):
                if pool.apply(identity, (7,)) != 7:
                    sys.exit("bench_redis.py: a wrong apply result")
            return (time.perf_counter() - t0) * 1e6 / a.applies

        def timed_map(fn, items):
            t0 = time.perf_counter()
            out = pool.starmap(fn, items, chunksize=1)
            s = time.perf_counter() - t0
            if out != list(range(len(items))):
                sys.exit("bench_redis.py: a wrong map result")
            return s

        print(f"local_apply_roundtrip_us {best(applies, a.runs):.1f}", flush=True)
        trivial = [(i,) for i in range(a.items)]
        print(f"local_map_trivial_s {best(lambda: timed_map(identity, trivial), a.runs):.4f}",
              flush=True)
        cpu = [(i, a.cpu_ms) for i in range(a.cpu_items)]
        print(f"local_map_cpu_s {best(lambda: timed_map(spin, cpu), a.runs):.4f}", flush=True)
    with ctx.Manager() as m:
        lock = m.Lock()

        def pairs():
            t0 = time.perf_counter()
            for _ in range(a.pairs):
                lock.acquire()
                lock.release()
            return a.pairs / (time.perf_counter() - t0)

        print(f"redis_lock_pairs_per_s {max(pairs() for _ in range(a.runs)):.0f}", flush=True)


if __name__ == "__main__":
    main()
