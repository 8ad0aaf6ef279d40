#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_manager (tests/fuzz/corpus-manager/).

    python3 tests/fuzz/gen_manager_seeds.py tests/fuzz/corpus-manager

Valid frames of the manager protocol (src/manager/mgr_proto.h, version 2:
10-byte header with a u32 length) for every request type, replies, and a
bare value tuple (what a hosted queue or dict item is). Rerun it when the
protocol changes.
"""
import os
import struct
import sys

VERSION = 2


def frame(ftype, payload=b""):
    return b"PPM" + bytes([VERSION, ftype, 0]) + struct.pack("<I", len(payload)) + payload


def obj(oid, kind, op, flags=0, ticket=0, timeout=0, a=0, b=0, key=b"", data=b""):
    return frame(24, struct.pack("<QBBBQqqq", oid, kind, op, flags, ticket, timeout, a, b)
                 + struct.pack("<I", len(key)) + key + struct.pack("<I", len(data)) + data)


def tuple_(*items):
    out = struct.pack("<I", len(items))
    for t, v in items:
        if t == 1:
            out += bytes([1]) + struct.pack("<q", v)
        elif t == 2:
            out += bytes([2]) + struct.pack("<d", v)
        else:
            out += bytes([t]) + struct.pack("<I", len(v)) + v
    return out


def main(out):
    item = tuple_((1, -42), (2, 0.5), (3, b"hello"), (4, b"\x00\x01\xff"))
    seeds = {
        "create": frame(16),
        "acquire": frame(17, struct.pack("<Qq", 1, 1000)),
        "try": frame(18, struct.pack("<Q", 1)),
        "release": frame(19, struct.pack("<Q", 1)),
        "release-nr": frame(22, struct.pack("<Q", 1)),
        "destroy": frame(20, struct.pack("<Q", 1)),
        "open": frame(21, struct.pack("<Q", 1)),
        "proof": frame(2, bytes(range(64))),
        "reply-ownerdead": frame(32, struct.pack("<iQ", -10, 7)),
        "reply-data": frame(32, struct.pack("<iQ", 0, 0) + item),
        "obj-create-sem": obj(0, 3, 1, a=2),
        "obj-cond-wait-giveup": obj(5, 5, 8, flags=1, ticket=9, timeout=1000),
        "obj-queue-put": obj(3, 9, 12, timeout=1000, data=item),
        "obj-dict-set": obj(4, 10, 6, key=b"counter", data=tuple_((1, 3))),
        "obj-value-cas": obj(6, 8, 11, a=1, b=2, key=b"\x01"),
        "item-tuple": item,
    }
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen_manager_seeds.py DIR")
    main(sys.argv[1])
