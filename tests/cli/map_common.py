"""tests/cli/map_common.py — what the map checks share: the trace's outcomes, counted
independently of cmasim, and a PNG reader (python's zlib; no python3-png needed)."""
import os
import re
import struct
import zlib


def trace_outcomes(inp, area=None):
    """(failed, succeeded) allocations of INPUT (a file or a trace folder): cma_alloc_finish
    with pfn=0xffffffffffffffff or a non-zero errorno failed, the others succeeded; in a log
    without a trace, one failure per "alloc failed, req-size" line.  AREA: only that area's
    (name=AREA)."""
    trace = os.path.join(inp, "trace.txt") if os.path.isdir(inp) else inp
    failed = succeeded = 0
    with open(trace, errors="replace") as f:
        for line in f:
            if "cma_alloc_finish:" not in line or (area and f" name={area} " not in line):
                continue
            m = re.search(r"errorno=(-?\d+)", line)
            if "pfn=0xffffffffffffffff" in line or (m and int(m.group(1)) != 0):
                failed += 1
            else:
                succeeded += 1
    if failed == 0:
        with open(trace, errors="replace") as f:
            failed = sum("alloc failed, req-size" in line for line in f)
    return failed, succeeded


def png_rows(path):
    """(width, height, file size, rows): an 8-bit RGB/RGBA PNG's rows with the filters undone
    (each row a bytearray of width × bytes-per-pixel), bytes per pixel last."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
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
    rows = []
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
        rows.append(line)
    return w, h, len(b), rows, bpp
