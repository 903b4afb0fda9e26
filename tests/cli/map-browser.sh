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
python3 - "$here" "$svg" "$dom" "$png" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
from map_common import png_rows
svg, dom, png = sys.argv[2:]
d = open(dom, encoding="utf-8", errors="replace").read()
s = open(svg, encoding="utf-8").read()
for panel in ("panel-occupancy", "panel-fragmentation", "panel-plan"):
    n = len(re.findall(r'class="%s"' % panel, d))
    assert n == 1, f"the browser's DOM has {n} {panel}"
want = len(re.findall(r'class="failure"', s))
got = len(re.findall(r'class="failure"', d))
assert got == want, f"the browser's DOM has {got} failure markers, the SVG {want}"
assert "parsererror" not in d, "the browser could not parse the SVG"
w, h, size, rows, bpp = png_rows(png)
colours, inked = set(), 0
for y, line in enumerate(rows):
    if y % 4 == 0:
        for x in range(0, w, 4):
            px = bytes(line[x * bpp:x * bpp + 3])
            colours.add(px)
            inked += px != b"\xff\xff\xff"
print(f"screenshot {png}: {w}x{h}, {size} bytes, {len(colours)} distinct colours sampled, {inked} non-white samples")
assert (w, h) == (1200, 1060), (w, h)
assert size > 20000, "a suspiciously small screenshot"
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
