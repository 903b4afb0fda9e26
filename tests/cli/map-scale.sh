#!/bin/sh
# tests/cli/map-scale.sh CMASIM WORKDIR — a 1-million-operation trace (generated here, ~50 MB)
# through `cmasim map`: it must finish in under 5 s with an SVG under 5 MB.  Prints both.
set -eu
cmasim=$1 work=$2
mkdir -p "$work"
dir=$work/map-scale-1M
if [ ! -s "$dir/trace.txt" ]; then
  mkdir -p "$dir"
  printf '[    0.000000] Linux version 6.12.117+deb12-arm64 (x)\n[    0.000000] cma: Reserved 256 MiB at 0x0000000080000000\n' > "$dir/dmesg.txt"
  # 1,000,000 operations on a 65536-page area: first-fit allocations of 1–512 pages (align 0–4),
  # each released later at random, and some too-large-for-the-gap requests that fail.
  python3 - "$dir/trace.txt" <<'PY'
import random, sys
random.seed(13)
N, base = 65536, 0x80000
used = bytearray(N)          # page map: the generator's own first fit, align as the kernel
live, out, t, ops = [], [], 1.0, 0
def fit(n, a):
    step, i = 1 << a, 0
    while i + n <= N:
        j = used.find(1, i, i + n)
        if j < 0: return i
        i = ((j + 1 + step - 1) // step) * step
    return -1
f = open(sys.argv[1], "w")
w = f.write
while ops < 1_000_000:
    t += 0.0001
    if live and (len(live) > 600 or random.random() < 0.48):
        k = random.randrange(len(live)); p, n = live[k]; live[k] = live[-1]; live.pop()
        used[p:p + n] = bytes(n)
        w("rig-1 [000] ..... %.6f: cma_release: name=reserved pfn=%#x page=00000000deadbeef count=%d\n" % (t, base + p, n))
    else:
        n = random.choice((1, 2, 4, 8, 16, 32, 64, 128, 256, 512)) if random.random() < 0.98 else 4096
        a = min(4, n.bit_length() - 1)
        w("rig-1 [000] ..... %.6f: cma_alloc_start: name=reserved count=%d align=%d\n" % (t, n, a))
        p = fit(n, a)
        if p < 0:
            w("rig-1 [000] ..... %.6f: cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0000000000000000 count=%d align=%d errorno=-12\n" % (t, n, a))
        else:
            used[p:p + n] = b"\x01" * n; live.append((p, n))
            w("rig-1 [000] ..... %.6f: cma_alloc_finish: name=reserved pfn=%#x page=00000000deadbeef count=%d align=%d errorno=0\n" % (t, base + p, n, a))
    ops += 1
PY
fi
echo "trace: $(wc -l < "$dir/trace.txt") lines, $(wc -c < "$dir/trace.txt") bytes"
python3 - "$cmasim" "$dir" "$work/map-scale.svg" <<'PY'
import os, subprocess, sys, time, xml.etree.ElementTree as ET
cmasim, folder, svg = sys.argv[1:]
t = time.monotonic()
r = subprocess.run([cmasim, "map", folder, "-o", svg])
secs = time.monotonic() - t
size = os.path.getsize(svg) if r.returncode == 0 else 0
print(f"cmasim map, 1,000,000 operations: {secs:.2f} s, SVG {size} bytes ({size / 1e6:.2f} MB), exit {r.returncode}")
assert r.returncode == 0
ET.parse(svg)
ok = True
if size >= 5_000_000: print(f"FAIL: the SVG is {size} bytes, not under 5 MB"); ok = False
if secs >= 5: print(f"FAIL: {secs:.2f} s, not under 5 s"); ok = False
print("ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
