#!/bin/sh
# tests/cli/emulate-compare.sh CMASIM RECORDING_DIR — `cmasim emulate` against a real recording.
# Emulates RECORDING_DIR's workload with its kernel (kernel.txt release=), its RAM (qemu_cmd.txt
# -m) and its command line (cmdline.txt) into a temporary folder, then checks
#  (a) `cmasim replay --strict` of the emulated folder exits 0 (every operation matched);
#  (b) the `cma_test: v1` lines of the emulated dmesg.txt are those of the real one, timestamps
#      stripped and the page allocator's pfns (`pfn=0x… cma=0`, not modelled) masked, as
#      tests/test_kernel_log.cpp compares them;
#  (c) trace events: the cma_alloc_finish (pfn, count, align, errorno — absent on 6.1, read as
#      0) and cma_release (pfn, count) events, boot-time ones included, and the step markers
#      between them, are the same sequence in both trace.txt files (task names, pids,
#      timestamps, flags and the hashed page= pointer ignored);
#  (d) steps: every step's rc and command are those of the real steps.txt (and a `huge` step's
#      nr_hugepages= free_hugepages=); the bitmap's free pages of all areas after every step,
#      derived from each trace.txt by steps-from-trace.awk
#      (independently of cmasim), are equal; the emulated steps.txt's `CmaFree: K kB (from
#      the bitmap)` is 4 * those free pages and its CmaTotal is the real steps.txt's;
#  (e) kernel lines: the dmesg lines that start with `cma: ` or `cma_test: ` are equal (the
#      `cma: Reserved …` line before `Kernel command line:` included; the emulation writes
#      of the rest of the boot log only the banner and the command line), timestamps
#      stripped, hashed pointers (`(____ptrval____)`, 16 hex digits) masked as <ptr> and the
#      page allocator's pfns masked as in (b).  Excluded, by the commented patterns in
#      klines(): the module loader's two taint lines (`cma_test: loading out-of-tree module
#      taints kernel.`, `cma_test: module verification failed: …`), which are not the
#      module's and are not emulated, and mm/cma.c's `alloc failed` line, checked in (f);
#  (f) failure lines: that line is pr_err_ratelimited (10 per 5 s) and the emulated times
#      are not the real ones, so each side's failure lines must be what lib/ratelimit.c
#      gives with that side's own times, and the same text where both sides printed one;
#  (g) counters: cma_sysfs.txt (the area's /sys/kernel/mm/cma files, recorded on 7.x) byte for
#      byte, and vmstat_cma.txt's cma_alloc_success / cma_alloc_fail.
# Each check prints a one-line result with counts; on a mismatch a short diff, and the exit
# status is 1 (all checks run first).
# A recording without kernel.txt / qemu_cmd.txt (tests/data/recorded/regress-*: only the files
# replay needs) gives its kernel from the dmesg's `Linux version` line and its RAM from the
# `Memory: …K/<total>K available` line.
set -u
C=$1 R=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/cmasim-emulate.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
name=$(basename "$R")
kernel=$(sed -n 's/^release=//p' "$R/kernel.txt" 2>/dev/null)
[ -n "$kernel" ] || kernel=$(sed -n 's/^\[[ 0-9.]*\] Linux version \([^ ]*\) .*/\1/p' "$R/dmesg.txt" | head -1)
mem=$(sed -n 's/.* -m \([^ ]*\) .*/\1/p' "$R/qemu_cmd.txt" 2>/dev/null)
[ -n "$mem" ] || mem=$(sed -n 's/^\[[ 0-9.]*\] Memory: [0-9]*K\/\([0-9]*\)K available.*/\1/p' "$R/dmesg.txt" |
	head -1 | awk '$1 > 0 && $1 % 1024 == 0 {print $1 / 1024 "M"}')
cmdline=$(cat "$R/cmdline.txt")
if [ -z "$kernel" ] || [ -z "$mem" ]; then echo "FAIL: no kernel/mem in $R" >&2; exit 1; fi
# record.sh --insmod-args: init.sh's `@@INSMOD … params=cma_base=X cma_size=Y <extra words>`
insmod_extra=$(sed -n 's/^@@INSMOD uptime=[0-9.]* params=cma_base=[^ ]* cma_size=[^ ]* *//p' "$R/steps.txt" | head -1)
"$C" emulate --kernel "$kernel" --mem "$mem" --cmdline "$cmdline" --workload "$R/workload.txt" --out "$T/out" \
  ${insmod_extra:+--insmod-args "$insmod_extra"} \
  || { echo "FAIL: cmasim emulate exited $?" >&2; exit 1; }
E=$T/out
fail=0
# mismatch WHAT FILE_A FILE_B: print a short diff (real: -, emulated: +) and mark the run failed
mismatch() {
  diff -u --label "real $2" --label "emulated $3" "$2" "$3" | head -40
  echo "FAIL: $1 ($name)" >&2
  fail=1
}

# --- (a) replay --strict of the emulation ---
"$C" replay --strict "$E" > "$T/replay.txt" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
  tail -40 "$T/replay.txt"; echo "FAIL: cmasim replay --strict of the emulation exited $rc" >&2; fail=1
else
  grep '^operations:' "$T/replay.txt"
fi

# --- (b) cma_test: v1 lines ---
v1() {
  sed -n 's/^\[[ 0-9.]*\] //; /^cma_test: v1 /p' "$1" | sed 's/pfn=0x[0-9a-f]* cma=0\([^0-9]\|$\)/pfn=<buddy> cma=0\1/'
}
v1 "$R/dmesg.txt" > "$T/real.v1"
v1 "$E/dmesg.txt" > "$T/emulated.v1"
n=$(wc -l < "$T/real.v1")
if [ "$n" -eq 0 ]; then echo "FAIL: no cma_test: v1 lines in $R/dmesg.txt" >&2; fail=1
elif ! cmp -s "$T/real.v1" "$T/emulated.v1"; then mismatch "the emulated cma_test: v1 lines differ from $R/dmesg.txt" "$T/real.v1" "$T/emulated.v1"
else echo "cma_test: v1 lines: $n of $n equal ($name)"
fi

# --- (c) trace events ---
# one line per cma_alloc_finish / cma_release event and per step marker, fields by name
events() {
  awk '
    function field(k,    i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
    /^#/ { next }
    / tracing_mark_write: step [0-9]+:/ { s = $0; sub(/.* tracing_mark_write: /, "", s); print "mark " s; next }
    / cma_alloc_finish: / { e = field("errorno"); if (e == "") e = 0
      print "cma_alloc_finish pfn=" field("pfn") " count=" field("count") " align=" field("align") " errorno=" e; next }
    / cma_release: / { print "cma_release pfn=" field("pfn") " count=" field("count"); next }
  ' "$1"
}
events "$R/trace.txt" > "$T/real.ev"
events "$E/trace.txt" > "$T/emulated.ev"
n=$(grep -vc '^mark ' "$T/real.ev")
if [ "$n" -eq 0 ]; then echo "FAIL: no cma_alloc_finish/cma_release events in $R/trace.txt" >&2; fail=1
elif ! cmp -s "$T/real.ev" "$T/emulated.ev"; then
  eq=$(grep -vc '^mark ' "$T/emulated.ev")
  mismatch "trace events differ: $n real, $eq emulated (cma_alloc_finish, cma_release)" "$T/real.ev" "$T/emulated.ev"
else echo "trace events: $n of $n equal (cma_alloc_finish, cma_release; $(grep -c '^mark ' "$T/real.ev") step markers)"
fi

# --- (d) steps: rc and command, CmaFree from the bitmap, CmaTotal ---
# every area: the default one and, with hugetlb_cma=, hugetlb0 (6.15+: "Reserved N MiB in K range")
mib=$(sed -n 's/^\[[ 0-9.]*\] cma: Reserved \([0-9]*\) MiB .*/\1/p' "$R/dmesg.txt" | awk '{ s += $1 } END { if (NR) print s }')
if [ -z "$mib" ]; then echo "FAIL: no 'cma: Reserved N MiB' line in $R/dmesg.txt" >&2; fail=1; mib=0; fi
area=$((mib * 256))
rc_lines() { sed -n 's/^\(@@STEP [0-9]* rc=[^ ]* cmd=.*\) | .*\( nr_hugepages=[0-9]* free_hugepages=[0-9]*\)$/\1\2/p; t; s/^\(@@STEP [0-9]* rc=[^ ]* cmd=.*\) | .*/\1/p' "$1"; }
rc_lines "$R/steps.txt" > "$T/real.rc"
rc_lines "$E/steps.txt" > "$T/emulated.rc"
n=$(wc -l < "$T/real.rc")
if [ "$n" -eq 0 ] || ! cmp -s "$T/real.rc" "$T/emulated.rc"; then
  mismatch "steps.txt: step rc/cmd differ" "$T/real.rc" "$T/emulated.rc"
else echo "steps: $n of $n rc and cmd equal"
fi
if awk -v area="$area" -f "$HERE/steps-from-trace.awk" "$R/trace.txt" > "$T/real.free" &&
   awk -v area="$area" -f "$HERE/steps-from-trace.awk" "$E/trace.txt" > "$T/emulated.free"; then
  n=$(wc -l < "$T/real.free")
  if [ "$n" -eq 0 ] || ! cmp -s "$T/real.free" "$T/emulated.free"; then
    mismatch "free pages after each step (steps-from-trace.awk, area $area pages) differ between the traces" "$T/real.free" "$T/emulated.free"
  else echo "steps: $n of $n free pages from the trace equal (area $area pages)"
  fi
  # the emulated steps.txt's CmaFree (from the bitmap) against the real trace's free pages
  awk '{print "STEP", $2, $3 * 4 " kB"}' "$T/real.free" > "$T/real.kb"
  sed -n 's/^@@STEP \([0-9]*\) .* | .*CmaFree: \([0-9]*\) kB (from the bitmap).*/STEP \1 \2 kB/p' "$E/steps.txt" > "$T/emulated.kb"
  if ! cmp -s "$T/real.kb" "$T/emulated.kb"; then
    mismatch "emulated steps.txt CmaFree (from the bitmap) is not 4 * the real trace's free pages" "$T/real.kb" "$T/emulated.kb"
  else echo "steps: $n of $n CmaFree-from-bitmap equal"
  fi
else
  echo "FAIL: steps-from-trace.awk failed on $R/trace.txt or the emulated trace.txt" >&2; fail=1
fi
sed -n 's/^@@STEP \([0-9]*\) .* | .*\(CmaTotal: [0-9]* kB\).*/STEP \1 \2/p' "$R/steps.txt" > "$T/real.total"
sed -n 's/^@@STEP \([0-9]*\) .* | .*\(CmaTotal: [0-9]* kB\).*/STEP \1 \2/p' "$E/steps.txt" > "$T/emulated.total"
n=$(wc -l < "$T/real.total")
if [ "$n" -eq 0 ] || ! cmp -s "$T/real.total" "$T/emulated.total"; then
  mismatch "steps.txt CmaTotal differs" "$T/real.total" "$T/emulated.total"
else echo "steps: $n of $n CmaTotal equal ($(sed -n '1s/^STEP [0-9]* //p' "$T/real.total"))"
fi

# --- (e) kernel lines: cma: and cma_test: from the command line on ---
FAILED_LINE='^cma: (__)?cma_alloc(_frozen)?: [^ ]*: alloc failed, req-size: '
klines() {
  # the whole log: before `Kernel command line:` a real one has only `cma: Reserved …`
  sed 's/^\[[ 0-9.]*\] //' "$1" | grep -E '^(cma|cma_test): ' |
    # Excluded: the module loader's lines, printed with the module's name as prefix on the
    # first out-of-tree, unsigned insmod of the boot (kernel/module/); they are not
    # cma_test's own lines and `cmasim emulate` does not write them.
    grep -vE '^cma_test: (loading out-of-tree module taints kernel\.|module verification failed: signature and/or required key missing - tainting kernel)$' |
    # Excluded here, checked in (f): mm/cma.c's failure line, pr_err_ratelimited (5.14+: 10
    # per 5 s), whose window follows the log's timestamps — the emulation's are not the real
    # ones (emulated.txt: "the ratelimit of failure lines follows these emulated times").
    grep -vE "$FAILED_LINE" |
    sed -e 's/(____ptrval____)/<ptr>/g' \
        -e 's/\([^x0-9a-f]\)[0-9a-f]\{16\}\([^0-9a-f]\|$\)/\1<ptr>\2/g' \
        -e 's/pfn=0x[0-9a-f]* cma=0\([^0-9]\|$\)/pfn=<buddy> cma=0\1/'
}
klines "$R/dmesg.txt" > "$T/real.k"
klines "$E/dmesg.txt" > "$T/emulated.k"
n=$(wc -l < "$T/real.k")
if [ "$n" -eq 0 ]; then echo "FAIL: no cma:/cma_test: lines in $R/dmesg.txt" >&2; fail=1
elif ! cmp -s "$T/real.k" "$T/emulated.k"; then
  mismatch "kernel lines (cma:, cma_test:) differ: $n real, $(wc -l < "$T/emulated.k") emulated" "$T/real.k" "$T/emulated.k"
else echo "kernel lines: $n of $n equal (cma:, cma_test:; failure lines in (f))"
fi

# --- (f) failure lines under the rate limit ---
# One line per failed cma_alloc() call (one returning NULL), k-th of the boot: `k t printed
# text`, t the time of its failure line, or of its `returned 0…0` line when none was printed.
failures() {
  awk -v pat="$FAILED_LINE" '
    { t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t); s = $0; sub(/^\[[ 0-9.]*\] /, "", s) }
    s ~ /^cma: (__)?cma_alloc(_frozen)?\(cma / { text = ""; ft = ""; next }
    s ~ pat { text = s; ft = t; next }
    s ~ /^cma: (__)?cma_alloc(_frozen)?\(\): returned 0+$/ { k++; print k, (ft != "" ? ft : t), (text != "" ? 1 : 0), text; text = ""; ft = ""; next }
  ' "$1"
}
failures "$R/dmesg.txt" > "$T/real.fail"
failures "$E/dmesg.txt" > "$T/emulated.fail"
# A failure printed on either side was not __GFP_NOWARN, so it goes through the rate limit on
# both; one suppressed on both sides cannot change the limit's state (lib/ratelimit.c: a
# suppressed call neither starts a window nor counts as printed), so replaying the union of
# the printed ones through ___ratelimit (interval 5 s, burst 10) with each side's own times
# must give exactly the lines that side printed, with the same text where both printed.
awk '
  # The kernel compares jiffies (Debian arm64: HZ=250, 4 ms), the log has microseconds: within
  # 2 jiffies of the end of the window, whether a new window began is read from what was printed
  function allow(side, now, seen,    edge) {
    if (!(side in begin)) { begin[side] = now; printed[side] = 0 }
    edge = now - (begin[side] + 5)
    if (edge > 0.008 || (edge > -0.008 && seen && printed[side] >= 10)) { begin[side] = now; printed[side] = 0 }
    if (printed[side] < 10) { printed[side]++; return 1 }
    return 0
  }
  FNR == 1 { f++ }
  { k = $1; t[f, k] = $2; p[f, k] = $3; x = $0; sub(/^[^ ]* [^ ]* [^ ]* ?/, "", x); txt[f, k] = x; if (k > n[f]) n[f] = k }
  END {
    if (n[1] != n[2]) { printf "failed cma_alloc calls: %d real, %d emulated\n", n[1], n[2]; exit 1 }
    bad = 0; shown = 0; pr = 0; pe = 0
    for (k = 1; k <= n[1]; k++) {
      pr += p[1, k]; pe += p[2, k]
      if (!p[1, k] && !p[2, k]) continue
      for (s = 1; s <= 2; s++) {
        want = allow(s, t[s, k] + 0, p[s, k])
        if (want != p[s, k]) { bad++; if (shown++ < 10) printf "failure %d (%s at %s): printed %d, the rate limit gives %d\n", k, (s == 1 ? "real" : "emulated"), t[s, k], p[s, k], want }
      }
      if (p[1, k] && p[2, k] && txt[1, k] != txt[2, k]) { bad++; if (shown++ < 10) printf "failure %d: real \"%s\", emulated \"%s\"\n", k, txt[1, k], txt[2, k] }
    }
    printf "failure lines: %d failed cma_alloc calls; printed %d real, %d emulated, each as the rate limit gives it: %s\n", n[1], pr, pe, (bad ? bad " mismatches" : "all")
    exit bad ? 1 : 0
  }
' "$T/real.fail" "$T/emulated.fail" > "$T/fail.txt"
rc=$?
cat "$T/fail.txt"
if [ "$rc" -ne 0 ]; then echo "FAIL: failure lines do not follow the rate limit ($name)" >&2; fail=1; fi

# --- (g) counters: /sys/kernel/mm/cma (when recorded) and vmstat's cma_alloc_* ---
if [ -f "$R/cma_sysfs.txt" ]; then
  if [ ! -f "$E/cma_sysfs.txt" ]; then echo "FAIL: the recording has cma_sysfs.txt, the emulation none ($name)" >&2; fail=1
  elif ! cmp -s "$R/cma_sysfs.txt" "$E/cma_sysfs.txt"; then mismatch "/sys/kernel/mm/cma files differ" "$R/cma_sysfs.txt" "$E/cma_sysfs.txt"
  else echo "sysfs: $(wc -l < "$R/cma_sysfs.txt") of $(wc -l < "$R/cma_sysfs.txt") files equal ($(tr '\n' ' ' < "$R/cma_sysfs.txt" | sed 's|/sys/kernel/mm/cma/||g; s/ $//'))"
  fi
fi
if grep -q '^cma_alloc_' "$R/vmstat_cma.txt" 2>/dev/null; then
  grep '^cma_alloc_' "$R/vmstat_cma.txt" > "$T/real.vm"
  grep '^cma_alloc_' "$E/vmstat_cma.txt" > "$T/emulated.vm" 2>/dev/null
  if ! cmp -s "$T/real.vm" "$T/emulated.vm"; then mismatch "vmstat cma_alloc_* counters differ" "$T/real.vm" "$T/emulated.vm"
  else echo "vmstat: $(tr '\n' ' ' < "$T/real.vm" | sed 's/ $//') equal"
  fi
fi

[ "$fail" = 0 ] || exit 1
echo "ok: the emulation matches $name"
