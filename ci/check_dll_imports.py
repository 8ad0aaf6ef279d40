#!/usr/bin/env python3
"""check_dll_imports.py OBJDUMP FILE... — fail if a Windows binary of
procpool imports a compiler runtime DLL (libgcc_s_*, libwinpthread-*,
libstdc++-*): users must be able to ship procpool's and APR's DLLs only
(README, Windows). Prints every DLL each file imports."""
import re
import subprocess
import sys

FORBIDDEN = re.compile(r"^(libgcc_s_|libwinpthread-|libstdc\+\+-)", re.I)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    objdump, files = sys.argv[1], sys.argv[2:]
    bad = 0
    for f in files:
        out = subprocess.run([objdump, "-p", f], capture_output=True, text=True, check=True).stdout
        dlls = re.findall(r"DLL Name:\s*(\S+)", out)
        print(f"{f}: {', '.join(dlls)}")
        for d in dlls:
            if FORBIDDEN.match(d):
                print(f"FAIL {f} imports {d}")
                bad += 1
    print(f"{len(files) - bad if bad <= len(files) else 0} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
