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
import os, re, struct, sys, zlib
from html.parser import HTMLParser

inp, report, dom, png, *size = sys.argv[1:]
W, H = (int(size[0]), int(size[1])) if size else (1400, 900)

trace = os.path.join(inp, "trace.txt") if os.path.isdir(inp) else inp
failed = 0
with open(trace, errors="replace") as f:
    for line in f:
        if "cma_alloc_finish:" not in line:
            continue
        m = re.search(r"errorno=(-?\d+)", line)
        if "pfn=0xffffffffffffffff" in line or (m and int(m.group(1)) != 0):
            failed += 1
if failed == 0:
    with open(trace, errors="replace") as f:
        failed = sum("alloc failed, req-size" in line for line in f)

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

b = open(png, "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h, ctype, depth = 8, b"", 0, 0, 2, 8
while pos < len(b):
    n, kind = struct.unpack(">I4s", b[pos:pos + 8])
    body = b[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), f"unexpected PNG format: depth {depth}, colour type {ctype}"
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp + 1
prev = bytearray(w * bpp)
n = s = s2 = 0
for y in range(h):
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        up, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + up) & 255
        elif f == 3: line[i] = (line[i] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    prev = line
    if y % 2 == 0:
        for x in range(0, w, 2):
            r, g, bl = line[x * bpp:x * bpp + 3]
            lum = 0.299 * r + 0.587 * g + 0.114 * bl
            n += 1; s += lum; s2 += lum * lum
mean = s / n
var = s2 / n - mean * mean
print(f"screenshot {os.path.abspath(png)}: {w}x{h}, {len(b)} bytes, luminance mean {mean:.1f}, variance {var:.1f}")
assert (w, h) == (W, H), f"screenshot {w}x{h}, asked {W}x{H}"
assert var > 50, f"the screenshot is (nearly) blank: luminance variance {var:.1f}"
print("ok: the browser rendered the HTML report")
