#!/usr/bin/env python3
"""tests/cli/diagnose_groundtruth.py CMASIM DIR — `cmasim diagnose` on a dmesg-only field log
against what the real kernel's trace says.

DIR is a recording (trace.txt + dmesg.txt from a real kernel). The dmesg is stripped to what a
field log has: the module's `cma_test:` lines and mm/cma.c's pr_debug lines (`cma_alloc(cma …`,
`returned`, `cma_release(`, `is busy, retrying`) are removed. `cmasim diagnose --json` reads it
alone. Independently of cmasim, this script walks the trace: it keeps the pages each successful
cma_alloc_finish holds until its cma_release, and classifies every failed finish as the state
at that moment gives it:
  too-large   count > the area's pages
  busy        errorno -16
  exhausted   fewer free pages than count
  fragmented  enough free pages, but no window of count pages at the request's alignment
              (alignment of the absolute pfn, as bitmap_aligned_offset gives it)
Kernels that print no show_areas after a failure (< 6.12 without CONFIG_CMA_DEBUG) must give
no-window for every -ENOMEM instead.
The failure lines the kernel printed (5.14+ rate-limits them: 10 per 5 s) are matched to trace
failures by count and timestamp; every printed line must be matched, and per (cause, count)
the diagnosis must count exactly the printed ones. Exit 0 pass, 1 fail.
"""
import json
import re
import subprocess
import sys
import tempfile

PR_DEBUG = re.compile(r"cma: (__)?cma_alloc\(cma |cma: (__)?cma_alloc\(\): returned|cma: cma_release\(|is busy, retrying")
STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]")
FAIL_LINE = re.compile(r"alloc failed, req-size: (\d+) pages, ret: (-\d+)")


def field_log(dmesg_path, out):
    kept = 0
    with open(dmesg_path, errors="replace") as f:
        for line in f:
            body = STAMP.sub("", line).lstrip()
            if body.startswith("cma_test:") or PR_DEBUG.search(line):
                continue
            out.write(line)
            kept += 1
    return kept


def trace_failures(trace_path, area_pages, base_pfn):
    held = {}  # pfn -> count
    out = []
    fin = re.compile(r"\s(\d+\.\d+): cma_alloc_finish: name=(\S+) pfn=0x([0-9a-f]+) .*?count=(\d+) align=(\d+)(?: errorno=(-?\d+))?")
    rel = re.compile(r"\s(\d+\.\d+): cma_release: name=(\S+) pfn=0x([0-9a-f]+) .*?count=(\d+)")
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = fin.search(line)
            if m:
                t, pfn, count, align = float(m.group(1)), int(m.group(3), 16), int(m.group(4)), int(m.group(5))
                err = int(m.group(6)) if m.group(6) else 0
                failed = pfn == 0xFFFFFFFFFFFFFFFF or err != 0
                if not failed:
                    held[pfn] = count
                    continue
                if err == 0:
                    err = -12
                out.append((t, count, align, err, classify(held, area_pages, base_pfn, count, align, err)))
                continue
            m = rel.search(line)
            if m:
                held.pop(int(m.group(3), 16), None)
    return out


def classify(held, area_pages, base, count, align, err):
    if count > area_pages:
        return "too-large"
    if err == -16:
        return "busy"
    used = [False] * area_pages
    for pfn, n in held.items():
        for p in range(pfn - base, min(pfn - base + n, area_pages)):
            used[p] = True
    free = used.count(False)
    if free < count:
        return "exhausted"
    step = 1 << align
    start = (-base) % step  # first index whose absolute pfn is aligned
    while start + count <= area_pages:
        if not any(used[start:start + count]):
            return "fits?"  # the trace says it failed: the checker's state is wrong
        start += step
    return "fragmented"


def main():
    cmasim, d = sys.argv[1], sys.argv[2]
    dmesg = open(f"{d}/dmesg.txt", errors="replace").read()
    m = re.search(r"cma: Reserved (\d+) MiB at 0x([0-9a-f]+)", dmesg)
    if not m:
        print(f"FAIL: no 'cma: Reserved' line in {d}/dmesg.txt")
        return 1
    area_pages, base_pfn = int(m.group(1)) * 256, int(m.group(2), 16) >> 12
    has_show_areas = "number of available pages:" in dmesg
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as tmp:
        kept = field_log(f"{d}/dmesg.txt", tmp)
        path = tmp.name
    r = subprocess.run([cmasim, "diagnose", "--json", path], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        print(r.stdout, r.stderr)
        print(f"FAIL: cmasim diagnose exited {r.returncode}")
        return 1
    got = json.loads(r.stdout)
    lines = open(path).read().splitlines()
    printed = []  # (time, count, err) of every failure line the field log has
    for line in lines:
        fm = FAIL_LINE.search(line)
        if fm:
            sm = STAMP.match(line)
            printed.append((float(sm.group(1)) if sm else None, int(fm.group(1)), int(fm.group(2))))
    truth = trace_failures(f"{d}/trace.txt", area_pages, base_pfn)
    # Match each printed line to the trace failure of the same count closest in time.
    want = {}
    unused = list(truth)
    bad = 0
    for t, count, err in printed:
        cands = [x for x in unused if x[1] == count and x[3] == err]
        if not cands:
            print(f"FAIL: printed failure ({count} pages, {err}) at {t} has no failure in the trace")
            bad += 1
            continue
        best = min(cands, key=lambda x: abs(x[0] - t) if t is not None else 0)
        unused.remove(best)
        cause = best[4]
        if cause in ("exhausted", "fragmented") and not has_show_areas:
            cause = "no-window"
        want[(cause, count)] = want.get((cause, count), 0) + 1
    have = {}
    for f in got["findings"]:
        if f["cause"] in ("fragmented", "exhausted", "too-large", "no-window", "busy"):
            have[(f["cause"], f["count"])] = have.get((f["cause"], f["count"]), 0) + f["occurrences"]
    name = d.rstrip("/").split("/")[-1]
    if have != want:
        print(f"FAIL: {name}: diagnose {sorted(have.items())} != trace {sorted(want.items())}")
        bad += 1
    if any(x[4] == "fits?" for x in truth):
        print(f"FAIL: {name}: the checker found a window for a failure the kernel reported (its state is wrong)")
        bad += 1
    causes = ", ".join(f"{c} {n}×{k}" for (c, k), n in sorted(want.items())) or "none"
    print(f"{name}: field log of {kept} lines; {len(truth)} failed cma_alloc in the trace, {len(printed)} printed "
          f"(rate limit), all matched: {causes}" + ("" if has_show_areas else " (no show_areas in this kernel: no-window)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
