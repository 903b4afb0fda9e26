#!/bin/bash
# tests/cli/mount-session.sh CMASIM PART — `cmasim mount` driven by unmodified shell commands.
#
# PART is one of:
#   field-notes  the field notes' 4.15 session (tests/data/field-notes-4.15.md) on a mount:
#                CmaTotal 1048576 kB; CmaFree drops by exactly 131072 kB for `echo 128 >`
#                and 524288 kB for `echo 512 >`; dmesg shows `count 32768, align 8`; the first
#                `cat dev/cma_test` frees the 128 MiB buffer; debugfs alloc/free leave `used`.
#   errno        what the kernel rejects reaches the shell as the kernel's errno.
#   concurrent   two shells writing at once: serialised, every allocation accounted once.
#   signals      SIGINT and SIGTERM unmount cleanly (exit 0); `fusermount3 -u` too.
#   state        --state: unmount, remount from the journal, the same dmesg, used and live list.
#   versions     6.1 (sysfs, vmstat counters) and 6.15 (ranges/0, symlinks) trees.
# Exit 0 pass, 1 fail, 77 skipped (no /dev/fuse, no fusermount3, or not root): ctest counts
# 77 as skipped (SKIP_RETURN_CODE), never as passed.
set -u
C=$1 PART=$2
if [ ! -c /dev/fuse ]; then echo "SKIPPED: /dev/fuse is missing: cannot mount (load the fuse module)"; exit 77; fi
if ! command -v fusermount3 >/dev/null; then echo "SKIPPED: fusermount3 not installed (Debian package fuse3)"; exit 77; fi
if [ "$(id -u)" -ne 0 ] && [ ! -u "$(command -v fusermount3)" ]; then echo "SKIPPED: not root and fusermount3 not setuid"; exit 77; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/cmasim-mount.XXXXXX") || exit 1
M=$T/mnt
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then fusermount3 -u "$M" 2>/dev/null; kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	mountpoint -q "$M" 2>/dev/null && fusermount3 -u "$M"
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_eq() { # what got want
	if [ "$2" = "$3" ]; then ok "$1: $2"; else bad "$1: got '$2', want '$3'"; fi
}

# mount_it ARGS...: start `cmasim mount $M ARGS` in the background; wait until it serves.
mount_it() {
	"$C" mount "$M" "$@" > "$T/mount.out" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		[ -e "$M/proc/meminfo" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/mount.out"; echo "FAIL: the mount did not come up"; exit 1
}
# stop_it: fusermount3 -u, then the exit code of the mount (must be 0).
stop_it() {
	fusermount3 -u "$M" || bad "fusermount3 -u failed"
	wait "$PID"; local rc=$?
	PID=
	expect_eq "mount's exit code after fusermount3 -u" "$rc" 0
	[ "$rc" = 0 ] || sed 's/^/  mount: /' "$T/mount.out"
	mountpoint -q "$M" && bad "$M is still mounted"
}
kb() { sed -n "s/^$1: *\([0-9]*\) kB$/\1/p" "$M/proc/meminfo"; }
# write_err FILE DATA: the shell's error text of `echo DATA > FILE` ("" if it succeeded)
write_err() { (echo "$2" > "$1") 2>&1 | sed -n 's/.*write error: //p; s/.*: Permission denied$/Permission denied/p'; }

case "$PART" in
field-notes)
	mount_it --kernel 4.15 --arch x86_64 --mem 4G --cmdline 'cma=1G@1-2G'
	expect_eq "CmaTotal line" "$(grep CmaTotal "$M/proc/meminfo")" "CmaTotal:        1048576 kB"
	# the notes' first session: debugfs (cd /sys/kernel/debug/cma/cma-reserved; echo 102400 > alloc)
	D=$M/sys/kernel/debug/cma/cma-reserved
	[ -d "$D" ] && ok "4.15 debugfs folder cma-reserved" || bad "no $D"
	u0=$(cat "$D/used")
	echo 102400 > "$D/alloc" || bad "echo 102400 > alloc failed"
	expect_eq "used after echo 102400 > alloc" "$(cat "$D/used")" "$((u0 + 102400))"
	grep -q 'count 102400, align 0)$' "$M/dmesg" && ok "dmesg: count 102400, align 0" || bad "no 'count 102400, align 0'"
	echo 102400 > "$D/free" || bad "echo 102400 > free failed"
	expect_eq "used after echo 102400 > free" "$(cat "$D/used")" "$u0"
	expect_eq "base_pfn" "$(cat "$D/base_pfn")" 262144
	expect_eq "count" "$(cat "$D/count")" 262144
	# the notes' second session: insmod cma_test; echo 128 > /dev/cma_test; echo 512 > …
	f0=$(kb CmaFree)
	echo 128 > "$M/dev/cma_test" || bad "echo 128 failed"
	f1=$(kb CmaFree)
	expect_eq "CmaFree drop for echo 128" "$((f0 - f1))" 131072
	grep -Eq '\] cma: cma_alloc\(cma [0-9a-f]{16}, count 32768, align 8\)$' "$M/dmesg" &&
		ok "dmesg: cma_alloc(cma …, count 32768, align 8)" || bad "no 'count 32768, align 8' line in dmesg"
	echo 512 > "$M/dev/cma_test" || bad "echo 512 failed"
	f2=$(kb CmaFree)
	expect_eq "CmaFree drop for echo 512" "$((f1 - f2))" 524288
	grep -q 'count 131072, align 8)$' "$M/dmesg" && ok "dmesg: count 131072, align 8" || bad "no 'count 131072, align 8'"
	expect_eq "first cat dev/cma_test (the id freed)" "$(cat "$M/dev/cma_test")" 0
	grep -q 'cma_test: v1 op=free id=0 pages=32768 pfn=0x40000 cma=1$' "$M/dmesg" &&
		ok "the first read freed the 128 MiB buffer (32768 pages at 0x40000)" || bad "no op=free of id 0, 32768 pages"
	expect_eq "CmaFree after the read" "$(kb CmaFree)" "$((f2 + 131072))"
	grep -q ' cma_release: pfn=40000 ' "$M/sys/kernel/tracing/trace" && ok "trace: cma_release events" || bad "no cma_release in the trace"
	stop_it
	;;
errno)
	mount_it --kernel 6.1 --mem 1G --cmdline cma=64M
	expect_eq "echo 0 > dev/cma_test" "$(write_err "$M/dev/cma_test" 0)" "Invalid argument"
	expect_eq "echo frob > dev/cma_test" "$(write_err "$M/dev/cma_test" frob)" "Invalid argument"
	expect_eq "echo 99999999999999999999 > dev/cma_test" "$(write_err "$M/dev/cma_test" 99999999999999999999)" "Numerical result out of range"
	expect_eq "echo free > dev/cma_test (nothing live)" "$(write_err "$M/dev/cma_test" free)" "No such file or directory"
	expect_eq "echo 65 > dev/cma_test (beyond the 64 MiB area: cma_size)" "$(write_err "$M/dev/cma_test" 65)" "Invalid argument"
	expect_eq "echo 'allocp 16385' > dev/cma_test (16385 pages > 64 MiB)" "$(write_err "$M/dev/cma_test" 'allocp 16385')" "Invalid argument"
	D=$M/sys/kernel/debug/cma/reserved
	expect_eq "echo 1 > count (debugfs, no set)" "$(write_err "$D/count" 1)" "Permission denied"
	expect_eq "echo x > alloc (kstrtoull)" "$(write_err "$D/alloc" x)" "Invalid argument"
	expect_eq "echo 99999999999999999999 > alloc" "$(write_err "$D/alloc" 99999999999999999999)" "Numerical result out of range"
	expect_eq "echo 16385 > alloc (more than the area)" "$(write_err "$D/alloc" 16385)" "Cannot allocate memory"
	expect_eq "echo 1 > bitmap" "$(write_err "$D/bitmap" 1)" "Invalid argument"
	expect_eq "echo 1 > sysfs alloc_pages_success" "$(write_err "$M/sys/kernel/mm/cma/reserved/alloc_pages_success" 1)" "Permission denied"
	expect_eq "echo 1 > proc/meminfo" "$(write_err "$M/proc/meminfo" 1)" "Input/output error"
	expect_eq "cat alloc (0200, no get)" "$(cat "$D/alloc" 2>&1 | sed 's/.*: //')" "Permission denied"
	expect_eq "cat nosuchfile" "$(cat "$M/proc/nosuch" 2>&1 | sed 's/.*: //')" "No such file or directory"
	expect_eq "echo > new file" "$(write_err "$M/proc/newfile" 1)" "Permission denied"
	n=$(grep -c 'cma_test: v1 op=reject' "$M/dmesg")
	expect_eq "op=reject lines for the 6 refused device writes" "$n" 6
	stop_it
	;;
concurrent)
	mount_it --kernel 6.12 --mem 1G --cmdline cma=64M
	W=$M/dev/cma_test
	for w in a b; do
		( for _ in $(seq 40); do echo "alloc 12K" > "$W"; done; for _ in $(seq 20); do cat "$W" > /dev/null; done ) &
	done
	wait "$(jobs -p | grep -v "^$PID$" | head -1)" "$(jobs -p | grep -v "^$PID$" | tail -1)"
	a=$(grep -c 'cma_test: v1 op=alloc .*err=0$' "$M/dmesg")
	f=$(grep -c 'cma_test: v1 op=free ' "$M/dmesg")
	ids=$(sed -n 's/.*cma_test: v1 op=alloc id=\([0-9]*\) .*/\1/p' "$M/dmesg" | sort -n | uniq | wc -l)
	expect_eq "allocations logged (2 × 40)" "$a" 80
	expect_eq "distinct ids (one per attempt)" "$ids" 80
	expect_eq "frees logged (2 × 20)" "$f" 40
	expect_eq "debugfs used = 40 live × 3 pages + 96 of the boot pools" "$(cat "$M/sys/kernel/debug/cma/reserved/used")" $((40 * 3 + 96))
	expect_eq "sysfs alloc_pages_success (96 boot + 80 × 3)" "$(cat "$M/sys/kernel/mm/cma/reserved/alloc_pages_success")" $((96 + 240))
	expect_eq "sysfs release_pages_success (40 × 3)" "$(cat "$M/sys/kernel/mm/cma/reserved/release_pages_success")" 120
	stop_it
	;;
signals)
	for sig in INT TERM; do
		mount_it --kernel 6.1 --mem 1G --cmdline cma=64M
		echo 1 > "$M/dev/cma_test"
		kill -s "$sig" "$PID"
		wait "$PID"; rc=$?
		PID=
		expect_eq "exit code after SIG$sig" "$rc" 0
		if mountpoint -q "$M"; then bad "still mounted after SIG$sig"; else ok "unmounted after SIG$sig"; fi
		grep -q "unmounted $M after 1 calls" "$T/mount.out" && ok "SIG$sig: the mount said it unmounted" || { cat "$T/mount.out"; bad "no unmount message"; }
	done
	mount_it --kernel 6.1 --mem 1G --cmdline cma=64M
	stop_it
	;;
state)
	S=$T/state.journal
	mount_it --kernel 6.12 --mem 1G --cmdline cma=64M --state "$S"
	W=$M/dev/cma_test
	for x in 1 2 3 "alloc 20K"; do echo "$x" > "$W"; done
	cat "$W" > /dev/null # two reads: offset 0 frees id 0, the next one returns 0 bytes
	echo "hog 8" > "$W"  # the freed buffer's last pages (the per-CPU list model)
	echo 100 > "$M/sys/kernel/debug/cma/reserved/alloc"
	echo 65 > "$W" 2>/dev/null
	echo "marker before unmount" > "$M/sys/kernel/tracing/trace_marker"
	# cat, not cp/cmp: cmp trusts st_size, which is 0 here as in debugfs and /proc
	cat "$M/dmesg" > "$T/dmesg.1"; cat "$M/sys/kernel/debug/cma/reserved/used" > "$T/used.1"
	cat "$M/sys/kernel/debug/cma/reserved/bitmap" > "$T/bitmap.1"
	[ -s "$T/dmesg.1" ] && [ -s "$T/used.1" ] && [ -s "$T/bitmap.1" ] || bad "empty copies of dmesg/used/bitmap"
	echo list > "$W"
	stop_it
	lines=$(grep -c '^[wrt] ' "$S")
	expect_eq "journal lines (state-changing calls)" "$lines" 11
	mount_it --state "$S"
	grep -q "restored 11 calls" "$T/mount.out" && ok "restored 11 calls" || { cat "$T/mount.out"; bad "no 'restored 11 calls'"; }
	head -n "$(wc -l < "$T/dmesg.1")" "$M/dmesg" > "$T/dmesg.2"
	cmp -s "$T/dmesg.1" "$T/dmesg.2" && ok "dmesg after restore: the same $(wc -l < "$T/dmesg.1") lines, timestamps included" || { diff "$T/dmesg.1" "$T/dmesg.2" | head; bad "dmesg differs after restore"; }
	cat "$M/sys/kernel/debug/cma/reserved/used" > "$T/used.2"; cat "$M/sys/kernel/debug/cma/reserved/bitmap" > "$T/bitmap.2"
	cmp -s "$T/used.1" "$T/used.2" && ok "used the same after restore: $(cat "$T/used.1")" || bad "used differs: $(cat "$T/used.1") then $(cat "$M/sys/kernel/debug/cma/reserved/used")"
	cmp -s "$T/bitmap.1" "$T/bitmap.2" && ok "bitmap the same after restore" || bad "bitmap differs"
	grep -q 'tracing_mark_write: marker before unmount' "$M/sys/kernel/tracing/trace" && ok "trace marker restored" || bad "trace marker lost"
	echo 1 > "$W" || bad "a write after restore failed"
	stop_it
	expect_eq "journal lines after the second mount" "$(grep -c '^[wrt] ' "$S")" 12
	# options that disagree with the state, and a damaged journal: exit 2 naming the file and line
	"$C" mount "$M" --state "$S" --kernel 6.1 > "$T/o" 2>&1; rc=$?
	expect_eq "--kernel 6.1 with a 6.12 state: exit" "$rc" 2
	grep -q "differs from the state file" "$T/o" && ok "says the state differs" || { cat "$T/o"; bad "no reason given"; }
	sed -i '9s/^w \([0-9]*\) .*/w \1 1 62 dev\/cma_test zz 0/' "$S"
	"$C" mount "$M" --state "$S" > "$T/o" 2>&1; rc=$?
	expect_eq "damaged journal line: exit" "$rc" 2
	grep -q "state.journal:9: expected a journal line" "$T/o" && ok "names the file and line 9" || { cat "$T/o"; bad "no file:line"; }
	printf 'not a state\n' > "$T/bad.state"
	"$C" mount "$M" --state "$T/bad.state" > "$T/o" 2>&1; rc=$?
	expect_eq "not a state file: exit" "$rc" 2
	grep -q "bad.state:1: expected 'cmasim-mount-state 1'" "$T/o" && ok "names bad.state:1" || { cat "$T/o"; bad "no file:line"; }
	mountpoint -q "$M" && bad "a refused mount left $M mounted"
	;;
versions)
	mount_it --kernel 6.1 --mem 1G --cmdline cma=64M
	expect_eq "6.1 sysfs files" "$(ls "$M/sys/kernel/mm/cma/reserved" | tr '\n' ' ')" "alloc_pages_fail alloc_pages_success "
	echo 4 > "$M/dev/cma_test"
	expect_eq "vmstat cma_alloc_success (3 boot pools + 1)" "$(sed -n 's/^cma_alloc_success //p' "$M/proc/vmstat")" 4
	stop_it
	# --exact-cmdline: no recorder arguments, so no cma trace events and no mm/cma.c debug lines;
	# --cma-debug on 4.15: CONFIG_CMA_DEBUG's boot lines
	mount_it --kernel 6.1 --mem 1G --cmdline cma=64M --exact-cmdline
	echo 4 > "$M/dev/cma_test"
	grep -q "cma_alloc" "$M/sys/kernel/tracing/trace" && bad "--exact-cmdline: cma events in the trace" || ok "--exact-cmdline: no cma events"
	grep -q "cma_alloc(cma " "$M/dmesg" && bad "--exact-cmdline: pr_debug lines" || ok "--exact-cmdline: no pr_debug lines"
	stop_it
	mount_it --kernel 4.15 --arch x86_64 --mem 4G --cmdline 'cma=1G@1-2G' --cma-debug
	grep -q '] cma: early_cma(1G@1-2G)$' "$M/dmesg" && ok "--cma-debug: the boot's pr_debug lines" || bad "--cma-debug: no early_cma line"
	stop_it
	mount_it --kernel 6.15 --mem 1G --cmdline cma=64M
	D=$M/sys/kernel/debug/cma/reserved
	expect_eq "6.15 base_pfn is a symlink" "$(readlink "$D/base_pfn")" "ranges/0/base_pfn"
	expect_eq "6.15 base_pfn through the symlink" "$(cat "$D/base_pfn")" "$(cat "$D/ranges/0/base_pfn")"
	expect_eq "6.15 sysfs total_pages" "$(cat "$M/sys/kernel/mm/cma/reserved/total_pages")" 16384
	stop_it
	;;
*) echo "unknown part $PART"; exit 2 ;;
esac
if [ "$fails" -ne 0 ]; then echo "FAIL: $fails check(s) of $PART"; exit 1; fi
echo "PASS: mount $PART"
