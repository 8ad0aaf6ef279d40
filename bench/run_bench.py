#!/usr/bin/env python3
"""Run procpool's benchmarks and their Python twins, and compare them.

usage: python3 bench/run_bench.py [BUILD_DIR] [--only lock|pool|manager|queue]
                                  [--pairs N] [--incr K] [--runs R]
                                  [--queue-items N]
                                  [--mgr-pairs N] [--mgr-incr K] [--tcp]
                                  [--processes P] [--quick]

BUILD_DIR is a meson build directory of procpool (default: build). Three
suites, each a C program in BUILD_DIR/bench/ and its Python twin here:

  lock  bench_lock  vs bench_lock.py  (multiprocessing.Lock): rates, higher
        is better; --pairs, --incr, --runs
  pool  bench_pool  vs bench_pool.py  (multiprocessing.Pool): times, lower
        is better; --processes, --quick
  manager bench_manager vs bench_manager.py (a lock of
        multiprocessing.Manager()), used from client processes: rates,
        higher is better; --mgr-pairs, --mgr-incr, --runs, --tcp (the C
        manager on TCP loopback instead of its default local endpoint)
  queue bench_queue vs bench_queue.py (multiprocessing.Queue): items/s from
        one process to another, higher is better; --queue-items, --runs

Both sides of a suite run with the same parameters in this one invocation.
The results are printed as Markdown tables, with the machine they ran on.
Figures are noisy: rerun before drawing conclusions. Nothing here asserts
timings; the exit status is non-zero only if a benchmark itself fails
(e.g. a lock that did not exclude, a wrong pool result).
"""

import argparse
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

LOCK_LABELS = {
    "lock_uncontended_pairs_per_s": "uncontended acquire+release pairs/s (1 process)",
    "lock_contended_2p_incr_per_s": "contended increments/s, 2 processes",
    "lock_contended_4p_incr_per_s": "contended increments/s, 4 processes",
    "mgr_uncontended_pairs_per_s": "uncontended acquire+release pairs/s (1 client process)",
    "mgr_contended_2p_incr_per_s": "contended increments/s, 2 client processes",
    "mgr_contended_4p_incr_per_s": "contended increments/s, 4 client processes",
    "queue_small_items_per_s": "items/s, small tuples (i, 2.5, \"abc\")",
    "queue_4k_items_per_s": "items/s, one 4 KiB bytes item",
}


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run(name, cmd):
    """Run one benchmark; return its metrics as an ordered {name: value}."""
    print(f"# running {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stderr.write("".join(f"#   {line}\n" for line in proc.stdout.splitlines()))
    if proc.returncode != 0:
        sys.exit(f"error: {name} failed with exit status {proc.returncode}")
    values = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            values[parts[0]] = float(parts[1])
    return values


def find_bench(build, prog):
    for exe in (prog, prog + ".exe"):
        path = os.path.join(build, "bench", exe)
        if os.path.isfile(path):
            return path
    sys.exit(f"error: no bench/{prog} in build directory '{build}' "
             f"(meson setup {build} && meson compile -C {build})")


def fmt(v):
    if v is None:
        return "missing"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.3g}" if v < 1 else f"{v:.1f}"


def fmt_ratio(r):
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def lock_table(c, py, python_name="Python mp.Lock"):
    print(f"| metric | procpool | {python_name} | ratio (procpool/Python, higher is better) |")
    print("|---|---:|---:|---:|")
    for key in list(c) + [k for k in py if k not in c]:
        a, b = c.get(key), py.get(key)
        ratio = fmt_ratio(a / b) if a and b else "n/a"
        print(f"| {LOCK_LABELS.get(key, key)} | {fmt(a)} | {fmt(b)} | {ratio} |")
    print()
    a, b = c.get("lock_uncontended_pairs_per_s"), py.get("lock_uncontended_pairs_per_s")
    if a and b:
        verdict = "met" if a >= 2 * b else "NOT met on this run"
        print(f"Goal on Linux, procpool >= 2x Python uncontended: {verdict} ({a / b:.2f}x).")
    a, b = c.get("mgr_uncontended_pairs_per_s"), py.get("mgr_uncontended_pairs_per_s")
    if a and b:
        verdict = "met" if a >= 5 * b else "NOT met on this run"
        print(f"Goal, manager lock pairs from a client >= 5x Python's Manager lock: "
              f"{verdict} ({a / b:.2f}x).")
    for key in ("queue_small_items_per_s", "queue_4k_items_per_s"):
        a, b = c.get(key), py.get(key)
        if a and b:
            verdict = "met" if a >= 10 * b else "NOT met on this run"
            print(f"Goal, {LOCK_LABELS[key]} >= 10x Python's mp.Queue: {verdict} "
                  f"({a / b:.1f}x).")


def pool_label(key):
    if key.endswith("_us"):
        return f"{key[:-3]} (µs)"
    if key.endswith("_s"):
        return f"{key[:-2]} (s)"
    return key


def pool_table(c, py):
    print("| metric (time: lower is better) | procpool | Python mp.Pool "
          "| speed-up (Python/procpool, higher is better) |")
    print("|---|---:|---:|---:|")
    for key in list(c) + [k for k in py if k not in c]:
        a, b = c.get(key), py.get(key)
        ratio = fmt_ratio(b / a) if a and b else "n/a"
        print(f"| {pool_label(key)} | {fmt(a)} | {fmt(b)} | {ratio} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default="build", help="meson build directory")
    ap.add_argument("--only", choices=("lock", "pool", "manager", "queue"), help="run one suite only")
    ap.add_argument("--pairs", type=int, default=2_000_000)
    ap.add_argument("--incr", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mgr-pairs", type=int, default=20_000,
                    help="manager suite: uncontended pairs per run")
    ap.add_argument("--mgr-incr", type=int, default=5_000,
                    help="manager suite: increments per client process")
    ap.add_argument("--tcp", action="store_true",
                    help="manager suite: the C manager on TCP loopback")
    ap.add_argument("--queue-items", type=int, default=200_000,
                    help="queue suite: small items per run (4 KiB items: a tenth)")
    ap.add_argument("--processes", type=int, default=2, help="pool size (pool suite)")
    ap.add_argument("--quick", action="store_true", help="smaller pool workloads")
    ap.add_argument("--python", default=sys.executable,
                    help="Python interpreter for the twins (default: this one)")
    args = ap.parse_args()

    suites = [args.only] if args.only else ["lock", "pool", "manager", "queue"]
    results = {}
    if "lock" in suites:
        common = ["--pairs", str(args.pairs), "--incr", str(args.incr), "--runs", str(args.runs)]
        results["lock"] = (
            run("procpool bench_lock", [find_bench(args.build, "bench_lock")] + common),
            run("python bench_lock.py",
                [args.python, os.path.join(HERE, "bench_lock.py")] + common))
    if "manager" in suites:
        common = ["--pairs", str(args.mgr_pairs), "--incr", str(args.mgr_incr),
                  "--runs", str(args.runs)]
        results["manager"] = (
            run("procpool bench_manager",
                [find_bench(args.build, "bench_manager")] + common
                + (["--tcp"] if args.tcp else [])),
            run("python bench_manager.py",
                [args.python, os.path.join(HERE, "bench_manager.py")] + common))
    if "pool" in suites:
        common = ["--processes", str(args.processes)] + (["--quick"] if args.quick else [])
        results["pool"] = (
            run("procpool bench_pool", [find_bench(args.build, "bench_pool")] + common),
            run("python bench_pool.py",
                [args.python, os.path.join(HERE, "bench_pool.py")] + common))

    if "queue" in suites:
        common = ["--items", str(args.queue_items), "--runs", str(args.runs)]
        results["queue"] = (
            run("procpool bench_queue", [find_bench(args.build, "bench_queue")] + common),
            run("python bench_queue.py",
                [args.python, os.path.join(HERE, "bench_queue.py")] + common))

    pyver = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs (nproc), "
          f"{platform.system()} {platform.release()}, Python {pyver}. "
          f"Figures are noisy: rerun before concluding.")
    if "lock" in results:
        print()
        print(f"Locks: {args.pairs} uncontended pairs; {args.incr} increments per process; "
              f"best of {args.runs} runs.")
        print()
        lock_table(*results["lock"])
    if "manager" in results:
        print()
        print(f"Manager locks, used from client processes: {args.mgr_pairs} uncontended pairs; "
              f"{args.mgr_incr} increments per client; best of {args.runs} runs; procpool's "
              f"manager on {'TCP loopback' if args.tcp else 'its default local endpoint'}.")
        print()
        lock_table(*results["manager"], python_name="Python Manager().Lock()")
    if "pool" in results:
        print()
        print(f"Pools: {args.processes} worker processes"
              f"{', quick workloads' if args.quick else ''}.")
        print()
        pool_table(*results["pool"])
    if "queue" in results:
        print()
        print(f"Queues, one producer and one consumer process: {args.queue_items} small items, "
              f"{args.queue_items // 10} 4 KiB items; best of {args.runs} runs.")
        print()
        lock_table(*results["queue"], python_name="Python mp.Queue")


if __name__ == "__main__":
    main()
