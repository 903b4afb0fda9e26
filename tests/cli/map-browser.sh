#!/bin/sh
# tests/cli/map-browser.sh CMASIM INPUT WORKDIR PLAN — `cmasim map` rendered by a real browser:
# chromium-headless-shell dumps the DOM it built from the SVG (both panels and the plan panel
# there, the failure markers parsed) and takes a screenshot that must be a real picture (a
# PNG of the asked size, not one colour, read with python3's zlib); then the HTML report
# (`map --html`, with the plan): --dump-dom and a 1400×900 screenshot, checked by
# map-html-check.py (failure rows = the trace's failed allocations, each linked to its marker,
# the inline script ran, the screenshot not blank).  The screenshot is kept as a CI artefact:
# WORKDIR/report.png (its path printed).  Exit 77 (ctest SKIP) only when
# chromium-headless-shell is not installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cmasim=$1 input=$2 work=$3 plan=$4
browser=$(command -v chromium-headless-shell || true)
if [ -z "$browser" ]; then echo "SKIPPED: chromium-headless-shell is not installed (Debian package chromium-headless-shell)"; exit 77; fi
mkdir -p "$work"
svg=$work/browser-map.svg png=$work/browser-map.png dom=$work/browser-map.dom
rm -f "$svg" "$png" "$dom"
"$cmasim" map "$input" -o "$svg" --plan "$plan"
flags="--no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=$work/chromium-profile"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --dump-dom "file://$svg" > "$dom" 2> "$work/chromium-dom.log" || { cat "$work/chromium-dom.log"; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --window-size=1200,1060 --screenshot="$png" "file://$svg" > "$work/chromium-shot.log" 2>&1 || { cat "$work/chromium-shot.log"; exit 1; }
python3 - "$svg" "$dom" "$png" <<'PY'
import re, struct, sys, zlib
svg, dom, png = sys.argv[1:]
d = open(dom, encoding="utf-8", errors="replace").read()
s = open(svg, encoding="utf-8").read()
for panel in ("panel-occupancy", "panel-fragmentation", "panel-plan"):
    n = len(re.findall(r'class="%s"' % panel, d))
    assert n == 1, f"the browser's DOM has {n} {panel}"
want = len(re.findall(r'class="failure"', s))
got = len(re.findall(r'class="failure"', d))
assert got == want, f"the browser's DOM has {got} failure markers, the SVG {want}"
assert "parsererror" not in d, "the browser could not parse the SVG"
b = open(png, "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h, ctype = 8, b"", 0, 0, 2
while pos < len(b):
    n, kind = struct.unpack(">I4s", b[pos:pos + 8])
    body = b[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp + 1
# undo the PNG filters, counting distinct colours on a grid of sample rows
prev = bytearray(w * bpp)
colours, inked = set(), 0
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
    if y % 4 == 0:
        for x in range(0, w, 4):
            px = bytes(line[x * bpp:x * bpp + 3])
            colours.add(px)
            inked += px != b"\xff\xff\xff"
print(f"screenshot {png}: {w}x{h}, {len(b)} bytes, {len(colours)} distinct colours sampled, {inked} non-white samples")
assert (w, h) == (1200, 1060), (w, h)
assert len(b) > 20000, "a suspiciously small screenshot"
assert len(colours) >= 8, "the screenshot is (nearly) one colour"
assert inked > 2000, "the screenshot is (nearly) blank"
print("ok: the browser rendered the map")
PY
html=$work/report.html rpng=$work/report.png rdom=$work/report.dom
rm -f "$html" "$rpng" "$rdom"
"$cmasim" map "$input" --html "$html" --plan "$plan"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --dump-dom "file://$html" > "$rdom" 2> "$work/chromium-report-dom.log" || { cat "$work/chromium-report-dom.log"; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --window-size=1400,900 --screenshot="$rpng" "file://$html" > "$work/chromium-report-shot.log" 2>&1 || { cat "$work/chromium-report-shot.log"; exit 1; }
python3 "$here/map-html-check.py" "$input" "$html" "$rdom" "$rpng" 1400 900
echo "artefact: $rpng"
