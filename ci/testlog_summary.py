#!/usr/bin/env python3
"""Sum the test counts of one meson test run from its testlog.txt.

Each procpool suite (one meson test) ends its stdout with the line
"N passed, N failed" (tests/pp_test.c). For every meson test this takes
the LAST such line of its stdout; a test without one (another project
test, or a runner that died before its summary) counts as 1 passed or 1
failed by meson's result. A test that printed "N passed, 0 failed" but
whose process still failed (e.g. a sanitizer report at exit) adds 1 failed.

It also collects the runner's own report lines of tests that did not pass
("FAIL|TIMEOUT|CRASH  suite/test  1.234 s  detail"), each followed by the
first few assertion lines that test printed ("  suite/test: file:line:
message"), so that CI can repeat them in its final summary, where a
truncated log still shows why a test failed.

Usage: testlog_summary.py TESTLOG [LABEL] [--failures FILE]
Prints one line per meson test, then "PASSED FAILED" as the last line;
with --failures, writes one line per failed test (or failed meson test
without a summary) to FILE.
"""
import re
import sys

SECTION = re.compile(r"^=+ \d+/\d+ =+$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
BAD = re.compile(r"^(FAIL|TIMEOUT|CRASH)\s+(\S+/\S+)")
DETAIL = re.compile(r"^  (\S+/\S+): (.+)$")
DETAIL_MAX = 4  # assertion lines repeated per failed test


def parse(path):
    tests = []
    cur = None
    where = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if SECTION.match(line):
                cur = {"name": "?", "result": "?", "summary": None, "bad": [], "detail": {}}
                tests.append(cur)
                where = "head"
                continue
            if cur is None:
                continue
            if where == "head" and line.startswith("test:"):
                # "error", or "procpool:procpool / error" (project:suite / name)
                cur["name"] = line.split(":", 1)[1].strip().split(" / ")[-1]
            elif where == "head" and line.startswith("result:"):
                cur["result"] = line.split(":", 1)[1].strip()
            elif re.match(r"^-+ stdout -+$", line):
                where = "stdout"
            elif re.match(r"^-+ stderr -+$", line):
                where = "stderr"
            elif line == "=" * 78:  # meson's end of a test's section
                cur, where = None, None
            elif where == "stdout":
                d = DETAIL.match(line)
                if d:
                    cur["detail"].setdefault(d.group(1), []).append(d.group(2))
                b = BAD.match(line)
                if b:
                    cur["bad"].append((" ".join(line.split()), b.group(2)))
                m = SUMMARY.match(line)
                if m:
                    cur["summary"] = (int(m.group(1)), int(m.group(2)))
    return tests


def main():
    args = sys.argv[1:]
    failures_path = None
    if "--failures" in args:
        i = args.index("--failures")
        if i + 1 >= len(args):
            sys.exit(__doc__)
        failures_path = args[i + 1]
        del args[i : i + 2]
    if not args:
        sys.exit(__doc__)
    label = args[1] if len(args) > 1 else ""
    passed = failed = 0
    bad_lines = []
    for t in parse(args[0]):
        ok = t["result"] in ("exit status 0", "OK", "ok")
        if t["summary"] is not None:
            p, f = t["summary"]
            note = ""
            if not ok and f == 0:
                f, note = 1, "  (process failed after its summary: counted as 1 failed)"
        else:
            p, f = (1, 0) if ok else (0, 1)
            note = "  (no summary line: counted by meson's result)"
        passed += p
        failed += f
        if t["bad"]:
            for b, test_id in t["bad"]:
                bad_lines.append(f"{label}{b}")
                shown = t["detail"].get(test_id, [])
                bad_lines += [f"    {x}" for x in shown[:DETAIL_MAX]]
                if len(shown) > DETAIL_MAX:
                    bad_lines.append(f"    ... {len(shown) - DETAIL_MAX} more")
        elif f:
            bad_lines.append(f"{label}{t['name']}: [{t['result']}]{note}")
        print(f"  {label}{t['name']:<12} {p:5d} passed, {f:3d} failed   [{t['result']}]{note}")
    if failures_path is not None:
        with open(failures_path, "a", encoding="utf-8") as out:
            for b in bad_lines:
                out.write(b + "\n")
    print(f"{passed} {failed}")


if __name__ == "__main__":
    main()
