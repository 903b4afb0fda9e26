#!/usr/bin/env python3
# tests/cli/map-check.py CMASIM INPUT OUT.svg [cmasim map options…] — runs `cmasim map` and checks
# the SVG: well-formed XML, both panels, and one class="failure" element per failed allocation
# in INPUT's trace (a cma_alloc_finish with pfn=0xffffffffffffffff or a non-zero errorno), or
# in a log without a trace, per "alloc failed, req-size" line.  The SVG is also validated by
# xmllint --noout (Debian libxml2-utils: a missing xmllint fails the test, it does not skip).
# --area NAME (passed to cmasim as well): only that area's allocations are counted.
# --check-spans (not passed to cmasim): one class="span" per successful allocation (a
# cma_alloc_finish with a real pfn and errorno 0) — for traces that release nothing allocated
# before they began, and not binned.
import os, re, shutil, subprocess, sys, xml.etree.ElementTree as ET
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from map_common import trace_outcomes
cmasim, inp, out, *extra = sys.argv[1:]
check_spans = "--check-spans" in extra
extra = [e for e in extra if e != "--check-spans"]
r = subprocess.run([cmasim, "map", inp, "-o", out] + extra, capture_output=True, text=True)
print(r.stderr, end="")
if r.returncode != 0:
    sys.exit(f"cmasim map exited {r.returncode}")
area = extra[extra.index("--area") + 1] if "--area" in extra else None  # passed to cmasim too
failed, succeeded = trace_outcomes(inp, area)
xmllint = shutil.which("xmllint")
if not xmllint:
    sys.exit("xmllint not found: install libxml2-utils (the SVG must be validated, this test does not skip)")
v = subprocess.run([xmllint, "--noout", out], capture_output=True, text=True)
if v.returncode != 0:
    sys.exit(f"xmllint --noout {out}: exit {v.returncode}\n{v.stderr}")
print(f"xmllint --noout {out}: well-formed")
root = ET.parse(out).getroot()
def classes(e): return (e.get("class") or "").split()
counts = {}
for e in root.iter():
    for c in classes(e):
        counts[c] = counts.get(c, 0) + 1
print(f"{out}: {os.path.getsize(out)} bytes; failures in the trace {failed}; classes {dict(sorted(counts.items()))}")
assert root.tag.endswith("svg"), root.tag
for panel in ("panel-occupancy", "panel-fragmentation", "series-free", "series-largest", "series-aligned"):
    assert counts.get(panel) == 1, f"{panel}: {counts.get(panel)}"
assert counts.get("failure", 0) == failed, f"{counts.get('failure', 0)} failure markers, the trace has {failed} failed allocations"
assert counts.get("span", 0) + counts.get("bin", 0) + counts.get("failure", 0) > 0, "nothing drawn"
if check_spans:
    assert root.get("data-binned") == "0", "binned: no spans to count"
    assert counts.get("span", 0) == succeeded, f"{counts.get('span', 0)} spans, the trace has {succeeded} successful allocations"
    print(f"spans: {succeeded}, one per successful allocation")
if "--plan" in extra:
    assert counts.get("panel-plan") == 1 and counts.get("plan-point", 0) > 0, "no plan panel"
    assert counts.get("non-monotonic", 0) >= 1, "non-monotonic point not marked"
print("ok")
