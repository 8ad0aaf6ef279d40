#!/usr/bin/env python3
"""check_layers.py — the structure rules of src/, checked on every include.

The portable core is in layers, lowest first (src/core/core.h says what
each owns):

    core -> wire -> sync -> values -> pool -> manager -> src/init.c

A file may include headers of its own layer and of the layers below it,
never above; headers of another layer are named with their folder
("wire/frame.h"), so the direction is visible where it is written. src/
never includes an OS header (the platform contract, platform/platform.h,
is the only way to the OS) nor tests _WIN32 / __linux__ / __APPLE__. A
file over MAX_LINES needs a line "layers: long file: <reason>" near its
top.

Usage: check_layers.py [REPO_ROOT]   (exit status 1 and a list of
violations if any rule is broken)
"""
import os
import re
import sys

LAYERS = ["core", "wire", "sync", "values", "pool", "manager", "redis"]
TOP = len(LAYERS)  # src/init.c
MAX_LINES = 700

# What src/ may include with <...>: the C standard library, APR (the
# design card's portable runtime), libsodium (the manager's crypto) and
# hiredis (the redis layer's client).
# Anything else is an OS header.
STD_HEADERS = {
    "assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h",
    "math.h", "stdalign.h", "stdarg.h", "stdatomic.h", "stdbool.h",
    "stddef.h", "stdint.h", "stdio.h", "stdlib.h", "stdnoreturn.h",
    "string.h", "time.h",
}
OS_MACROS = re.compile(r"\b(_WIN32|_WIN64|__linux__|__APPLE__|__FreeBSD__|_MSC_VER|__MINGW32__)\b")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(rel):
    """Layer index of a path relative to src/."""
    parts = rel.split("/")
    if len(parts) == 1:
        return TOP
    return LAYERS.index(parts[0]) if parts[0] in LAYERS else None


def check_file(src, rel, problems):
    path = os.path.join(src, rel)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    mine = layer_of(rel)
    if mine is None:
        problems.append(f"src/{rel}: not in a layer folder ({', '.join(LAYERS)})")
        return
    for m in INCLUDE.finditer(text):
        kind, name = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        where = f"src/{rel}:{line}"
        if kind == "<":
            if (name not in STD_HEADERS and not name.startswith("apr") and name != "sodium.h"
                    and name != "hiredis/hiredis.h"):
                problems.append(f"{where}: includes OS header <{name}> (add to platform.h)")
            continue
        if name == "platform.h" or name.startswith("procpool/"):
            continue
        if "/" not in name:
            problems.append(f'{where}: "{name}" must be named with its folder')
            continue
        theirs = layer_of(name)
        if theirs is None or not os.path.exists(os.path.join(src, name)):
            problems.append(f'{where}: "{name}" is not a header of src/')
        elif theirs > mine:
            problems.append(f'{where}: "{name}" is in layer {LAYERS[theirs]}, above '
                            f'{LAYERS[mine] if mine < TOP else "init.c"}')
    for n, ln in enumerate(text.split("\n"), 1):
        code = ln.split("/*")[0].split("//")[0]
        if OS_MACROS.search(code):
            problems.append(f"src/{rel}:{n}: tests an OS macro (a platform.h function is missing)")
    nlines = text.count("\n")
    if nlines > MAX_LINES and "layers: long file:" not in text[:2000]:
        problems.append(f"src/{rel}: {nlines} lines (> {MAX_LINES}) without a stated reason")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    src = os.path.join(root, "src")
    problems = []
    files = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(dirpath, name), src).replace(os.sep, "/"))
    for rel in sorted(files):
        check_file(src, rel, problems)
    for p in problems:
        print(p)
    print(f"check_layers: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
