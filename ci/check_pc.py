#!/usr/bin/env python3
"""check_pc.py PCFILE INCLUDEDIR [STATIC_PCFILE] — procpool.pc keeps APR
private: it is not in Requires (only Requires.private), and no public header
includes an APR header, so a client built with `pkg-config --cflags --libs
procpool` needs neither APR's flags nor its headers. The static flavour's
.pc (procpool-static.pc) does the same, makes clients define PP_STATIC
(export.h: without it a static client on Windows links against __imp_
symbols) and names the archive, not a library an import library could
shadow."""
import os
import re
import sys


def fields_of(pc):
    fields = {}
    with open(pc, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z.]+):\s*(.*)$", line)
            if m:
                fields[m.group(1)] = m.group(2)
    return fields


def check_private(name, fields, problems):
    if "apr" in fields.get("Requires", ""):
        problems.append(f"{name}: Requires names APR: {fields['Requires']}")
    if "apr-1" not in fields.get("Requires.private", ""):
        problems.append(f"{name}: Requires.private does not name apr-1 (static linking needs it)")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    pc, incdir = sys.argv[1], sys.argv[2]
    problems = []
    checks = 2
    check_private("procpool.pc", fields_of(pc), problems)
    for root, _, names in os.walk(incdir):
        for n in names:
            with open(os.path.join(root, n), encoding="utf-8") as f:
                if re.search(r"#\s*include\s*[<\"]apr", f.read()):
                    problems.append(f"public header {n} includes an APR header")
    if len(sys.argv) == 4:
        checks += 4
        st = fields_of(sys.argv[3])
        check_private("procpool-static.pc", st, problems)
        if "-DPP_STATIC" not in st.get("Cflags", ""):
            problems.append("procpool-static.pc: Cflags do not define PP_STATIC")
        if "-DPP_STATIC" in fields_of(pc).get("Cflags", ""):
            problems.append("procpool.pc (the shared library's) defines PP_STATIC")
        if not re.search(r"libprocpool\.a\b", st.get("Libs", "")):
            problems.append("procpool-static.pc: Libs do not name the archive libprocpool.a")
    for p in problems:
        print("FAIL", p)
    print(f"{checks - min(len(problems), checks)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
