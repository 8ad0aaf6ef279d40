#!/usr/bin/env python3
"""check_pc.py PCFILE INCLUDEDIR — procpool.pc keeps APR private: it is not
in Requires (only Requires.private), and no public header includes an APR
header, so a client built with `pkg-config --cflags --libs procpool` needs
neither APR's flags nor its headers."""
import os
import re
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pc, incdir = sys.argv[1], sys.argv[2]
    fields = {}
    with open(pc, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z.]+):\s*(.*)$", line)
            if m:
                fields[m.group(1)] = m.group(2)
    problems = []
    if "apr" in fields.get("Requires", ""):
        problems.append(f"Requires names APR: {fields['Requires']}")
    if "apr-1" not in fields.get("Requires.private", ""):
        problems.append("Requires.private does not name apr-1 (static linking needs it)")
    for root, _, names in os.walk(incdir):
        for n in names:
            with open(os.path.join(root, n), encoding="utf-8") as f:
                if re.search(r"#\s*include\s*[<\"]apr", f.read()):
                    problems.append(f"public header {n} includes an APR header")
    for p in problems:
        print("FAIL", p)
    print(f"{2 - min(len(problems), 2)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
