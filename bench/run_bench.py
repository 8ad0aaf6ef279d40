#!/usr/bin/env python3
"""Run procpool's lock benchmark and its Python twin, and compare them.

usage: python3 bench/run_bench.py [BUILD_DIR] [--pairs N] [--incr K] [--runs R]

BUILD_DIR is a meson build directory of procpool (default: build); the C
benchmark is BUILD_DIR/bench/bench_lock. Both programs run the same
workloads with the same parameters in this one invocation (see
bench/bench_lock.c) and the result is printed as a Markdown table, with
the machine it ran on. Figures are noisy: rerun before drawing conclusions.
Nothing here asserts timings; the exit status is non-zero only if a
benchmark itself fails (e.g. a lock that did not exclude).
"""

import argparse
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

METRICS = [
    ("lock_uncontended_pairs_per_s", "uncontended acquire+release pairs/s (1 process)"),
    ("lock_contended_2p_incr_per_s", "contended increments/s, 2 processes"),
    ("lock_contended_4p_incr_per_s", "contended increments/s, 4 processes"),
]


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


def find_bench(build):
    for exe in ("bench_lock", "bench_lock.exe"):
        path = os.path.join(build, "bench", exe)
        if os.path.isfile(path):
            return path
    sys.exit(f"error: no bench/bench_lock in build directory '{build}' "
             f"(meson setup {build} && meson compile -C {build})")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default="build", help="meson build directory")
    ap.add_argument("--pairs", type=int, default=2_000_000)
    ap.add_argument("--incr", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", default=sys.executable,
                    help="Python interpreter for the twin (default: this one)")
    args = ap.parse_args()

    common = ["--pairs", str(args.pairs), "--incr", str(args.incr), "--runs", str(args.runs)]
    c = run("procpool", [find_bench(args.build)] + common)
    py = run("python", [args.python, os.path.join(HERE, "bench_lock.py")] + common)
    pyver = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                           stdout=subprocess.PIPE, text=True).stdout.strip()

    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs (nproc), "
          f"{platform.system()} {platform.release()}, Python {pyver}")
    print(f"Workloads: {args.pairs} pairs; {args.incr} increments per process; "
          f"best of {args.runs} runs. Figures are noisy: rerun before concluding.")
    print()
    print("| metric | procpool | Python mp.Lock | ratio (procpool/Python, higher is better) |")
    print("|---|---:|---:|---:|")
    for key, label in METRICS:
        a, b = c.get(key), py.get(key)
        ratio = (f"{a / b:.2f}x" if a < b else f"{a / b:.1f}x") if a and b else "n/a"
        fa = f"{a:,.0f}" if a is not None else "missing"
        fb = f"{b:,.0f}" if b is not None else "missing"
        print(f"| {label} | {fa} | {fb} | {ratio} |")
    print()
    a, b = c.get(METRICS[0][0]), py.get(METRICS[0][0])
    if a and b:
        verdict = "met" if a >= 2 * b else "NOT met on this run"
        print(f"Goal on Linux, procpool >= 2x Python uncontended: {verdict} ({a / b:.1f}x).")


if __name__ == "__main__":
    main()
