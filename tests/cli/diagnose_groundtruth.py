#!/usr/bin/env python3
"""tests/cli/diagnose_groundtruth.py CMASIM DIR — `cmasim diagnose` on a dmesg-only field log
against what the real kernel's trace says.

DIR is a recording (trace.txt + dmesg.txt from a real kernel). The dmesg is stripped to what a
field log has: the module's `cma_test:` lines and mm/cma.c's pr_debug lines (`cma_alloc(cma …`,
`returned`, `cma_release(`, `is busy, retrying`) are removed. `cmasim diagnose --json` reads it
alone. Independently of cmasim, this script walks the trace: it keeps the pages each successful
cma_alloc_finish holds until its cma_release, area by area (trace name=; each area is the
`cma: Reserved` line whose window holds its first successful allocation: the default and the
per-node areas of the numa-* recordings), and classifies every failed finish as the state at
that moment gives it:
  too-large   count > the area's pages
  busy        errorno -16 (on 6.15+, where a search that finds no window also ends in -16,
              only after cma_alloc_busy_retry events; else the state decides)
  exhausted   fewer free pages than count
  fragmented  enough free pages, but no window of count pages at the request's alignment
              (alignment of the absolute pfn, as bitmap_aligned_offset gives it)
Kernels that print no show_areas after a failure (< 6.12 without CONFIG_CMA_DEBUG) must give
no-window for every -ENOMEM instead.
The failure lines the kernel printed (5.14+ rate-limits them: 10 per 5 s) are matched to trace
failures by count and timestamp; every printed line must be matched, and per (cause, count)
the diagnosis must count exactly the printed ones.

With --with-trace, `cmasim diagnose` reads the whole recording (dmesg.txt and trace.txt), and
every failed allocation of the trace must be diagnosed, printed or not, with the cause the
state gives (never no-window: the trace is the occupancy). A cma_alloc_start that its task
follows with another start, no finish between (<=6.14 traces no finish for a request larger
than the area), is a failed allocation too: too-large if count > the area's pages. A failure
after cma_alloc_busy_retry events of the same allocation, on a kernel whose finish prints no
errno (<=6.2), is busy.
Exit 0 pass, 1 fail.
"""
import json
import re
import subprocess
import sys
import tempfile

PR_DEBUG = re.compile(r"cma: (__)?cma_alloc(_frozen)?\(cma |cma: (__)?cma_alloc(_frozen)?\(\): returned|cma: cma_release\("
                      r"|cma: __cma_release_frozen\(|cma: find_cma_memrange\(|is busy, retrying")
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


def trace_areas(trace_path, reserved_lines):
    """name -> (pages, base_pfn): each traced area is the Reserved line whose window holds its
    first successful traced allocation (several areas: the default and the per-node ones);
    an area with none takes the first line (the single-area recordings)."""
    fin = re.compile(r"cma_alloc_finish: name=(\S+) pfn=0x([0-9a-f]+) .*?count=(\d+) align=\d+(?: errorno=(-?\d+))?")
    areas = {}
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = fin.search(line)
            if not m or m.group(1) in areas:
                continue
            pfn, err = int(m.group(2), 16), int(m.group(4) or 0)
            if pfn == 0xFFFFFFFFFFFFFFFF or err or pfn == 0:
                continue
            for pages, base in reserved_lines:
                if base <= pfn < base + pages:
                    areas[m.group(1)] = (pages, base)
    return areas


def trace_failures(trace_path, reserved_lines, ebusy_is_no_space=False):
    areas = trace_areas(trace_path, reserved_lines)
    area_of = lambda name: areas.get(name, reserved_lines[0])
    held = {}  # name -> {pfn: count}
    out = []
    pending = {}  # pid -> (time, count, align, busy retries seen, name) of a start with no finish yet
    start = re.compile(r"-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): cma_alloc_start: name=(\S+) (?:request_)?count=(\d+).*? align=(\d+)")
    busy = re.compile(r"-(\d+)\s+\[\d+\].*?: cma_alloc_busy_retry:")
    fin = re.compile(r"-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): cma_alloc_finish: name=(\S+) pfn=0x([0-9a-f]+) .*?count=(\d+) align=(\d+)(?: errorno=(-?\d+))?")
    rel = re.compile(r"\s(\d+\.\d+): cma_release: name=(\S+) pfn=0x([0-9a-f]+) .*?count=(\d+)")
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = start.search(line)
            if m:
                pid = m.group(1)
                if pid in pending:  # the previous start of this task never finished
                    t, count, align, _, name = pending[pid]
                    out.append((t, count, align, -12, "too-large" if count > area_of(name)[0] else "unfinished?", True))
                pending[pid] = (float(m.group(2)), int(m.group(4)), int(m.group(5)), 0, m.group(3))
                continue
            m = busy.search(line)
            if m and m.group(1) in pending:
                t, count, align, b, name = pending[m.group(1)]
                pending[m.group(1)] = (t, count, align, b + 1, name)
                continue
            m = fin.search(line)
            if m:
                retries = pending.pop(m.group(1), (0, 0, 0, 0, ""))[3]
                name = m.group(3)
                t, pfn, count, align = float(m.group(2)), int(m.group(4), 16), int(m.group(5)), int(m.group(6))
                err = int(m.group(7)) if m.group(7) else 0
                failed = pfn == 0xFFFFFFFFFFFFFFFF or err != 0
                if not failed:
                    held.setdefault(name, {})[pfn] = count
                    continue
                if err == 0:
                    err = -16 if retries else -12
                judged = -12 if (err == -16 and ebusy_is_no_space and not retries) else err
                pages, base = area_of(name)
                out.append((t, count, align, err, classify(held.get(name, {}), pages, base, count, align, judged), True))
                continue
            m = rel.search(line)
            if m:
                held.get(m.group(2), {}).pop(int(m.group(3), 16), None)
    for t, count, align, _, name in pending.values():  # the trace ends after a start
        out.append((t, count, align, -12, "too-large" if count > area_of(name)[0] else "unfinished?", True))
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
    with_trace = "--with-trace" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--with-trace"]
    cmasim, d = args[0], args[1]
    dmesg = open(f"{d}/dmesg.txt", errors="replace").read()
    reserved_lines = [(int(mib) * 256, int(base, 16) >> 12)
                      for mib, base in re.findall(r"cma: Reserved (\d+) MiB at 0x([0-9a-f]+)", dmesg)]
    if not reserved_lines:
        print(f"FAIL: no 'cma: Reserved' line in {d}/dmesg.txt")
        return 1
    has_show_areas = "number of available pages:" in dmesg
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as tmp:
        kept = field_log(f"{d}/dmesg.txt", tmp)
        path = tmp.name
    inputs = [f"{d}/dmesg.txt", f"{d}/trace.txt"] if with_trace else [path]
    r = subprocess.run([cmasim, "diagnose", "--json", *inputs], capture_output=True, text=True)
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
    vm = re.search(r"Linux version (\d+)\.(\d+)", dmesg)
    ebusy_is_no_space = bool(vm) and (int(vm.group(1)), int(vm.group(2))) >= (6, 15)
    truth = trace_failures(f"{d}/trace.txt", reserved_lines, ebusy_is_no_space)
    want = {}
    if with_trace:
        return check_with_trace(got, truth, d)
    # Match each printed line to the trace failure of the same count closest in time.
    unused = list(truth)
    bad = 0
    for t, count, err in printed:
        cands = [x for x in unused if x[1] == count and x[3] == err and x[5]]
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


def check_with_trace(got, truth, d):
    """Every failed allocation of the trace, with the cause its state gives."""
    name = d.rstrip("/").split("/")[-1]
    want = {}
    for x in truth:
        want[(x[4], x[1])] = want.get((x[4], x[1]), 0) + 1
    have = {}
    for f in got["findings"]:
        if f["cause"] in ("fragmented", "exhausted", "too-large", "no-window", "busy"):
            have[(f["cause"], f["count"])] = have.get((f["cause"], f["count"]), 0) + f["occurrences"]
    bad = 0
    if have != want:
        print(f"FAIL: {name}: diagnose with the trace {sorted(have.items())} != trace {sorted(want.items())}")
        bad += 1
    if any(x[4] in ("fits?", "unfinished?") for x in truth):
        print(f"FAIL: {name}: the checker's state disagrees with the trace (a window for a failure, or an unfinished start that fits)")
        bad += 1
    causes = ", ".join(f"{c} {n}×{k}" for (c, k), n in sorted(want.items())) or "none"
    print(f"{name}: dmesg + trace; {len(truth)} failed cma_alloc in the trace, all diagnosed: {causes}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
