#!/usr/bin/env python3
"""Python twin of bench_sync.c: the same semaphore workloads with multiprocessing.Semaphore.

Workloads (identical to the C benchmark, same defaults, same output):
  uncontended   one process, PAIRS acquire+release pairs on a semaphore of
                1, best of RUNS runs
  contended Np  N processes (N = 2 and 4) each do CPAIRS acquire+release
                pairs on one semaphore of 1; the rate is N*CPAIRS / wall
                time from "go" until every process has ended, best of RUNS
                runs. Start-up is not timed: every process reports ready,
                then the parent starts the clock and releases them at once.

Output: one machine-readable line per metric, "<metric> <integer>", and
lines starting with "#" for information.
"""

import argparse
import multiprocessing as mp
import sys
import time


def uncontended(sem, pairs):
    acquire = sem.acquire
    release = sem.release
    t0 = time.perf_counter()
    for _ in range(pairs):
        acquire()
        release()
    return time.perf_counter() - t0


def contender(sem, n, ready, go):
    acquire = sem.acquire
    release = sem.release
    ready.release()
    go.wait()
    for _ in range(n):
        acquire()
        release()


def contended(ctx, nproc, n):
    sem = ctx.Semaphore(1)
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    procs = [ctx.Process(target=contender, args=(sem, n, ready, go)) for _ in range(nproc)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    t0 = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    for p in procs:
        if p.exitcode != 0:
            sys.exit(f"error: contender pid {p.pid} exited with {p.exitcode}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2_000_000,
                    help="uncontended acquire+release pairs per run (default 2000000)")
    ap.add_argument("--cpairs", type=int, default=200_000,
                    help="pairs per process in the contended runs (default 200000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per metric, best kept (default 3)")
    ap.add_argument("--start-method", default=None,
                    help="multiprocessing start method (default: the platform's)")
    args = ap.parse_args()
    if args.pairs < 1 or args.cpairs < 1 or args.runs < 1:
        ap.error("--pairs, --cpairs and --runs must be >= 1")

    ctx = mp.get_context(args.start_method)
    print(f"# python {sys.version.split()[0]}, multiprocessing start method "
          f"{ctx.get_start_method()}, pairs {args.pairs}, cpairs {args.cpairs}, "
          f"runs {args.runs}", flush=True)

    sem = ctx.Semaphore(1)
    best = min(uncontended(sem, args.pairs) for _ in range(args.runs))
    print(f"sem_uncontended_pairs_per_s {round(args.pairs / best)}", flush=True)

    for nproc in (2, 4):
        best = min(contended(ctx, nproc, args.cpairs) for _ in range(args.runs))
        print(f"sem_contended_{nproc}p_pairs_per_s {round(nproc * args.cpairs / best)}",
              flush=True)


if __name__ == "__main__":
    main()
