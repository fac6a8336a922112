#!/usr/bin/env python3
"""Writes symbol-chunk payloads (FORMAT.md §8.8) as fuzz seeds, encoded from
the text of the format document, not from the Swift encoder: a second
implementation. Usage: symbol-chunk-seeds.py DIR"""
import os, random, struct, sys

def chunk(entries, names):
    """entries: sorted, non-overlapping (start, size, name index, symbolOffset)."""
    pool, offsets = b"", []
    for n in names:
        offsets.append(len(pool))
        pool += n.encode() + b"\0"
    count = len(entries)
    lowest = entries[0][0]
    highest = entries[-1][0] + entries[-1][1]
    span = highest - lowest
    shift = 0
    while shift < 63 and (span >> shift) + 1 > count:
        shift += 1
    buckets = (span >> shift) + 1
    out = struct.pack("<IIII QQ II", 0x43534D50, count, len(pool), buckets, lowest, highest, shift, 0)
    for start, size, name, symoff in entries:
        out += struct.pack("<QIIII", start, size, offsets[name], symoff, 0x12)
    for i in range(buckets + 1):
        bound = lowest + (i << shift) if i < buckets else 1 << 64
        out += struct.pack("<I", sum(1 for e in entries if e[0] < bound))
    return out + pool

def ranges(rng, n, base):
    out, at = [], base
    for i in range(n):
        at += rng.choice([0, 0, 1, 16, 4096])
        size = rng.choice([1, 2, 16, 100, 4096, 65536])
        out.append((at, size, i % max(1, n // 2), rng.choice([0, 0, 16])))
        at += size
    return out

rng = random.Random(1)
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
names = ["main", "_ZN4pool6appendEPKvm", "$s4main3FooV3baryyF", "x"]
seeds = {
    "one": chunk([(0x1000, 0x10, 0, 0)], names),
    "top": chunk([(2**64 - 0x20, 0x1f, 1, 0)], names),
    "ten": chunk(ranges(rng, 10, 0x400000), names * 3),
    "many": chunk(ranges(rng, 400, 0x7f0000000000), [f"f{i}" for i in range(200)]),
}
seeds["two-chunks"] = chunk(ranges(rng, 20, 0x1000), names * 5) + chunk(ranges(rng, 20, 0x10000000), names * 5)
for name, data in seeds.items():
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
print(f"symbol-chunk-seeds: {len(seeds)} seeds in {d}")
