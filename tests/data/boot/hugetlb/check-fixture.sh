#!/bin/sh
# check-fixture.sh CMASIM FIXTURE — the `cma: …` and `hugetlb_cma: …` lines of a real
# boot (FIXTURE: a log or excerpt of this folder) must equal, in order, the ones
# `cmasim boot` predicts from the kernel version (file name), the -m and the
# -append arguments of the fixture's first line (the qemu command).
cmasim=$1; f=$2
kv=$(basename "$f" | cut -d- -f1)
mem=$(head -1 "$f" | sed -n 's/.* -m \([0-9]*[MG]\) .*/\1/p')
args=$(head -1 "$f" | sed -n "s/.*memblock=debug \(.*\)'\$/\1/p")
[ -n "$mem" ] && [ -n "$args" ] || { echo "cannot read -m / -append from $f" >&2; exit 2; }
real=$(grep -E '^\[ *[0-9.]+\] (hugetlb_cma|cma): ' "$f" | sed 's/^\[ *[0-9.]*\] //')
model=$("$cmasim" boot --kernel "$kv" --mem "$mem" --cmdline "$args" --json |
  python3 -c 'import json,sys; [print(l) for l in json.load(sys.stdin)["log"] if l.startswith(("cma: ","hugetlb_cma: "))]')
echo "kernel $kv, -m $mem, '$args'"
echo "--- real"; printf '%s\n' "$real"
echo "--- model"; printf '%s\n' "$model"
[ "$real" = "$model" ] || { echo "MISMATCH" >&2; exit 1; }
echo "match"
