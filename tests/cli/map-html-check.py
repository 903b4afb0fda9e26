#!/usr/bin/env python3
# tests/cli/map-html-check.py INPUT REPORT.html DOM.html SCREENSHOT.png [W H] — checks `cmasim map
# --html` as a real browser (chromium-headless-shell, run by map-browser.sh) rendered it:
#   - the file is self-contained: no <script src>, <link>, <img>, @import, url(http…), <iframe>;
#   - the rendered DOM (after the inline JS ran: body[data-ready] = its count of rows) has one
#     tr.failure-row per failed allocation of INPUT's trace (counted here from trace.txt:
#     cma_alloc_finish with pfn=0xffffffffffffffff or a non-zero errorno; in a log without a
#     trace, "alloc failed, req-size" lines), the same count in #failure-count, one
#     g.failure#failure-N marker per row, and every row's link pointing at an existing marker;
#     the diagnose table is there (one tr.finding-row at least when something failed);
#   - the screenshot is a W×H PNG (default 1400×900) that is not blank: the variance of its
#     luminance, read with python's zlib (no python3-png needed), is well above zero.
import os, re, sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from map_common import png_rows, trace_outcomes

inp, report, dom, png, *size = sys.argv[1:]
W, H = (int(size[0]), int(size[1])) if size else (1400, 900)

failed, _ = trace_outcomes(inp)

src = open(report, encoding="utf-8").read()
for bad in (r"<script[^>]*\bsrc=", r"<link\b", r"<img\b", r"<iframe\b", r"@import", r"url\(\s*['\"]?https?:", r"\bsrc=\"https?:"):
    assert not re.search(bad, src, re.I), f"{report}: not self-contained ({bad})"


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.links, self.markers, self.findings, self.plan_rows = [], [], set(), 0, 0
        self.ready, self.count_text, self._in_count = None, "", False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "body":
            self.ready = a.get("data-ready")
        if tag == "tr" and "failure-row" in cls:
            self.rows.append(a.get("data-target"))
        if tag == "tr" and "finding-row" in cls:
            self.findings += 1
        if tag == "tr" and "plan-row" in cls:
            self.plan_rows += 1
        if tag == "a" and (a.get("href") or "").startswith("#failure-"):
            self.links.append(a["href"][1:])
        if tag == "g" and "failure" in cls and a.get("id"):
            self.markers.add(a["id"])
        if tag == "span" and a.get("id") == "failure-count":
            self._in_count = True

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_count = False

    def handle_data(self, data):
        if self._in_count:
            self.count_text += data


d = Dom()
d.feed(open(dom, encoding="utf-8", errors="replace").read())
print(f"{dom}: {len(d.rows)} failure rows, {len(d.markers)} failure markers, {d.findings} diagnose rows, "
      f"{d.plan_rows} plan rows, data-ready={d.ready}; the trace has {failed} failed allocations")
assert d.ready is not None, "the inline script did not run (body has no data-ready)"
assert int(d.ready) == len(d.rows), f"the script saw {d.ready} rows, the DOM has {len(d.rows)}"
assert len(d.rows) == failed, f"{len(d.rows)} rows in the failures table, the trace has {failed} failed allocations"
assert d.count_text.strip() == str(failed), f"#failure-count says {d.count_text!r}, the trace {failed}"
assert len(d.markers) == failed, f"{len(d.markers)} failure markers in the picture, the trace {failed}"
assert set(d.rows) <= d.markers and set(d.links) <= d.markers, "a failure row links to no marker"
if failed:
    assert d.findings >= 1, "no diagnose row though allocations failed"

w, h, size, rows, bpp = png_rows(png)
n = s = s2 = 0
for y, line in enumerate(rows):
    if y % 2 == 0:
        for x in range(0, w, 2):
            r, g, bl = line[x * bpp:x * bpp + 3]
            lum = 0.299 * r + 0.587 * g + 0.114 * bl
            n += 1; s += lum; s2 += lum * lum
mean = s / n
var = s2 / n - mean * mean
print(f"screenshot {os.path.abspath(png)}: {w}x{h}, {size} bytes, luminance mean {mean:.1f}, variance {var:.1f}")
assert (w, h) == (W, H), f"screenshot {w}x{h}, asked {W}x{H}"
assert var > 50, f"the screenshot is (nearly) blank: luminance variance {var:.1f}"
print("ok: the browser rendered the HTML report")
