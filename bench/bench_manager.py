#!/usr/bin/env python3
"""Python twin of bench_manager.c: the same workloads with a lock hosted by
multiprocessing.Manager().

Workloads (identical to the C benchmark, same defaults, same output):
  uncontended   one worker process (not the manager), PAIRS
                acquire+release pairs on a Manager().Lock() proxy, best of
                RUNS runs
  contended Np  N worker processes (N = 2 and 4) each do INCR increments of
                one shared 64-bit counter under one manager lock; the rate
                is N*INCR / wall time from "go" until every worker has
                exited, best of RUNS runs. Start-up is not timed.

Output: "<metric> <integer>" lines and "#" lines for information. The final
counter is checked against N*INCR (exit status 1 on a mismatch).
"""

import argparse
import multiprocessing as mp
import sys
import time


def uncontended(lock, pairs, result):
    acquire = lock.acquire
    release = lock.release
    acquire()
    release()  # the connection of this process is made outside the clock
    t0 = time.perf_counter()
    for _ in range(pairs):
        acquire()
        release()
    result.value = time.perf_counter() - t0


def contender(lock, counter, incr, ready, go):
    acquire = lock.acquire
    release = lock.release
    acquire()
    release()
    ready.release()
    go.wait()
    for _ in range(incr):
        acquire()
        counter.value += 1
        release()


def run_uncontended(ctx, lock, pairs):
    result = ctx.Value("d", 0.0, lock=False)
    p = ctx.Process(target=uncontended, args=(lock, pairs, result))
    p.start()
    p.join()
    if p.exitcode != 0:
        sys.exit(f"error: worker exited with {p.exitcode}")
    return result.value


def contended(ctx, mgr, nproc, incr):
    lock = mgr.Lock()
    counter = ctx.Value("q", 0, lock=False)  # protected by the manager lock only
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    procs = [ctx.Process(target=contender, args=(lock, counter, incr, ready, go))
             for _ in range(nproc)]
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
    expected = nproc * incr
    if counter.value != expected:
        sys.exit(f"error: {nproc}-process counter is {counter.value}, "
                 f"expected {expected}: the lock did not exclude")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20_000,
                    help="uncontended acquire+release pairs per run (default 20000)")
    ap.add_argument("--incr", type=int, default=5_000,
                    help="increments per process in the contended runs (default 5000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per metric, best kept (default 3)")
    ap.add_argument("--start-method", default=None,
                    help="multiprocessing start method (default: the platform's)")
    args = ap.parse_args()
    if args.pairs < 1 or args.incr < 1 or args.runs < 1:
        ap.error("--pairs, --incr and --runs must be >= 1")

    ctx = mp.get_context(args.start_method)
    print(f"# python {sys.version.split()[0]}, multiprocessing start method "
          f"{ctx.get_start_method()}, pairs {args.pairs}, incr {args.incr}, "
          f"runs {args.runs}", flush=True)
    with ctx.Manager() as mgr:
        lock = mgr.Lock()
        best = min(run_uncontended(ctx, lock, args.pairs) for _ in range(args.runs))
        print(f"mgr_uncontended_pairs_per_s {round(args.pairs / best)}", flush=True)
        for nproc in (2, 4):
            best = min(contended(ctx, mgr, nproc, args.incr) for _ in range(args.runs))
            print(f"mgr_contended_{nproc}p_incr_per_s {round(nproc * args.incr / best)}",
                  flush=True)


if __name__ == "__main__":
    main()
