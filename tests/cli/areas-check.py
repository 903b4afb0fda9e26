#!/usr/bin/env python3
"""tests/cli/areas-check.py CMASIM DIR — every operation of every area of a recording matched.

DIR is a recording of a boot with several CMA areas (e.g. `cma=32M hugetlb_cma=1G`). This
script counts, independently of cmasim, the operations of each area in DIR/trace.txt (one per
cma_alloc_finish and per cma_release event, by name=), then runs `cmasim replay --strict --json
DIR` and passes only if it exits 0, lists every traced area, and for each area replayed as
many operations as the trace has, all matched. Exit 0 pass, 1 fail.
"""
import collections
import json
import re
import subprocess
import sys


def main():
    cmasim, d = sys.argv[1], sys.argv[2]
    want = collections.Counter()
    ev = re.compile(r": (cma_alloc_finish|cma_release): name=(\S+) ")
    with open(f"{d}/trace.txt", errors="replace") as f:
        for line in f:
            m = ev.search(line)
            if m:
                want[m.group(2)] += 1
    r = subprocess.run([cmasim, "replay", "--strict", "--json", d], capture_output=True, text=True)
    bad = 0
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-2000:])
        print(f"FAIL: cmasim replay --strict exited {r.returncode}")
        bad += 1
    try:
        got = {a["name"]: a for a in json.loads(r.stdout)["areas"]}
    except (ValueError, KeyError) as e:
        print(f"FAIL: no areas[] in the JSON report ({e})")
        return 1
    if len(want) < 2:
        print(f"FAIL: the trace has operations on {len(want)} area(s), {sorted(want)}: not a several-area recording")
        bad += 1
    for name, n in sorted(want.items()):
        a = got.get(name)
        if a is None:
            print(f"FAIL: area {name} ({n} traced operations) is not in the replay's areas {sorted(got)}")
            bad += 1
            continue
        ok = a["ops"] == n and a["matched"] == n
        print(f"{'ok' if ok else 'FAIL'}: area {name}: base_pfn {a['base_pfn']:#x}, {a['count']} pages, order_per_bit "
              f"{a['order_per_bit']}: {n} traced operations, {a['ops']} replayed, {a['matched']} matched ({a['source']})")
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
