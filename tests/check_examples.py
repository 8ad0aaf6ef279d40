#!/usr/bin/env python3
"""Run the tutorial examples and check what they print.

usage: check_examples.py [--wrapper CMD ...] --windows|--posix EXE...

For each lock_* example: exactly ten "Task <id> completed with <value>"
lines, every id 0..9 once, values in [0, 1), critical sections that never
overlap (PP_EXAMPLE_TRACE=1 adds their [enter exit] times), "All done." at
the end, plus what is special to each program (the unobserved failure
reported, the error callback, the sync error, fork unavailable on Windows,
the manager's lock used by every worker without a word on stderr).
Prints "N passed, N failed" and exits non-zero on any failure.
"""

import os
import re
import subprocess
import sys

LINE = re.compile(r"^Task (\d+) completed with (0\.\d+|1\.0+) \[(\d+) (\d+)\]$")


def run(cmd):
    env = dict(os.environ, PP_EXAMPLE_TRACE="1")
    p = subprocess.run(cmd + ["40"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")


def check_tasks(out):
    errors = []
    spans = []
    ids = []
    for line in out.splitlines():
        if line.startswith("Task ") and "completed" in line:
            m = LINE.match(line)
            if not m:
                errors.append(f"malformed line: {line!r}")
                continue
            ids.append(int(m.group(1)))
            spans.append((int(m.group(3)), int(m.group(4))))
    if sorted(ids) != list(range(10)):
        errors.append(f"task ids {sorted(ids)}, expected 0..9 once each")
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if b[0] < a[1]:
            errors.append(f"critical sections overlap: {a} and {b}")
    if not out.rstrip().endswith("All done."):
        errors.append("last line is not 'All done.'")
    return errors


def check(name, rc, out, err, windows):
    if name == "lock_fork_global" and windows:
        ok = rc == 2 and "fork start method is not available" in out
        return [] if ok else [f"expected the fork-unavailable message and exit 2, got {rc}"]
    errors = check_tasks(out)
    if rc != 0:
        errors.append(f"exit status {rc}")
    if name == "lock_async_starmap" and "unobserved failure" not in err:
        errors.append("the unobserved failure was not reported on stderr")
    if name == "lock_error_callback" and \
            "Error callback: PP_ETASK, code 22: identifier -1 is invalid" not in out:
        errors.append("the error callback did not report the failed task")
    if name == "lock_sync_starmap" and "Task 10 failed: PP_ETASK, code 22" not in out:
        errors.append("the sync starmap's failure did not reach the caller")
    if name == "lock_manager" and err.strip():
        errors.append("the manager program wrote to stderr (no task should fail)")
    return errors


def main():
    args = sys.argv[1:]
    wrapper = []
    windows = False
    exes = []
    i = 0
    while i < len(args):
        if args[i] == "--wrapper":
            wrapper.append(args[i + 1])
            i += 2
            continue
        if args[i] in ("--windows", "--posix"):
            windows = args[i] == "--windows"
        else:
            exes.append(args[i])
        i += 1
    passed = failed = 0
    for exe in exes:
        name = os.path.splitext(os.path.basename(exe))[0]
        rc, out, err = run(wrapper + [exe])
        errors = check(name, rc, out, err, windows)
        if errors:
            failed += 1
            print(f"FAIL {name}")
            for e in errors:
                print(f"  {e}")
            print("  --- stdout ---\n" + out + "  --- stderr ---\n" + err)
        else:
            passed += 1
            print(f"PASS {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
