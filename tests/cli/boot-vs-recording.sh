#!/bin/sh
# tests/cli/boot-vs-recording.sh CMASIM DIR — `cmasim boot` predicts a real recording's areas.
#
# DIR is a folder `cmasim record` wrote.  Its kernel series (kernel.txt's release=), RAM and
# NUMA nodes (qemu_cmd.txt: -m, one `-numa node` per node) and command line (cmdline.txt) are
# given to `cmasim boot`; the test passes only if the boot model prints the real boot's
# `cma: Reserved …` lines, in the same order, word for word, and the Memory: line's
# `NK cma-reserved`.  Exit 0 pass, 1 fail.
set -u
C=$1 D=$2
rel=$(sed -n 's/^release=//p' "$D/kernel.txt")
series=$(echo "$rel" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
mem=$(sed -E 's/.* -m ([0-9]+[MG]) .*/\1/' "$D/qemu_cmd.txt")
nodes=$(grep -o -- '-numa node' "$D/qemu_cmd.txt" | wc -l)
[ "$nodes" -ge 1 ] || nodes=1
cmdline=$(cat "$D/cmdline.txt")
echo "cmasim boot --kernel $series --mem $mem --numa $nodes --cmdline '$cmdline'"
"$C" boot --kernel "$series" --mem "$mem" --numa "$nodes" --cmdline "$cmdline" > boot.txt || { cat boot.txt; exit 1; }
grep -oE 'cma: Reserved [0-9]+ MiB (at 0x[0-9a-f]+( on node -?[0-9]+)?|in [0-9]+ ranges?)' "$D/dmesg.txt" > want.txt
grep -E '^cma: Reserved ' boot.txt > got.txt
sed -nE 's/.* ([0-9]+K) cma-reserved.*/\1/p' "$D/dmesg.txt" | head -n 1 > want-k.txt
sed -nE 's/^Memory: … ([0-9]+K) cma-reserved$/\1/p' boot.txt > got-k.txt
echo "real:"; cat want.txt want-k.txt
echo "model:"; cat got.txt got-k.txt
[ -s want.txt ] && cmp -s want.txt got.txt && [ -s want-k.txt ] && cmp -s want-k.txt got-k.txt || { echo FAIL; cat boot.txt; exit 1; }
echo ok
