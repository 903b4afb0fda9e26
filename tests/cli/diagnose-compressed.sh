#!/bin/sh
# tests/cli/diagnose-compressed.sh CMASIM LOG — the same log as plain text, gzip, xz and zstd
# (and gzip through stdin) gives the same `cmasim diagnose --json` (file names aside), and a
# truncated or corrupt one exits 2 naming the file and the format.
set -u
C=$1 L=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/cmasim-compressed.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cp "$L" "$T/log"
gzip -c "$T/log" > "$T/log.gz"; xz -c "$T/log" > "$T/log.xz"; zstd -q -c "$T/log" > "$T/log.zst"
cat "$T/log.gz" > "$T/renamed.txt" # the name says text; the bytes say gzip
"$C" diagnose --json "$T/log" | grep -v '"file"' > "$T/plain.json"
for f in log.gz log.xz log.zst renamed.txt; do
	"$C" diagnose --json "$T/$f" | grep -v '"file"' > "$T/$f.json"
	cmp -s "$T/plain.json" "$T/$f.json" || { diff "$T/plain.json" "$T/$f.json" | head; echo "FAIL: $f differs from the plain log"; exit 1; }
	echo "ok: $f gives the plain log's diagnosis"
done
"$C" diagnose --json - < "$T/log.gz" | grep -v '"file"' > "$T/stdin.json"
cmp -s "$T/plain.json" "$T/stdin.json" || { echo "FAIL: gzip on stdin differs"; exit 1; }
echo "ok: gzip on stdin"
head -c 200 "$T/log.xz" > "$T/cut.xz"
"$C" diagnose "$T/cut.xz" > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "cut.xz: xz: " "$T/err" || { cat "$T/err"; echo "FAIL: truncated xz: exit $rc"; exit 1; }
echo "ok: truncated xz exits 2: $(cat "$T/err")"
printf '\037\213garbage' > "$T/bad.gz"
"$C" diagnose "$T/bad.gz" > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "bad.gz: gzip: " "$T/err" || { cat "$T/err"; echo "FAIL: corrupt gzip: exit $rc"; exit 1; }
echo "ok: corrupt gzip exits 2: $(cat "$T/err")"
