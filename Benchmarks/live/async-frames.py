#!/usr/bin/env python3
"""The size of each async function's frame (its context) in an executable, largest first.

    Benchmarks/live/async-frames.py EXECUTABLE [REGEX] [--top N]

Every Swift async function has an "async function pointer" (a symbol ending in `Tu`): a 32-bit relative
offset to the function and the 32-bit size of the context it needs, which the task allocator hands out
each time the function is called. A task keeps the memory of its deepest moment for as long as it lives
(BENCHMARKS.md, "Watches"), so the frames on a long-lived task's waiting path are what to keep small.
REGEX filters the mangled names (for example "Informer|WatchConnection"). Needs nm, readelf and
`swift demangle`.
"""
import re
import struct
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:]]
    top = 40
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    exe = args[0]
    pattern = re.compile(args[1]) if len(args) > 1 else None
    symbols = []
    for line in subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].endswith("Tu") and (pattern is None or pattern.search(parts[2])):
            symbols.append((int(parts[0], 16), parts[2]))
    segments = []
    for line in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            segments.append((int(parts[2], 16), int(parts[1], 16), int(parts[4], 16)))
    with open(exe, "rb") as f:
        data = f.read()

    def context_size(address):
        for start, offset, size in segments:
            if start <= address < start + size:
                at = offset + address - start
                return struct.unpack("<iI", data[at:at + 8])[1]
        return None

    names = subprocess.run(
        ["swift", "demangle", "--simplified"], input="\n".join(name for _, name in symbols),
        capture_output=True, text=True, check=True).stdout.splitlines()
    rows = []
    for (address, _), name in zip(symbols, names):
        size = context_size(address)
        if size is not None:
            rows.append((size, name.replace("async function pointer to ", "")))
    for size, name in sorted(rows, reverse=True)[:top]:
        print(f"{size:7d}  {name}")


if __name__ == "__main__":
    main()
