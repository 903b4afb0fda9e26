#!/bin/sh
# tests/cli/emulate-compare.sh CMASIM RECORDING_DIR — `cmasim emulate` against a real recording.
# Emulates RECORDING_DIR's workload with its kernel (kernel.txt release=), its RAM (qemu_cmd.txt
# -m) and its command line (cmdline.txt) into a temporary folder, then checks
#  (a) `cmasim replay --strict` of the emulated folder exits 0 (every operation matched), and
#  (b) the `cma_test: v1` lines of the emulated dmesg.txt are those of the real one, timestamps
#      stripped and the page allocator's pfns (`pfn=0x… cma=0`, not modelled) masked, as
#      tests/test_kernel_log.cpp compares them.
set -u
C=$1 R=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/cmasim-emulate.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
kernel=$(sed -n 's/^release=//p' "$R/kernel.txt")
mem=$(sed -n 's/.* -m \([^ ]*\) .*/\1/p' "$R/qemu_cmd.txt")
cmdline=$(cat "$R/cmdline.txt")
if [ -z "$kernel" ] || [ -z "$mem" ]; then echo "FAIL: no kernel/mem in $R" >&2; exit 1; fi
"$C" emulate --kernel "$kernel" --mem "$mem" --cmdline "$cmdline" --workload "$R/workload.txt" --out "$T/out" \
  || { echo "FAIL: cmasim emulate exited $?" >&2; exit 1; }
"$C" replay --strict "$T/out" > "$T/replay.txt" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$T/replay.txt"; echo "FAIL: cmasim replay --strict of the emulation exited $rc" >&2; exit 1; fi
grep '^operations:' "$T/replay.txt"
v1() {
  sed -n 's/^\[[ 0-9.]*\] //; /^cma_test: v1 /p' "$1" | sed 's/pfn=0x[0-9a-f]* cma=0\([^0-9]\|$\)/pfn=<buddy> cma=0\1/'
}
v1 "$R/dmesg.txt" > "$T/real.v1"
v1 "$T/out/dmesg.txt" > "$T/emulated.v1"
n=$(wc -l < "$T/real.v1")
if [ "$n" -eq 0 ]; then echo "FAIL: no cma_test: v1 lines in $R/dmesg.txt" >&2; exit 1; fi
if ! diff -u "$T/real.v1" "$T/emulated.v1" > "$T/v1.diff"; then
  head -40 "$T/v1.diff"; echo "FAIL: the emulated cma_test: v1 lines differ from $R/dmesg.txt" >&2; exit 1
fi
echo "cma_test: v1 lines: $n of $n equal ($(basename "$R"))"
