#!/usr/bin/env python3
"""Run procpool's benchmarks and their Python twins, and compare them.

usage: python3 bench/run_bench.py [BUILD_DIR]
                                  [--only lock|pool|manager|queue|sync|redis]
                                  [--repeat N] [--pairs N] [--incr K]
                                  [--runs R] [--mgr-pairs N] [--mgr-incr K]
                                  [--tcp] [--queue-items N] [--sem-pairs N]
                                  [--sem-cpairs N] [--processes P] [--quick]
                                  [--remote N] [--redis-server PATH]

BUILD_DIR is a meson build directory of procpool (default: build). Six
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
  sync  bench_sync vs bench_sync.py (multiprocessing.Semaphore): acquire+
        release pairs/s, higher is better; --sem-pairs, --sem-cpairs, --runs
  redis bench_redis vs bench_redis.py: the distributed pool (a broker
        pool whose tasks all run on --remote remote workers) beside a
        local pool of as many workers and Python's Pool; the Redis lock's
        pairs/s beside Python's Manager().Lock(). This script starts a
        private redis-server (loopback, random port and password, no
        persistence; --redis-server names the binary) and the remote
        workers (bench_redis itself with PROCPOOL_REMOTE set) on this
        machine, and stops them at the end. Not in the default set (it
        needs redis-server); --runs

Both sides of a suite run with the same parameters in this one invocation;
--repeat N runs every suite N times (C, Python, C, Python, ...) and every
cell shows the minimum-maximum over the runs, each ratio being taken
between the two programs of the same round.

Limits: bench_pool and bench_lock also measure the machine's physical
references in the same run (rows "limit: ..."; bench/bench_limits.c): a
pipe round trip, fork+exit+wait, the spawn of a trivial program, memcpy
bandwidth, a raw robust mutex. Each procpool row that has one shows its
"cost against the limit": procpool's time / the limit's time (rates: the
limit's rate / procpool's), so 1.0x is the machine's limit and lower is
better. How each row's limit is made is in the table's "limit" column:
  apply round trip           one pipe round trip
  start+stop (P workers)     fork: P x fork+exit+wait; spawn: P x spawn of
                             a trivial program + wait; forkserver: one
                             spawn + P x fork+exit+wait
  map rows                   the bytes that must cross between processes
                             (arguments in + results out) at memcpy speed
  serial rows                the input read once, at memcpy speed
  peak memory (MiB)          the input's size: "x input"
  lock rows                  the raw mutex, same workload
The limits are the best the machine did in the run (pipe, fork, spawn: the
lowest mean of 5 batches; memcpy: the best of 8 copies; the raw mutex: the
best of --runs runs, as the lock rows), since other jobs can only slow them.
The realistic rows (strings, byte items) must compute the same results on
both sides: their checks are compared and a difference is an error.

The results are printed as Markdown tables, with the machine they ran on.
Figures are noisy: rerun before drawing conclusions. Nothing here asserts
timings; the exit status is non-zero only if a benchmark itself fails
(e.g. a lock that did not exclude, a wrong pool result, a check that
differs between the twins).
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time

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
    "redis_lock_pairs_per_s": "Redis lock (Python: Manager().Lock()): acquire+release pairs/s",
    "sem_uncontended_pairs_per_s": "semaphore of 1: acquire+release pairs/s (1 process)",
    "sem_contended_2p_pairs_per_s": "semaphore of 1: acquire+release pairs/s, 2 processes",
    "sem_contended_4p_pairs_per_s": "semaphore of 1: acquire+release pairs/s, 4 processes",
    "limit_mutex_uncontended_pairs_per_s":
        "limit: raw robust mutex, uncontended lock+unlock pairs/s",
    "limit_mutex_contended_2p_incr_per_s": "limit: raw robust mutex, contended increments/s, 2 processes",
    "limit_mutex_contended_4p_incr_per_s": "limit: raw robust mutex, contended increments/s, 4 processes",
}

POOL_LIMIT_LABELS = {
    "limit_pipe_roundtrip_us": "limit: pipe round trip, 1 byte each way (µs)",
    "limit_fork_exit_wait_us": "limit: fork+exit+wait of one process (µs)",
    "limit_spawn_exit_wait_us": "limit: spawn of a trivial program + wait, one process (µs)",
    "limit_memcpy_gbps": "limit: memcpy bandwidth, 64 MiB buffers (GB/s, higher is better)",
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


def run(name, cmd, env=None, on_fail=None):
    """Run one benchmark; return ({metric: value}, {info key: value}) in
    output order. Info lines are "#: <key> <value>"."""
    print(f"# running {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    sys.stderr.write("".join(f"#   {line}\n" for line in proc.stdout.splitlines()))
    if proc.returncode != 0:
        if on_fail is not None:
            on_fail()
        sys.exit(f"error: {name} failed with exit status {proc.returncode}")
    values, info = {}, {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#:":
            info[parts[1]] = float(parts[2])
        elif len(parts) == 2 and not line.startswith("#"):
            values[parts[0]] = float(parts[1])
    return values, info


class RedisSide:
    """A private redis-server and the remote workers of bench_redis, for
    the redis suite; stopped by stop() (also when a benchmark fails)."""

    def __init__(self, server, bench, nremote):
        exe = shutil.which(server) or server
        if not os.path.isfile(exe):
            sys.exit(f"error: the redis suite needs redis-server ('{server}' not found)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.password = secrets.token_hex(16)
        self.env = dict(os.environ, PROCPOOL_REDIS_PASSWORD=self.password)
        self.env.pop("PROCPOOL_REDIS_USERNAME", None)
        self.procs = []
        self.server = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass",
             self.password, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.server.poll() is not None:
                    self.stop()
                    sys.exit("error: redis-server did not start")
                time.sleep(0.05)
        self.broker = f"redis://127.0.0.1:{self.port}/bench{os.getpid()}"
        remote_env = dict(self.env, PROCPOOL_REMOTE=self.broker)
        for _ in range(nremote):
            self.procs.append(subprocess.Popen([bench], env=remote_env,
                                               stdout=subprocess.DEVNULL))

    def stop(self):
        for p in self.procs + [self.server]:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.procs = []


def find_bench(build, prog):
    for exe in (prog, prog + ".exe"):
        path = os.path.join(build, "bench", exe)
        if os.path.isfile(path):
            return path
    sys.exit(f"error: no bench/{prog} in build directory '{build}' "
             f"(meson setup {build} && meson compile -C {build})")


# ------------------------------------------------------------- formatting

def fmt(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.3g}" if v < 1 else f"{v:.1f}"


def fmt_ratio(r):
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def fmt_range(vals, f=fmt):
    """min–max of the values that exist (one value: itself; none: —)."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "—"
    lo, hi = min(vals), max(vals)
    return f(lo) if f(lo) == f(hi) else f"{f(lo)}–{f(hi)}"


def ratios(pairs, func):
    """func(a, b) for every round whose two values exist and are non-zero."""
    return [func(a, b) for a, b in pairs if a and b]


def keys_in_order(rounds):
    """Metric names in output order, C's first, over every round."""
    keys = []
    for c, py, _, _ in rounds:
        for k in list(c) + list(py):
            if k not in keys:
                keys.append(k)
    return keys


def verdict(rs, ok):
    """'met' if ok in every round, 'met in some runs', or 'NOT met'."""
    if not rs:
        return "not measured"
    n = sum(1 for r in rs if ok(r))
    return "met" if n == len(rs) else "NOT met" if n == 0 else f"met in {n} of {len(rs)} runs"


# ------------------------------------------------------------------ locks

def lock_table(rounds, python_name="Python mp.Lock"):
    limits = any(k.startswith("limit_") for c, _, _, _ in rounds for k in c)
    head = f"| metric | procpool | {python_name} | ratio (procpool/Python, higher is better) |"
    rule = "|---|---:|---:|---:|"
    if limits:
        head += " limit (raw mutex) | cost against the limit (limit/procpool, lower is better) |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    for key in keys_in_order(rounds):
        a = [c.get(key) for c, _, _, _ in rounds]
        b = [py.get(key) for _, py, _, _ in rounds]
        ratio = fmt_range(ratios(zip(a, b), lambda x, y: x / y), fmt_ratio)
        line = f"| {LOCK_LABELS.get(key, key)} | {fmt_range(a)} | {fmt_range(b)} | {ratio} |"
        if limits:
            lkey = "limit_mutex_" + key[len("lock_"):] if key.startswith("lock_") else None
            lim = [c.get(lkey) if lkey else None for c, _, _, _ in rounds]
            cost = ratios(zip(a, lim), lambda x, y: y / x) if lkey else []
            line += f" {fmt_range(lim)} | {fmt_range(cost, fmt_ratio)} |"
        print(line)
    print()


def lock_goals(rounds):
    def r(key):
        return ratios([(c.get(key), py.get(key)) for c, py, _, _ in rounds], lambda x, y: x / y)

    rs = r("lock_uncontended_pairs_per_s")
    if rs:
        print(f"Goal on Linux, procpool >= 2x Python uncontended: "
              f"{verdict(rs, lambda x: x >= 2)} ({fmt_range(rs, fmt_ratio)}).")
    rs = r("lock_contended_4p_incr_per_s")
    if rs:
        print(f"Goal (issue 12), contended 4 processes >= 6x Python: "
              f"{verdict(rs, lambda x: x >= 6)} ({fmt_range(rs, fmt_ratio)}).")
    rs = r("mgr_uncontended_pairs_per_s")
    if rs:
        print(f"Goal, manager lock pairs from a client >= 5x Python's Manager lock: "
              f"{verdict(rs, lambda x: x >= 5)} ({fmt_range(rs, fmt_ratio)}).")
    for key in ("queue_small_items_per_s", "queue_4k_items_per_s"):
        rs = r(key)
        if rs:
            print(f"Goal (issue 14), {LOCK_LABELS[key]} >= 10x Python's mp.Queue: "
                  f"{verdict(rs, lambda x: x >= 10)} ({fmt_range(rs, fmt_ratio)}).")


# ------------------------------------------------------------------- pool

def split_of(key, info):
    """(calls, MiB per call) of a map row split into several calls, or None."""
    row = row_of(key) if key.startswith("map_") else None
    calls = info.get(f"{row[0]}_calls") if row else None
    cap = info.get(f"{row[0]}_call_mib") if row else None
    return (calls, cap) if calls and calls > 1 and cap else None


def pool_label(key, info):
    split = split_of(key, info)
    extra = f"; {split[0]:.0f} calls*" if split else ""
    if key.endswith("_peak_mib"):
        return f"{key[:-9]} peak memory (MiB{extra})"
    if key.endswith("_us"):
        return f"{key[:-3]} (µs)"
    if key.endswith("_s"):
        return f"{key[:-2]} (s{extra})"
    return key


def row_of(key):
    """(row, kind) of a metric of a data row: ("str_200000", "map") for
    map_str_200000_s; ("map_1000000_default_chunk", "map") for its _s and
    _read_s; None otherwise. kind: map, serial, peak."""
    for prefix in ("map_", "serial_"):
        if key.startswith(prefix) and (key.endswith("_s") or key.endswith("_peak_mib")):
            rest = key[len(prefix):]
            if rest.endswith("_peak_mib"):
                return rest[:-9], "peak"
            if rest.startswith(("str_", "bytes_")):
                return rest[:-2], prefix[:-1]
    if key.endswith("_default_chunk_s"):
        return key[:-2], "map"
    if key.endswith("_default_chunk_read_s"):
        return key[:-7], "map"
    return None


def pool_limit(key, c, info, procs):
    """(limit value in the metric's unit, description) for one round, or
    (None, description) when a limit row is missing; None if the metric has
    no limit."""
    fork, spawn = c.get("limit_fork_exit_wait_us"), c.get("limit_spawn_exit_wait_us")
    gbps = c.get("limit_memcpy_gbps")
    if key == "apply_roundtrip_us":
        return c.get("limit_pipe_roundtrip_us"), "pipe round trip"
    if key == "start_stop_fork_s":
        return (procs * fork / 1e6 if fork else None), f"{procs} × fork+exit+wait"
    if key == "start_stop_spawn_s":
        return (procs * spawn / 1e6 if spawn else None), f"{procs} × spawn+wait"
    if key == "start_stop_forkserver_s":
        ok = fork and spawn
        return ((spawn + procs * fork) / 1e6 if ok else None), f"spawn + {procs} × fork+exit+wait"
    row = row_of(key)
    if row is None:
        return None
    name, kind = row
    if kind == "peak":
        size = info.get(f"{name}_input_bytes")
        return (size / 2**20 if size else None), "input size"
    size = info.get(f"{name}_{'input' if kind == 'serial' else 'moved'}_bytes")
    what = "input" if kind == "serial" else "in+out"
    if not size:
        return None
    return (size / (gbps * 1e9) if gbps else None), f"memcpy of {what} ({size / 2**20:.1f} MiB)"


def pool_table(rounds, procs):
    print("| metric (time: lower is better) | procpool | Python mp.Pool "
          "| speed-up (Python/procpool, higher is better) "
          "| limit (same run) | procpool against the limit (lower is better) |")
    print("|---|---:|---:|---:|---|---:|")
    keys = keys_in_order(rounds)
    info = rounds[0][2]
    for key in [k for k in keys if not k.startswith("limit_")]:
        a = [c.get(key) for c, _, _, _ in rounds]
        b = [py.get(key) for _, py, _, _ in rounds]
        speed = fmt_range(ratios(zip(a, b), lambda x, y: y / x), fmt_ratio)
        lims = [pool_limit(key, c, ci, procs) for c, _, ci, _ in rounds]
        if lims[0] is None:
            lim_cell, cost_cell = "—", "—"
        else:
            lv = [lim[0] for lim in lims]
            against = ratios(zip(a, lv), lambda x, y: x / y)
            unit = "µs" if key.endswith("_us") else "MiB" if key.endswith("_mib") else "s"
            lim_cell = f"{lims[0][1]}: {fmt_range(lv)} {unit}"
            cost_cell = fmt_range(against, fmt_ratio)
            if key.endswith("_peak_mib") and against:
                cost_cell += " input"
        print(f"| {pool_label(key, info)} | {fmt_range(a)} | {fmt_range(b)} | {speed} "
              f"| {lim_cell} | {cost_cell} |")
    for key in [k for k in keys if k.startswith("limit_")]:
        a = [c.get(key) for c, _, _, _ in rounds]
        print(f"| {POOL_LIMIT_LABELS.get(key, key)} | {fmt_range(a)} | — | — | — | — |")
    print()
    print("Peak memory: the parent's peak resident set over the row, above its resident set "
          "before the row built its input (so the input is included); \"x input\" divides "
          "by the input's bytes (for strings: their characters only, not the objects "
          "holding them); the speed-up column of a memory row is Python's peak over "
          "procpool's.")
    splits = sorted({split_of(k, info) for k in keys} - {None})
    for calls, cap in splits:
        print()
        print(f"\\* split into {calls:.0f} calls of at most {cap:.0f} MiB of items each (the "
              f"calls submitted together, then their results read): one call cannot take more "
              f"today (a tuple encodes to at most 64 MiB, PP_ETOOBIG); Python takes the whole "
              f"list in one call.")
    print()


def pool_goals(rounds, procs):
    """The goals of issue 12 that this suite measures, per round."""
    def speed(key):
        return ratios([(c.get(key), py.get(key)) for c, py, _, _ in rounds], lambda x, y: y / x)

    def against(key):
        out = []
        for c, _, ci, _ in rounds:
            lim = pool_limit(key, c, ci, procs)
            if lim and lim[0] and c.get(key):
                out.append(c[key] / lim[0])
        return out

    lines = []

    def goal(text, rs, ok):
        if rs:
            lines.append(f"- {text}: {verdict(rs, ok)} ({fmt_range(rs, fmt_ratio)})")

    keys = keys_in_order(rounds)
    for key in keys:
        if key.endswith("_default_chunk_s"):
            goal(f"{key[:-2]} >= 10x Python", speed(key), lambda x: x >= 10)
        elif key.endswith("_default_chunk_read_s"):
            goal(f"{key[:-2]} >= 8x Python", speed(key), lambda x: x >= 8)
            goal(f"{key[:-2]} within 4x of its memcpy bound", against(key), lambda x: x <= 4)
        elif key.startswith("map_str_") and key.endswith("_s"):
            goal(f"{key[:-2]} >= 5x Python", speed(key), lambda x: x >= 5)
        elif key.startswith("map_bytes_") and key.endswith("_s"):
            goal(f"{key[:-2]} >= 3x Python", speed(key), lambda x: x >= 3)
            ser = "serial_" + key[4:]
            rs = ratios([(c.get(key), c.get(ser)) for c, _, _, _ in rounds], lambda x, y: y / x)
            goal(f"{key[:-2]} faster than its serial loop (serial/map)", rs, lambda x: x > 1)
        elif key.startswith("map_bytes_") and key.endswith("_peak_mib"):
            goal(f"{key[:-9]} parent peak <= 1.5x the input", against(key), lambda x: x <= 1.5)
    goal("start_stop_fork >= 8x Python", speed("start_stop_fork_s"), lambda x: x >= 8)
    goal("start_stop_spawn >= 10x Python", speed("start_stop_spawn_s"), lambda x: x >= 10)
    goal("start_stop_forkserver >= 10x Python", speed("start_stop_forkserver_s"),
         lambda x: x >= 10)
    goal("apply round trip <= 2x the pipe round trip", against("apply_roundtrip_us"),
         lambda x: x <= 2)
    for key in keys:
        if key.startswith("apply_async_"):
            goal(f"{key[:-2]} >= 15x Python", speed(key), lambda x: x >= 15)
    if lines:
        print("Goals of issue 12 measured by this suite (per round):")
        print()
        print("\n".join(lines))
        print()


def check_twins(suite, rounds):
    """The realistic rows' checks must agree between C and Python."""
    for c_info, py_info in ((r[2], r[3]) for r in rounds):
        for key, v in c_info.items():
            if key.endswith("_check") and key in py_info and py_info[key] != v:
                sys.exit(f"error: {suite}: {key} differs between procpool ({v:.0f}) and "
                         f"Python ({py_info[key]:.0f}): the twins did not compute the same")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default="build", help="meson build directory")
    ap.add_argument("--only", choices=("lock", "pool", "manager", "queue", "sync", "redis"),
                    help="run one suite only")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of every suite (both programs each round); the tables show "
                         "min-max over the rounds (default 1)")
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
    ap.add_argument("--sem-pairs", type=int, default=2_000_000,
                    help="sync suite: uncontended pairs per run")
    ap.add_argument("--sem-cpairs", type=int, default=200_000,
                    help="sync suite: pairs per process in the contended runs")
    ap.add_argument("--processes", type=int, default=2, help="pool size (pool suite)")
    ap.add_argument("--quick", action="store_true", help="smaller pool workloads")
    ap.add_argument("--remote", type=int, default=2,
                    help="redis suite: remote workers (and local workers, Python processes)")
    ap.add_argument("--redis-server", default="redis-server",
                    help="redis suite: the redis-server binary")
    ap.add_argument("--python", default=sys.executable,
                    help="Python interpreter for the twins (default: this one)")
    ap.add_argument("--save", metavar="FILE",
                    help="also write every round's raw figures to FILE (JSON)")
    ap.add_argument("--load", metavar="FILE",
                    help="run nothing: print the tables of a run saved with --save")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if args.load:
        with open(args.load, encoding="utf-8") as f:
            saved = json.load(f)
        for k, v in saved["args"].items():
            setattr(args, k, v)
        report(args, {s: [tuple(r) for r in rs] for s, rs in saved["results"].items()},
               saved["machine"])
        return

    suites = [args.only] if args.only else ["lock", "pool", "manager", "queue", "sync"]
    cmds = {}
    if "lock" in suites:
        common = ["--pairs", str(args.pairs), "--incr", str(args.incr), "--runs", str(args.runs)]
        cmds["lock"] = ([find_bench(args.build, "bench_lock")] + common,
                        [args.python, os.path.join(HERE, "bench_lock.py")] + common)
    if "manager" in suites:
        common = ["--pairs", str(args.mgr_pairs), "--incr", str(args.mgr_incr),
                  "--runs", str(args.runs)]
        cmds["manager"] = ([find_bench(args.build, "bench_manager")] + common
                           + (["--tcp"] if args.tcp else []),
                           [args.python, os.path.join(HERE, "bench_manager.py")] + common)
    if "pool" in suites:
        common = ["--processes", str(args.processes)] + (["--quick"] if args.quick else [])
        cmds["pool"] = ([find_bench(args.build, "bench_pool")] + common,
                        [args.python, os.path.join(HERE, "bench_pool.py")] + common)

    if "queue" in suites:
        common = ["--items", str(args.queue_items), "--runs", str(args.runs)]
        cmds["queue"] = ([find_bench(args.build, "bench_queue")] + common,
                         [args.python, os.path.join(HERE, "bench_queue.py")] + common)
    if "sync" in suites:
        common = ["--pairs", str(args.sem_pairs), "--cpairs", str(args.sem_cpairs),
                  "--runs", str(args.runs)]
        cmds["sync"] = ([find_bench(args.build, "bench_sync")] + common,
                        [args.python, os.path.join(HERE, "bench_sync.py")] + common)

    redis = None
    if "redis" in suites:
        exe = find_bench(args.build, "bench_redis")
        redis = RedisSide(args.redis_server, exe, args.remote)
        common = ["--remote", str(args.remote), "--runs", str(args.runs)]
        cmds["redis"] = ([exe, "--broker", redis.broker] + common,
                         [args.python, os.path.join(HERE, "bench_redis.py")] + common)

    results = {}  # suite -> [(c values, python values, c info, python info), ...]
    for rnd in range(args.repeat):
        for suite, (c_cmd, py_cmd) in cmds.items():
            tag = f" (round {rnd + 1} of {args.repeat})" if args.repeat > 1 else ""
            env = redis.env if suite == "redis" else None
            stop = redis.stop if redis is not None else None
            c, ci = run(f"procpool {os.path.basename(c_cmd[0])}{tag}", c_cmd, env, stop)
            py, pi = run(f"python {os.path.basename(py_cmd[1])}{tag}", py_cmd, None, stop)
            results.setdefault(suite, []).append((c, py, ci, pi))
    if redis is not None:
        redis.stop()
    for suite, rounds in results.items():
        check_twins(suite, rounds)

    pyver = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    machine = (f"{cpu_model()}, {os.cpu_count()} CPUs (nproc), "
               f"{platform.system()} {platform.release()}, Python {pyver}")
    if args.save:
        keep = ("repeat", "pairs", "incr", "runs", "mgr_pairs", "mgr_incr", "tcp", "processes",
                "quick", "queue_items", "sem_pairs", "sem_cpairs", "remote")
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump({"args": {k: getattr(args, k) for k in keep}, "machine": machine,
                       "results": results}, f, indent=1)
    report(args, results, machine)


def report(args, results, machine):
    print(f"Machine: {machine}. Figures are noisy: rerun before concluding.")
    span = (f"; every cell min–max over {args.repeat} rounds (ratios taken within each round)"
            if args.repeat > 1 else "")
    if "lock" in results:
        print()
        print(f"Locks: {args.pairs} uncontended pairs; {args.incr} increments per process; "
              f"best of {args.runs} runs{span}.")
        print()
        lock_table(results["lock"])
        lock_goals(results["lock"])
    if "manager" in results:
        print()
        print(f"Manager locks, used from client processes: {args.mgr_pairs} uncontended pairs; "
              f"{args.mgr_incr} increments per client; best of {args.runs} runs; procpool's "
              f"manager on {'TCP loopback' if args.tcp else 'its default local endpoint'}{span}.")
        print()
        lock_table(results["manager"], python_name="Python Manager().Lock()")
        lock_goals(results["manager"])
    if "pool" in results:
        print()
        print(f"Pools: {args.processes} worker processes"
              f"{', quick workloads' if args.quick else ''}{span}.")
        print()
        pool_table(results["pool"], args.processes)
        pool_goals(results["pool"], args.processes)
    if "queue" in results:
        print()
        print(f"Queues, one producer and one consumer process: {args.queue_items} small items, "
              f"{args.queue_items // 10} 4 KiB items; best of {args.runs} runs{span}.")
        print()
        lock_table(results["queue"], python_name="Python mp.Queue")
        lock_goals(results["queue"])
    if "sync" in results:
        print()
        print(f"Semaphores: {args.sem_pairs} uncontended pairs; {args.sem_cpairs} pairs per "
              f"process contended; best of {args.runs} runs{span}.")
        print()
        lock_table(results["sync"], python_name="Python mp.Semaphore")
    if "redis" in results:
        print()
        print(f"Distributed pool: {args.remote} remote workers on this machine (the broker "
              f"pool's one local worker kept busy, so every measured task runs remotely) beside "
              f"{args.remote} local workers and Python's Pool({args.remote}); best of "
              f"{args.runs} runs{span}.")
        print()
        redis_table(results["redis"])


REDIS_ROWS = (("apply_roundtrip_us", "apply round trip (µs)"),
              ("map_trivial_s", "map of 2,000 empty tasks, chunk size 1 (s)"),
              ("map_cpu_s", "map of 100 tasks of 5 ms CPU each, chunk size 1 (s)"))


def redis_table(rounds):
    print("| metric (lower is better) | procpool remote workers | procpool local workers "
          "| Python Pool | remote / local | Python / remote |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label in REDIS_ROWS:
        rem = [c.get("remote_" + key) for c, _, _, _ in rounds]
        loc = [c.get("local_" + key) for c, _, _, _ in rounds]
        py = [p.get("local_" + key) for _, p, _, _ in rounds]
        print(f"| {label} | {fmt_range(rem)} | {fmt_range(loc)} | {fmt_range(py)} | "
              f"{fmt_range(ratios(zip(rem, loc), lambda x, y: x / y), fmt_ratio)} | "
              f"{fmt_range(ratios(zip(py, rem), lambda x, y: x / y), fmt_ratio)} |")
    print()
    key = "redis_lock_pairs_per_s"
    a = [c.get(key) for c, _, _, _ in rounds]
    b = [p.get(key) for _, p, _, _ in rounds]
    print("| metric (higher is better) | procpool Redis lock | Python Manager().Lock() "
          "| ratio |")
    print("|---|---:|---:|---:|")
    print(f"| uncontended acquire+release pairs/s | {fmt_range(a)} | {fmt_range(b)} | "
          f"{fmt_range(ratios(zip(a, b), lambda x, y: x / y), fmt_ratio)} |")
    print()


if __name__ == "__main__":
    main()
