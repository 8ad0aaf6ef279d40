#!/usr/bin/env python3
"""Python twin of bench_queue.c: items per second through a
multiprocessing.Queue from one process to another.

Workloads (identical to the C benchmark, same defaults, same output):
  queue_small_items_per_s  --items N tuples (i, 2.5, "abc")
  queue_4k_items_per_s     --items / 10 tuples of one 4 KiB bytes object

The consumer is a separate process that answers "ready" on a second
queue; the parent then starts the clock, puts every item, and stops it
when the consumer has got them all and reported the checksum (the sum of
the i fields, or of the byte counts, checked). Best of --runs runs.

Output: "<metric> <integer>" lines, "#" lines for information.
"""

import argparse
import multiprocessing as mp
import sys
import time


def consumer(q, back, n, kind):
    back.put(None)
    total = 0
    get = q.get
    for _ in range(n):
        item = get()
        total += item[0] if kind == 0 else len(item[0])
    back.put(total)


def run(ctx, n, kind):
    q = ctx.Queue()
    back = ctx.Queue()
    proc = ctx.Process(target=consumer, args=(q, back, n, kind))
    proc.start()
    back.get()
    block = bytes(4096)
    want = 0
    put = q.put
    t0 = time.perf_counter()
    if kind == 0:
        for i in range(n):
            put((i, 2.5, "abc"))
        want = n * (n - 1) // 2
    else:
        for _ in range(n):
            put((block,))
        want = n * len(block)
    total = back.get()
    elapsed = time.perf_counter() - t0
    proc.join()
    if total != want:
        print(f"bench_queue.py: wrong checksum {total}, expected {want}", file=sys.stderr)
        sys.exit(1)
    return elapsed


def bench(ctx, metric, n, kind, runs):
    best = min(run(ctx, n, kind) for _ in range(runs))
    print(f"{metric} {int(n / best)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("small", "4k"), help="run one workload only")
    args = ap.parse_args()
    if args.items < 10 or args.runs < 1:
        ap.error("--items must be >= 10, --runs >= 1")
    ctx = mp.get_context()
    print(f"# Python {sys.version.split()[0]} multiprocessing.Queue, start method "
          f"{ctx.get_start_method()}, one producer, one consumer process")
    if args.only != "4k":
        bench(ctx, "queue_small_items_per_s", args.items, 0, args.runs)
    if args.only != "small":
        bench(ctx, "queue_4k_items_per_s", args.items // 10, 1, args.runs)


if __name__ == "__main__":
    main()
