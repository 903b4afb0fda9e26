#!/usr/bin/env bash
# sim/recorder/check-robust.sh DIR — judge a `record.sh --robust` folder.
#
# Fails (exit 1, one line per reason) unless:
#  - the fuzz ran to the end in every writer (@@FUZZ ... status=ok), rmmod succeeded;
#  - dmesg has no Oops, BUG, WARNING, call trace, list corruption or similar;
#  - the module freed everything: as many op=free lines as successful op=alloc
#    lines, and unhog returned every page that hog took;
#  - the CMA bitmap is back to its state before insmod: replaying the trace's
#    cma_alloc_finish (successful ones) and cma_release events between the markers
#    "robust: insmod" and "robust: done" leaves no range allocated, and no release
#    names a range that was not allocated;
#  - the trace ring buffer lost nothing (entries-in-buffer == entries-written).
#  - after rmmod, a freshly loaded module gets the whole area but its first 2 MiB
#    (the boot-time DMA pools) in one allocation (@@VERIFY).
# CmaFree before insmod and after rmmod is printed for information only: freed
# pages sit on per-CPU lists until something drains them, and ordinary movable
# allocations (the fuzzers' own memory) may use CMA pages, so CmaFree drifts.
set -uo pipefail
{ # read whole before running: an edit mid-run cannot break it
DIR=${1:?usage: check-robust.sh DIR}
fail=0
bad() { echo "check-robust: FAIL: $*"; fail=1; }
info() { echo "check-robust: $*"; }

for f in steps.txt dmesg.txt trace.txt; do
	[ -s "$DIR/$f" ] || { echo "check-robust: FAIL: $DIR/$f missing or empty"; exit 1; }
done

fuzz=$(grep -m1 '^@@FUZZ seed=' "$DIR/steps.txt" || true)
info "${fuzz:-no @@FUZZ line}"
case "$fuzz" in *status=ok*) ;; *) bad "fuzz did not complete in every writer" ;; esac
grep -q '^@@RMMOD rc=0' "$DIR/steps.txt" || bad "rmmod cma_test failed"

if grep -nE 'Oops|BUG:|WARNING:|Call trace:|Unable to handle|Internal error|list_(add|del) corruption|refcount_t:|kernel BUG|general protection|use-after-free|bad page state|Bad page' "$DIR/dmesg.txt" | head -n 20; then
	bad "kernel problems in dmesg (above)"
fi

read -r allocs frees hogs unhogs <<<"$(awk '
	/cma_test: v1 op=alloc .* err=0$/ {a++}
	/cma_test: v1 op=free / {f++}
	/cma_test: v1 op=hog / {h++}
	/cma_test: v1 op=unhog / {sub(/.*pages=/, ""); u += $0}
	END {print a+0, f+0, h+0, u+0}' "$DIR/dmesg.txt")"
rejects=$(grep -c 'cma_test: v1 op=reject ' "$DIR/dmesg.txt" || true)
info "module: $allocs allocations, $frees frees, $hogs pages hogged, $unhogs unhogged, $rejects rejected writes"
[ "$allocs" = "$frees" ] || bad "module freed $frees of $allocs allocations"
[ "$hogs" = "$unhogs" ] || bad "module returned $unhogs of $hogs hogged pages"

hdr=$(grep -m1 'entries-in-buffer/entries-written' "$DIR/trace.txt" || true)
read -r inbuf written <<<"$(sed -n 's/.*entries-written: \([0-9]*\)\/\([0-9]*\).*/\1 \2/p' <<<"$hdr")"
if [ -z "${inbuf:-}" ] || [ "$inbuf" != "$written" ]; then
	bad "trace ring buffer overflowed or unreadable ($hdr)"
fi

balance=$(awk '
	/tracing_mark_write: robust: insmod/ {on = 1; next}
	/tracing_mark_write: robust: done/ {on = 0; next}
	!on {next}
	/cma_alloc_finish:/ {
		pfn = ""; cnt = ""; page = ""; err = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^pfn=/) pfn = substr($i, 5)
			else if ($i ~ /^count=/) cnt = substr($i, 7)
			else if ($i ~ /^page=/) page = substr($i, 6)
			else if ($i ~ /^errorno=/) err = substr($i, 9) + 0
		}
		if (page ~ /^0+$/ || pfn == "0xffffffffffffffff" || err != 0) {failed++; next}
		live[pfn " " cnt]++; nalloc++; next
	}
	/cma_release:/ {
		pfn = ""; cnt = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^pfn=/) pfn = substr($i, 5)
			else if ($i ~ /^count=/) cnt = substr($i, 7)
		}
		k = pfn " " cnt
		if (!(k in live) || live[k] == 0) {unknown++; next}
		if (--live[k] == 0) delete live[k]
		nrel++; next
	}
	/cma_alloc_busy_retry:/ {busy++}
	END {
		left = 0; for (k in live) left += live[k]
		printf "%d %d %d %d %d %d\n", nalloc, nrel, failed, busy, left, unknown
	}' "$DIR/trace.txt")
read -r nalloc nrel failed busy left unknown <<<"$balance"
info "trace: $nalloc CMA allocations, $nrel releases, $failed failed, $busy busy retries; $left left allocated, $unknown unknown releases"
[ "$nalloc" -gt 0 ] || bad "no CMA allocation between the robust markers (markers missing?)"
[ "$left" = 0 ] || bad "$left CMA ranges still allocated after rmmod: bitmap not back to its pre-insmod state"
[ "$unknown" = 0 ] || bad "$unknown cma_release events of ranges never allocated"

verify=$(grep -m1 '^@@VERIFY' "$DIR/steps.txt" || true)
info "after rmmod, a fresh insmod asks for the whole area at once: ${verify:-no @@VERIFY line}"
case "$verify" in *" rc=0 rmmod=0"*) ;; *) bad "the area could not be allocated whole after rmmod (bitmap not clean?)" ;; esac

info "$(grep -m1 '^@@CMAFREE before' "$DIR/steps.txt" | sed 's/^@@//') $(grep -m1 '^@@CMAFREE after' "$DIR/steps.txt" | sed 's/^@@//') kB (information: CmaFree lags behind frees)"
if [ "$fail" = 0 ]; then info "PASS"; else info "FAILED"; fi
exit "$fail"
}
