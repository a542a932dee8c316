#!/usr/bin/env python3
"""Where a process's resident pages of its own executable are: per ELF section, and per module.

    sudo Benchmarks/live/resident-pages.py PID [--top N]

Reads /proc/PID/maps and /proc/PID/pagemap (root), maps each resident page of the executable back to
the ELF address it holds, and names it by the section (readelf) and by the symbol at the start of the
page (nm), grouped into modules: Swift symbols by their mangled module name ($s7NIOCore... -> NIOCore),
BoringSSL's two copies by their prefixes, ICU by its versioned names, the rest as C/C++. Pages are 4 KiB;
the kernel maps code around each touched page too (fault-around), so a module counts every page of its
code that is mapped, touched or not.
"""
import bisect
import os
import re
import struct
import subprocess
import sys
from collections import Counter

PAGE = os.sysconf("SC_PAGE_SIZE")


def mappings(pid, exe):
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[5]) == exe:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((start, end, int(parts[2], 16), parts[1]))
    return out


def resident(pid, start, end):
    pages = []
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read((end - start) // PAGE * 8)
    for i in range(len(data) // 8):
        (entry,) = struct.unpack_from("<Q", data, i * 8)
        if entry >> 63 & 1:
            pages.append((start + i * PAGE, bool(entry >> 61 & 1)))  # bit 61: file page or shared anon
    return pages


def first_load_vaddr(exe):
    for line in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            return int(p[2], 16)
    return 0


def sections(exe):
    out = []
    for line in subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16):
            out.append((int(m.group(2), 16), int(m.group(3), 16), m.group(1)))
    return sorted(out)


MANGLED = re.compile(r"^_?\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)")


def module(name):
    m = MANGLED.match(name)
    if m:
        n = int(m.group(1))
        return m.group(2)[:n]
    for prefix, label in (("CNIOBoringSSL", "BoringSSL (NIOSSL)"), ("CCryptoBoringSSL", "BoringSSL (Crypto)"),
                          ("swift_", "Swift runtime"), ("_swift", "Swift runtime"), ("$s", "Swift (stdlib)"),
                          ("_$s", "Swift (stdlib)"), ("yaml_", "libyaml"), ("CF", "CoreFoundation"),
                          ("_CF", "CoreFoundation"), ("__CF", "CoreFoundation"), ("dispatch_", "Dispatch"),
                          ("_dispatch", "Dispatch")):
        if name.startswith(prefix):
            return label
    if "icu_" in name or re.search(r"_7\d$", name) or "icudt" in name:
        return "ICU"
    if name.startswith("_Z"):
        return "C++ (other)"
    return "C (other)"


def main():
    pid = int(sys.argv[1])
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    exe = os.path.realpath(f"/proc/{pid}/exe")
    secs = sections(exe)
    sec_starts = [s[0] for s in secs]
    syms = []
    for line in subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout.splitlines():
        p = line.split(maxsplit=2)
        if len(p) == 3 and p[1] in "tTrRdDbBvVwW":
            syms.append((int(p[0], 16), p[2]))
    sym_addrs = [s[0] for s in syms]

    maps = mappings(pid, exe)
    # The load bias: where the first LOAD segment (file offset 0) was mapped, less its ELF address.
    bias = min(m[0] for m in maps if m[2] == 0) - first_load_vaddr(exe)
    by_section, by_module = Counter(), Counter()
    for start, end, _, _ in maps:
        for addr, _ in resident(pid, start, end):
            vaddr = addr - bias
            i = bisect.bisect_right(sec_starts, vaddr) - 1
            sec = secs[i][2] if i >= 0 and vaddr < secs[i][0] + secs[i][1] + PAGE else "(none)"
            by_section[sec] += 1
            if sec in (".text", ".rodata", ".data.rel.ro", ".data"):
                j = bisect.bisect_right(sym_addrs, vaddr) - 1
                by_module[(sec, module(syms[j][1]) if j >= 0 else "?")] += 1
    kib = PAGE // 1024
    total = sum(by_section.values())
    print(f"{exe}: {total * kib / 1024:.1f} MiB of its pages resident")
    print("\nby section:")
    for sec, n in by_section.most_common():
        print(f"  {sec:30} {n * kib / 1024:7.2f} MiB")
    print(f"\nby module (top {top}):")
    for (sec, mod), n in by_module.most_common(top):
        print(f"  {sec:14} {mod:40} {n * kib / 1024:7.2f} MiB")


if __name__ == "__main__":
    main()
