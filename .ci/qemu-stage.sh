#!/usr/bin/env bash
# .ci/qemu-stage.sh CMASIM — the live differential test against real kernels.
#
#   bash .ci/qemu-stage.sh build/sim/cmasim
#
# 0. fresh host (issue 10 #13): `cmasim record` must work where only what it installs
#    itself is present.  deps.sh --qemu installs the same tools *with* their Recommends
#    (ipxe-qemu, whose efi-virtio.rom QEMU's default NIC needed, hid a failure), so
#    before the first recording this purges the packages both install, the qemu-system
#    packages and their installed Recommends — each only if purging it removes nothing
#    else and it is not Essential — prints what it removed, and the first `record`
#    installs what it needs (root only; CMASIM_QEMU_FRESH=0 skips it).  Extra time,
#    measured here: the purge ~20 s (stage fresh-host) and record's own apt-get
#    install of the purged tools from apt's cache ~30 s ("setup" in record-6.1's
#    timing, printed by op-counts).
# 1. picks a seed (CMASIM_SEED, or a fresh random one, printed so a failure can be
#    reproduced) and generates two random workloads with `cmasim workload --busy`;
# 2. records them with `cmasim record` on Debian's arm64 6.1, 6.12 and 7.3 kernels
#    (QEMU TCG; 7.x from trixie-backports through record's own apt configuration, its
#    module built in a cached trixie chroot); together they must hold >= 1000 CMA
#    operations and at least one cma_alloc_busy_retry;
# 2b. two areas: a fresh random workload of module buffers and hugetlb gigantic pages
#    (tests/cli/huge-workload.sh) recorded on each kernel booted with
#    `cma=32M hugetlb_cma=1G` (3G of RAM), and every operation of both areas must match
#    (tests/cli/areas-check.py);
# 2c. per-node areas: a fresh random workload recorded on a 2-node guest (`--numa 2`, 2G)
#    with the module's device on node 1 (`--node 1`): 6.1 `cma=32M cma_pernuma=16M`
#    (pernuma0/1), 6.12 the same plus `numa_cma=1:8M` (Debian built it without
#    CONFIG_DMA_NUMA_CMA: one area), 7.3 `cma=32M` (numa0/1 of the default size) or
#    `cma=32M numa_cma=1:16M` by the seed's parity; every operation of every area must
#    match (areas-check.py; 6.12: replay --strict), `cmasim boot --numa 2` must print the
#    boot's own `cma: Reserved` lines (tests/cli/boot-vs-recording.sh), and diagnose must
#    give the trace's causes (with and without the trace);
# 3. replays each recording with `cmasim replay DIR` (exit 0: every operation
#    matched the model) — skipped with a notice while cmasim has no replay command;
#    then emulates each recording's workload (6.1, 6.12 and 7.3, the two-area ones too) with `cmasim emulate` and compares it with
#    the real one (tests/cli/emulate-compare.sh: pfns, errnos, trace events, free pages
#    per step, kernel lines); and diagnoses each dmesg stripped to a field log against
#    the trace's failures (tests/cli/diagnose_groundtruth.py);
# 4. robustness: 10,000 random writes (garbage, overlong, binary, valid commands)
#    from 4 concurrent writers on each kernel, then freeall + rmmod, judged by
#    sim/recorder/check-robust.sh (no Oops/WARNING/BUG, bitmap back to its
#    pre-insmod state);
# 4b. plan against the real kernel: the smallest cma= `cmasim plan` says serves each fresh
#    workload, and 4M below it, recorded on the real kernel (tests/cli/plan-vs-real.sh);
# 5. the device bench (bench/device_vs_qemu.sh): a 10,000-step workload recorded on 6.12,
#    emulated, and run through `cmasim mount` by a shell loop; both ratios printed, both
#    emulations checked against the recording (CMASIM_DEVICE_BENCH_OPS=0 skips it).
# Every stage prints what it ran, its time and its result; the last line is a
# 'N passed, N failed' summary.  Downloads are cached in $CMASIM_CACHE (default
# ~/.cache/cmasim); recordings go to $CMASIM_QEMU_OUT (default build/qemu-stage).
# Knobs: CMASIM_QEMU_OPS_61 / _612 (ops per workload, default 800 / 700),
# CMASIM_QEMU_WRITES (default 10000), CMASIM_QEMU_KERNELS (default "6.1 6.12 7.3"),
# CMASIM_QEMU_HUGE_STEPS (steps of each two-area workload, default 40; 0 skips 2b),
# CMASIM_QEMU_NUMA_OPS (steps of each per-node workload, default 300; 0 skips 2c),
# CMASIM_QEMU_REPLAY=warn (report replay divergences without failing the stage).
# 2c adds three 2-node recordings (300 steps each: 16-20 s per boot) and ~2 s of checks.
# Time, measured on the 2-core CI machine kind with a warm cache: 2.5-3.5 minutes
# (per boot: ~10 s package resolution, ~4 s module build, ~4 s to /init, ~5-14 ms per
# workload step, ~12-15 s for 10,000 fuzz writes). A cold machine adds the host
# apt-get installs (~3 min) and ~180 MB of downloads. Watchdogs: 300 s per recording,
# 400 s per robustness boot, so a hung guest costs at most ~23 minutes in all.
set -uo pipefail
{ # read whole before running: an edit mid-run cannot break it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CMASIM=${1:-$ROOT/build/sim/cmasim}
[ -x "$CMASIM" ] || { echo "qemu-stage: cmasim binary '$CMASIM' not found or not executable" >&2; exit 2; }
CMASIM=$(cd "$(dirname "$CMASIM")" && pwd)/$(basename "$CMASIM")
export CMASIM_SOURCE_DIR=$ROOT
export CMASIM_CACHE=${CMASIM_CACHE:-$HOME/.cache/cmasim}
OUT=${CMASIM_QEMU_OUT:-$ROOT/build/qemu-stage}
SEED=${CMASIM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
OPS_61=${CMASIM_QEMU_OPS_61:-800}
OPS_612=${CMASIM_QEMU_OPS_612:-700}
WRITES=${CMASIM_QEMU_WRITES:-10000}
KERNELS=${CMASIM_QEMU_KERNELS:-6.1 6.12 7.3}
HUGE_STEPS=${CMASIM_QEMU_HUGE_STEPS:-40}
NUMA_OPS=${CMASIM_QEMU_NUMA_OPS:-300}
REPLAY_MODE=${CMASIM_QEMU_REPLAY:-fail} # warn: a replay divergence is reported, not fatal
RECORDER=$ROOT/sim/recorder/record.sh

rm -rf "$OUT"; mkdir -p "$OUT"
echo "qemu-stage: seed $SEED   (reproduce: CMASIM_SEED=$SEED bash .ci/qemu-stage.sh $1)"
echo "qemu-stage: cmasim $CMASIM, cache $CMASIM_CACHE, output $OUT"

passed=0 failed=0 skipped=0
STAGE_T0=$(date +%s.%N)
declare -a SUMMARY
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
# stage NAME CMD... : run CMD, log to $OUT/NAME.log, print time and result
stage() {
	local name=$1; shift
	local t0; t0=$(date +%s.%N)
	echo
	echo "=== stage $name"
	echo "    ran: $*"
	"$@" > "$OUT/$name.log" 2>&1
	local rc=$?
	local dt; dt=$(secs "$t0")
	sed 's/^/    | /' "$OUT/$name.log" | tail -n 40
	if [ $rc = 0 ]; then
		echo "    result: ok (${dt}s)"; passed=$((passed + 1)); SUMMARY+=("ok    ${dt}s  $name")
	elif [ $rc = 77 ]; then # the command said SKIPPED and why: not a pass
		echo "    result: SKIPPED (${dt}s)"; skipped=$((skipped + 1)); SUMMARY+=("skip  ${dt}s  $name")
	else
		echo "    result: FAILED rc=$rc (${dt}s), full log $OUT/$name.log"; failed=$((failed + 1)); SUMMARY+=("FAIL  ${dt}s  $name")
	fi
	return $rc
}

kernel_args() { # per kernel: RAM and area size (different sizes exercise placement)
	case "$1" in 6.1) echo "1G cma=64M" ;; 6.12) echo "1G cma=48M" ;; *) echo "1G cma=64M" ;; esac
}
ops_for() { case "$1" in 6.1) echo "$OPS_61" ;; 6.12) echo "$OPS_612" ;; *) echo 400 ;; esac; }

# --- 0: fresh host -------------------------------------------------------------------
# shellcheck disable=SC2317 # called through stage
fresh_host() {
	local installed=() cand=() keep=() p rec extra
	is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
	# what deps.sh --qemu and record.sh both install, plus every qemu-system package
	for p in $(comm -12 <(bash "$ROOT/scripts/deps.sh" --print-qemu | sort -u) \
	                    <(bash "$RECORDER" --print-host-packages | sort -u)) \
	         $(dpkg-query -W -f='${Package}\n' 'qemu-system-*' 2>/dev/null); do
		is_installed "$p" && installed+=("$p")
	done
	# and their installed Recommends (one level: what --no-install-recommends leaves out)
	# (one apt-cache call for all: each call reads the package cache, ~3 s here)
	cand=("${installed[@]}")
	[ ${#installed[@]} = 0 ] || for rec in $(apt-cache depends --no-depends --no-pre-depends --no-suggests \
			--no-conflicts --no-breaks --no-replaces --no-enhances "${installed[@]}" 2>/dev/null |
			awk '$1 == "Recommends:" && $2 !~ /^</ {print $2}' | sort -u); do
		is_installed "$rec" && cand+=("$rec")
	done
	mapfile -t cand < <(printf '%s\n' "${cand[@]}" | sort -u | grep .)
	if [ ${#cand[@]} = 0 ]; then echo "fresh-host: none of record's packages is installed: nothing to purge"; return 0; fi
	# keep a candidate only if purging it takes nothing outside the candidates with it:
	# one simulation of the whole set (~4 s); only if it would take more, one per package
	outside() { # PKG... -> what `apt-get purge PKG...` would remove beyond the candidates
		local r q
		for r in $(apt-get -s purge "$@" 2>/dev/null | awk '$1 == "Purg" {print $2}'); do
			q=${r%%:*}
			printf '%s\n' "${cand[@]}" | grep -qxF "$q" || printf ' %s' "$r"
		done
	}
	local essential=0
	for p in "${cand[@]}"; do [ "$(dpkg-query -W -f='${Essential}' "$p" 2>/dev/null)" = yes ] && essential=1; done
	if [ "$essential" = 0 ] && [ -z "$(outside "${cand[@]}")" ]; then keep=("${cand[@]}"); cand=(); fi
	for p in "${cand[@]}"; do
		if [ "$(dpkg-query -W -f='${Essential}' "$p" 2>/dev/null)" = yes ]; then
			echo "fresh-host: keeping $p (Essential)"; continue
		fi
		extra=$(outside "$p")
		if [ -n "$extra" ]; then echo "fresh-host: keeping $p (purging it would also remove:$extra)"; continue; fi
		keep+=("$p")
	done
	[ ${#keep[@]} = 0 ] && { echo "fresh-host: nothing can be purged"; return 0; }
	echo "fresh-host: purging ${keep[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 purge "${keep[@]}" >"$OUT/fresh-host.apt.log" 2>&1 ||
		{ cat "$OUT/fresh-host.apt.log"; echo "fresh-host: apt-get purge failed"; return 1; }
	grep -E '^(Removing|Purging) ' "$OUT/fresh-host.apt.log" | sed 's/^/fresh-host: /'
	for p in "${keep[@]}"; do is_installed "$p" && { echo "fresh-host: $p is still installed"; return 1; }; done
	if ! is_installed ipxe-qemu && [ ! -e /usr/lib/ipxe/qemu/efi-virtio.rom ] && [ ! -e /usr/share/qemu/efi-virtio.rom ]; then
		echo "fresh-host: no efi-virtio.rom on this host (as on a machine where record installed QEMU itself)"
	fi
	echo "fresh-host: removed ${#keep[@]} packages; the first recording installs what record needs"
}
if [ "${CMASIM_QEMU_FRESH:-1}" = 0 ]; then
	echo; echo "=== stage fresh-host"; echo "    skipped: CMASIM_QEMU_FRESH=0"
	skipped=$((skipped + 1)); SUMMARY+=("skip  0s    fresh-host")
elif [ "$(id -u)" != 0 ]; then
	echo; echo "=== stage fresh-host"; echo "    skipped: not root (record cannot install packages either)"
	skipped=$((skipped + 1)); SUMMARY+=("skip  0s    fresh-host")
else
	stage fresh-host fresh_host
fi

# --- 1+2: workloads and recordings -------------------------------------------------
i=0
RECORDED=()
for k in $KERNELS; do
	read -r mem cmdline <<<"$(kernel_args "$k")"
	s=$((SEED + i)); i=$((i + 1))
	wl="$OUT/workload-$k.txt"
	stage "workload-$k" "$CMASIM" workload --seed "$s" --ops "$(ops_for "$k")" --max-pages 4096 --busy --out "$wl" &&
	stage "record-$k" "$CMASIM" record --kernel "$k" --mem "$mem" --cmdline "$cmdline" \
		--workload "$wl" --out "$OUT/rec-$k" --timeout 300 &&
	RECORDED+=("$OUT/rec-$k")
done

# --- 2b: two areas, the default one and a hugetlb area -----------------------------------
AREAS_RECORDED=()
if [ "$HUGE_STEPS" != 0 ]; then
	for k in $KERNELS; do
		s=$((SEED + 200 + i)); i=$((i + 1))
		wl="$OUT/workload-huge-$k.txt"
		stage "workload-huge-$k" sh -c "sh '$ROOT/tests/cli/huge-workload.sh' $s $HUGE_STEPS > '$wl' && cat '$wl'" &&
		stage "record-huge-$k" "$CMASIM" record --kernel "$k" --mem 3G --cmdline 'cma=32M hugetlb_cma=1G' \
			--workload "$wl" --out "$OUT/rec-huge-$k" --timeout 300 &&
		AREAS_RECORDED+=("$OUT/rec-huge-$k")
	done
fi

# --- 2c: per-node areas (pernuma<N> / numa<N>) on a 2-node guest ---------------------------
NUMA_RECORDED=()
numa_cmdline() {
	case "$1" in
	6.1) echo "cma=32M cma_pernuma=16M" ;;
	6.12) echo "cma=32M cma_pernuma=16M numa_cma=1:8M" ;;
	*) if [ $((SEED % 2)) = 0 ]; then echo "cma=32M"; else echo "cma=32M numa_cma=1:16M"; fi ;;
	esac
}
if [ "$NUMA_OPS" != 0 ]; then
	for k in $KERNELS; do
		s=$((SEED + 300 + i)); i=$((i + 1))
		wl="$OUT/workload-numa-$k.txt"
		stage "workload-numa-$k" "$CMASIM" workload --seed "$s" --ops "$NUMA_OPS" --max-pages 2048 --busy --out "$wl" &&
		stage "record-numa-$k" "$CMASIM" record --kernel "$k" --mem 2G --numa 2 --node 1 --cmdline "$(numa_cmdline "$k")" \
			--workload "$wl" --out "$OUT/rec-numa-$k" --timeout 300 &&
		NUMA_RECORDED+=("$OUT/rec-numa-$k")
	done
fi

# --- op counts ----------------------------------------------------------------------------
# shellcheck disable=SC2317 # called through stage
count_ops() {
	local total=0 busy=0 d n b
	for d in "${RECORDED[@]}"; do
		n=$(grep -cE 'cma_test: v1 op=(alloc|free) ' "$d/dmesg.txt" || true)
		b=$(grep -c 'cma_alloc_busy_retry:' "$d/trace.txt" || true)
		local a f fl
		a=$(grep -c 'cma_test: v1 op=alloc .*err=0$' "$d/dmesg.txt" || true)
		fl=$(grep -c 'cma_test: v1 op=alloc .*err=-' "$d/dmesg.txt" || true)
		f=$(grep -c 'cma_test: v1 op=free ' "$d/dmesg.txt" || true)
		# kernel side: cma_alloc() calls and cma_release() calls after the first step marker
		local ka kr
		read -r ka kr <<<"$(awk '/tracing_mark_write: step 1:/ {on = 1} on && /cma_alloc_start:/ {a++} on && /cma_release:/ {r++} END {print a+0, r+0}' "$d/trace.txt")"
		echo "$(basename "$d"): $n CMA operations ($a allocations, $fl failed, $f frees; kernel saw $ka cma_alloc, $kr cma_release), $b busy retries, $(grep -c '^@@STEP' "$d/steps.txt") steps"
		echo "    timing: $(tr -d '\n ' < "$d/timing.json")"
		total=$((total + n)); busy=$((busy + b))
	done
	echo "total: $total CMA operations, $busy busy retries"
	[ "$total" -ge 1000 ] || { echo "need >= 1000 CMA operations in all"; return 1; }
	[ "$busy" -ge 1 ] || { echo "need at least one cma_alloc_busy_retry"; return 1; }
}
stage op-counts count_ops

# --- 3: replay ---------------------------------------------------------------------------
has_replay() { "$CMASIM" --help 2>/dev/null | grep -qE '^ +replay\b'; }
for d in "${RECORDED[@]}"; do
	if has_replay; then
		if ! stage "replay-$(basename "$d")" "$CMASIM" replay "$d" && [ "$REPLAY_MODE" = warn ]; then
			echo "    (CMASIM_QEMU_REPLAY=warn: not counted as a failure)"
			failed=$((failed - 1)); skipped=$((skipped + 1))
			SUMMARY[-1]="warn  ${SUMMARY[-1]#FAIL  }"
		fi
	else
		echo
		echo "=== stage replay-$(basename "$d")"
		echo "    skipped: this cmasim has no 'replay' subcommand yet; would run: $CMASIM replay $d"
		skipped=$((skipped + 1)); SUMMARY+=("skip  0s    replay-$(basename "$d")")
	fi
done

# Two areas: every operation of each area, counted from the trace, replayed and matched.
for d in "${AREAS_RECORDED[@]}"; do
	stage "areas-$(basename "$d")" python3 "$ROOT/tests/cli/areas-check.py" "$CMASIM" "$d"
done
# Per-node areas: the same where the trace has several areas (6.12 has one: replay --strict);
# the boot model's lines against the boot's; diagnose against the trace's causes.
for d in "${NUMA_RECORDED[@]}"; do
	if [ "$(grep -oE ': (cma_alloc_finish|cma_release): name=[^ ]+' "$d/trace.txt" | sort -u | sed 's/.*name=//' | sort -u | wc -l)" -ge 2 ]; then
		stage "areas-$(basename "$d")" python3 "$ROOT/tests/cli/areas-check.py" "$CMASIM" "$d"
	else
		stage "replay-$(basename "$d")" "$CMASIM" replay --strict "$d"
	fi
	stage "boot-$(basename "$d")" sh -c "mkdir -p '$d/boot-check' && cd '$d/boot-check' && sh '$ROOT/tests/cli/boot-vs-recording.sh' '$CMASIM' '$d'"
	stage "diagnose-$(basename "$d")" python3 "$ROOT/tests/cli/diagnose_groundtruth.py" "$CMASIM" "$d"
	stage "diagnose-with-trace-$(basename "$d")" python3 "$ROOT/tests/cli/diagnose_groundtruth.py" --with-trace "$CMASIM" "$d"
done

# --- 3b: emulate ------------------------------------------------------------------------
# `cmasim emulate` of each fresh recording's workload must give what the real kernel gave:
# every operation's pfn and errno (cma_test: v1 lines, trace events), the bitmap's free
# pages and CmaTotal after every step, and the cma:/cma_test: kernel lines
# (tests/cli/emulate-compare.sh prints one line per check).  A fresh seed reaches states the
# checked-in recordings in tests/data/recorded/ do not.  No QEMU: ~0.2 s each.
# 7.x too: its boot (one atomic pool), its release lines and its /sys/kernel/mm/cma counters;
# and the two-area runs: the hugetlb pool's pages on hugetlb0 (the outside-CMA fallback for
# 32 MiB pages is the emulation's stated assumption, include/cma/device/hugetlb_pool.hpp).
for d in "${RECORDED[@]}" "${AREAS_RECORDED[@]}"; do
	stage "emulate-$(basename "$d")" bash "$ROOT/tests/cli/emulate-compare.sh" "$CMASIM" "$d"
done

# --- 3c: diagnose ------------------------------------------------------------------------
# Each fresh recording's dmesg, stripped to what a field log has (no module lines, no
# pr_debug lines), diagnosed alone: one finding per printed failure line, with the cause the
# trace's own state gives (tests/cli/diagnose_groundtruth.py; no QEMU, ~0.3 s each).
for d in "${RECORDED[@]}"; do
	stage "diagnose-$(basename "$d")" python3 "$ROOT/tests/cli/diagnose_groundtruth.py" "$CMASIM" "$d"
	stage "diagnose-with-trace-$(basename "$d")" python3 "$ROOT/tests/cli/diagnose_groundtruth.py" --with-trace "$CMASIM" "$d"
done

# --- 4: robustness -----------------------------------------------------------------------
for k in $KERNELS; do
	s=$((SEED + 100))
	stage "robust-$k" bash "$RECORDER" --kernel "$k" --mem 1G --cmdline cma=64M --smp 2 \
		--robust --seed "$s" --writes "$WRITES" --writers 4 --insmod-args max_live=64 \
		--out "$OUT/robust-$k" --timeout 400 &&
	stage "robust-check-$k" bash "$ROOT/sim/recorder/check-robust.sh" "$OUT/robust-$k"
done

# --- 4b: plan against the real kernel -----------------------------------------------------
# `cmasim plan` on each fresh workload gives the smallest cma= that serves every step; that size
# and the one 4M below are recorded on the real kernel: no failing step at the first, exactly
# as many as plan predicts at the second (tests/cli/plan-vs-real.sh; two boots per kernel).
for k in $KERNELS; do
	[ -s "$OUT/workload-$k.txt" ] || continue
	stage "plan-vs-real-$k" bash "$ROOT/tests/cli/plan-vs-real.sh" "$CMASIM" "$k" "$OUT/workload-$k.txt" "$OUT/plan-$k"
done

# --- 5: the device bench ------------------------------------------------------------------
# One 10,000-step workload recorded on the real 6.12 kernel, emulated, and run through a
# `cmasim mount` by a bash loop; prints both ratios against the recording and checks that the
# emulation and the mount did what the kernel did (bench/device_vs_qemu.sh).  ~2 min.
if [ "${CMASIM_DEVICE_BENCH_OPS:-10000}" != 0 ]; then
	stage bench-device env CMASIM_BENCH_OUT="$OUT/bench-device" bash "$ROOT/bench/device_vs_qemu.sh" "$CMASIM" \
		"${CMASIM_DEVICE_BENCH_OPS:-10000}"
fi

echo
echo "=== qemu-stage summary (seed $SEED, $(secs "$STAGE_T0")s in all)"
printf '    %s\n' "${SUMMARY[@]}"
echo "qemu-stage: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
exit
}
