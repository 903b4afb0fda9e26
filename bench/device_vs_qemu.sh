#!/bin/bash
# bench/device_vs_qemu.sh CMASIM [OPS] — one workload three ways, in one run:
#   1. the real kernel: `cmasim record` (Debian's arm64 6.12 under qemu-system-aarch64, TCG);
#   2. `cmasim emulate` of the same workload, command line and RAM;
#   3. `cmasim mount` with the same machine, driven by a bash loop doing what the recorder's
#      cma_run does per step: the trace marker, the write (or a 64-byte read), then the
#      counters (proc/meminfo and proc/vmstat) — through FUSE, as a user's session would.
# Baseline: the recording's own workload time (timing.json: workload_end − workload_start,
# the guest running the steps) and its wall time (boot and capture included).  Prints both
# ratios; then checks that what the emulations did is what the kernel did: the recording
# passes tests/cli/emulate-compare.sh (every trace event, step and cma:/cma_test: line) and
# the mount's `cma_test: v1` lines equal the recording's (page-allocator pfns masked).
# Exit 0 when all of it ran and matched; 1 otherwise; 77 when QEMU recording or FUSE is not
# possible here (the reason is printed; never counted as a pass).
set -u
C=$(realpath "$1")
OPS=${2:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${CMASIM_BENCH_OUT:-$ROOT/build/bench-device}
KERNEL=6.12 MEM=1G CMDLINE="cma=64M"
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then echo "SKIPPED: no /dev/fuse or fusermount3"; exit 77; fi
rm -rf "$OUT"; mkdir -p "$OUT"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "=== device bench: $OPS-step workload, Linux $KERNEL, -m $MEM, $CMDLINE"
"$C" workload --seed 4242 --ops "$OPS" --max-pages 2048 --busy --out "$OUT/workload.txt" > /dev/null || exit 1
steps=$(grep -cv '^#' "$OUT/workload.txt")
echo "workload: $steps steps ($OUT/workload.txt)"

# 1. the real kernel
t0=$(now)
"$C" record --kernel "$KERNEL" --mem "$MEM" --cmdline "$CMDLINE" --workload "$OUT/workload.txt" \
	--out "$OUT/rec" --timeout 900 > "$OUT/record.log" 2>&1
rc=$?; t1=$(now)
if [ "$rc" -ne 0 ]; then tail -20 "$OUT/record.log"; echo "FAIL: cmasim record exited $rc"; exit 1; fi
q_wall=$(secs "$t0" "$t1")
q_work=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print("%.3f" % (t["workload_end"] - t["workload_start"]))' "$OUT/rec/timing.json")
echo "QEMU recording: workload $q_work s in the guest, $q_wall s wall (boot, capture)"

# 2. emulate
t0=$(now)
"$C" emulate --kernel "$KERNEL" --mem "$MEM" --cmdline "$CMDLINE" --workload "$OUT/workload.txt" --out "$OUT/emu" > /dev/null || exit 1
t1=$(now); e=$(secs "$t0" "$t1")

# 3. mount, driven by the shell
M=$OUT/mnt
"$C" mount "$M" --kernel "$KERNEL" --mem "$MEM" --cmdline "$CMDLINE" > "$OUT/mount.log" 2>&1 &
MP=$!
trap 'fusermount3 -u "$M" 2>/dev/null; wait $MP 2>/dev/null' EXIT
for _ in $(seq 200); do [ -e "$M/proc/meminfo" ] && break; sleep 0.05; done
[ -e "$M/proc/meminfo" ] || { cat "$OUT/mount.log"; echo "FAIL: the mount did not come up"; exit 1; }
t0=$(now)
n=0
while IFS= read -r line; do
	cmd=${line%%#*}; cmd=${cmd#"${cmd%%[![:space:]]*}"}; cmd=${cmd%"${cmd##*[![:space:]]}"}
	[ -z "$cmd" ] && continue
	n=$((n + 1))
	printf 'step %d: %s' "$n" "$cmd" > "$M/sys/kernel/tracing/trace_marker"
	if [ "$cmd" = read ]; then
		dd if="$M/dev/cma_test" of=/dev/null bs=64 count=1 status=none
	else
		printf '%s' "$cmd" 2>/dev/null > "$M/dev/cma_test"
	fi
	read -r -d '' _ < "$M/proc/meminfo"; read -r -d '' _ < "$M/proc/vmstat"
done < "$OUT/workload.txt"
t1=$(now); m=$(secs "$t0" "$t1")
cat "$M/dmesg" > "$OUT/mount-dmesg.txt"
fusermount3 -u "$M"; wait $MP; trap - EXIT

echo "emulate: $e s; mount (bash loop, $n steps): $m s"
echo "ratio QEMU workload / emulate: $(ratio "$q_work" "$e")x   (QEMU wall / emulate: $(ratio "$q_wall" "$e")x)"
echo "ratio QEMU workload / mount:   $(ratio "$q_work" "$m")x   (QEMU wall / mount: $(ratio "$q_wall" "$m")x)"

# the same results as the kernel
bash "$ROOT/tests/cli/emulate-compare.sh" "$C" "$OUT/rec" > "$OUT/compare.log" 2>&1 || { cat "$OUT/compare.log"; echo "FAIL: emulate differs from the recording"; exit 1; }
grep -E '^(trace events|steps|kernel lines|cma_test)' "$OUT/compare.log" | sed 's/^/emulate vs QEMU: /'
v1() { sed -n 's/^\[[ 0-9.]*\] //; /^cma_test: v1 /p' "$1" | sed 's/pfn=0x[0-9a-f]* cma=0\([^0-9]\|$\)/pfn=<buddy> cma=0\1/'; }
v1 "$OUT/rec/dmesg.txt" > "$OUT/real.v1"; v1 "$OUT/mount-dmesg.txt" > "$OUT/mount.v1"
if ! diff -q "$OUT/real.v1" "$OUT/mount.v1" > /dev/null; then diff "$OUT/real.v1" "$OUT/mount.v1" | head; echo "FAIL: the mount's cma_test lines differ from the recording"; exit 1; fi
echo "mount vs QEMU: cma_test: v1 lines $(wc -l < "$OUT/real.v1") of $(wc -l < "$OUT/real.v1") equal"
echo "PASS: device bench"
