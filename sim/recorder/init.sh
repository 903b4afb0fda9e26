#!/bin/busybox sh
# sim/recorder/init.sh — /init of the recording initramfs (busybox sh, arm64 guest).
#
# record.sh packs this with a static busybox, cma_test.ko, /rig (built from cma_run.c),
# workload.txt and rig.conf (RIG_MODE=record|robust, RIG_SEED, RIG_WRITES,
# RIG_WRITERS, RIG_INSMOD_EXTRA).  Everything it learns goes to the serial console
# between "@@" markers, which record.sh cuts into files:
#   @@INIT, @@CMDLINE, @@UNAME, @@CMA_RESERVED, @@INSMOD, @@WORKLOAD start/end,
#   @@STEP lines (from /rig), @@FUZZ, @@RMMOD, @@CMAFREE, @@BEGIN X ... @@END X
#   blocks (BOOTMEM MEMINFO VMSTAT_CMA ZONEINFO PAGETYPEINFO IOMEM [HUGEPAGES] [CMA_SYSFS]
#   TRACE DMESG), @@DONE.  HUGEPAGES when the workload has "huge" steps, CMA_SYSFS when
#   the kernel has /sys/kernel/mm/cma (CONFIG_CMA_SYSFS, 7.x).
# It ends with poweroff -f; if anything kills it, the kernel panics and panic=-1
# with QEMU's -no-reboot ends the run.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# keep module pr_info lines off the (slow, serial) console; dmesg still has them
dmesg -n 1

RIG_MODE=record RIG_SEED=1 RIG_WRITES=10000 RIG_WRITERS=4 RIG_INSMOD_EXTRA=
# shellcheck disable=SC1091 # written by record.sh
[ -f /rig.conf ] && . /rig.conf

uptime_s() { read -r u _ < /proc/uptime; echo "$u"; }
mark() { echo "$*" > /sys/kernel/tracing/trace_marker; }
block() { # block NAME CMD...: print CMD's output between @@BEGIN/@@END markers
	name=$1; shift
	echo "@@BEGIN $name"
	"$@" 2>&1
	echo "@@END $name"
}
cma_free_kb() { while read -r k v _; do [ "$k" = CmaFree: ] && echo "$v"; done < /proc/meminfo; }

echo "@@INIT uptime=$(uptime_s)"
echo "@@CMDLINE $(cat /proc/cmdline)"
echo "@@UNAME $(uname -a)"
cat /proc/meminfo > /tmp/bootmem.txt

# The default area from the boot log: "cma: Reserved 64 MiB at 0x0000000076c00000[ on node -1]".
# With hugetlb_cma= the hugetlb area prints the same line, followed by "hugetlb_cma:
# reserved N MiB on node M" (6.1 reserves it before the default area); skip that one.
# (7.x prints "cma: Reserved N MiB in 1 range" for it, with no address.)
# On a NUMA machine the per-node areas print the same line too (pernuma%d, numa%d:
# kernel/dma/contiguous.c): up to 6.x they come before the default area (6.4-6.14 mark
# the default one "on node -1"), from 7.x after it; so the default area is the line
# "on node -1" if one says so, else the last one up to 6.x and the first one from 7.x.
params=
first_is_default=0
case "$(uname -r)" in [7-9].*|[1-9][0-9].*) first_is_default=1 ;; esac
line=$(dmesg | awk -v first="$first_is_default" '
	function keep() { if (p != "") { n++; l[n] = p; if (p ~ / on node -1$/) d = p }; p = "" }
	/cma: Reserved [0-9]+ MiB at 0x/ { keep(); p = $0; next }
	/hugetlb_cma: reserved/ { p = ""; next }
	{ keep() }
	END { keep(); if (d != "") print d; else if (n) print (first ? l[1] : l[n]) }')
if [ -n "$line" ]; then
	mib=$(echo "$line" | sed 's/.*Reserved \([0-9]*\) MiB at.*/\1/')
	base=$(echo "$line" | sed 's/.* MiB at \(0x[0-9a-fA-F]*\).*/\1/')
	params="cma_base=$base cma_size=$((mib * 1048576))"
	echo "@@CMA_RESERVED line='$line' base=$base mib=$mib"
else
	echo "@@CMA_RESERVED none"
fi

rc=0
case "$RIG_MODE" in
record)
	echo "@@INSMOD uptime=$(uptime_s) params=$params $RIG_INSMOD_EXTRA"
	# shellcheck disable=SC2086 # both hold several key=value words
	insmod /cma_test.ko $params $RIG_INSMOD_EXTRA
	rc=$?
	echo "@@INSMOD rc=$rc"
	if [ $rc = 0 ]; then
		echo "@@WORKLOAD start uptime=$(uptime_s)"
		/rig run /workload.txt
		wrc=$?
		echo "@@WORKLOAD end uptime=$(uptime_s) rc=$wrc"
	fi
	;;
robust)
	# CMA state before the module exists, then the fuzz, then drain and unload.
	echo "@@CMAFREE before_insmod=$(cma_free_kb)"
	mark "robust: insmod"
	echo "@@INSMOD uptime=$(uptime_s) params=$params $RIG_INSMOD_EXTRA"
	# shellcheck disable=SC2086 # both hold several key=value words
	insmod /cma_test.ko $params $RIG_INSMOD_EXTRA
	rc=$?
	echo "@@INSMOD rc=$rc"
	if [ $rc = 0 ]; then
		echo "@@WORKLOAD start uptime=$(uptime_s)"
		mark "robust: fuzz seed=$RIG_SEED writes=$RIG_WRITES writers=$RIG_WRITERS"
		/rig fuzz "$RIG_SEED" "$RIG_WRITES" "$RIG_WRITERS"
		frc=$?
		echo "@@FUZZ rc=$frc"
		mark "robust: drain"
		/rig cmd list freeall unhog list
		echo "@@WORKLOAD end uptime=$(uptime_s)"
		mark "robust: rmmod"
		rmmod cma_test
		rrc=$?
		echo "@@RMMOD rc=$rrc"
		mark "robust: done"
		echo "@@CMAFREE after_rmmod=$(cma_free_kb)"
		# End-to-end check that the bitmap is whole again: a fresh module must get
		# all of the area but its first 2 MiB (the boot-time atomic pools) at once.
		if [ -n "$line" ] && [ "$mib" -gt 4 ]; then
			mark "robust: verify"
			# shellcheck disable=SC2086
			insmod /cma_test.ko $params
			/rig cmd "nowarn 1" "alloc $((mib - 2))M" list freeall
			vrc=$?
			rmmod cma_test
			echo "@@VERIFY alloc=$((mib - 2))M rc=$vrc rmmod=$?"
		fi
	fi
	;;
esac

block BOOTMEM cat /tmp/bootmem.txt
block MEMINFO cat /proc/meminfo
block VMSTAT_CMA grep -E 'cma|migrate|compact' /proc/vmstat
block ZONEINFO cat /proc/zoneinfo
block PAGETYPEINFO cat /proc/pagetypeinfo
block IOMEM cat /proc/iomem
# huge page pools (workloads with "huge" steps) and the CMA areas' sysfs counters (7.x)
if grep -q '^[[:space:]]*huge ' /workload.txt 2>/dev/null; then
	# shellcheck disable=SC2016 # expanded by the inner sh
	block HUGEPAGES sh -c 'for d in /sys/kernel/mm/hugepages/*; do
		for f in nr_hugepages free_hugepages resv_hugepages surplus_hugepages; do echo "$d/$f $(cat "$d/$f")"; done
	done'
fi
if [ -d /sys/kernel/mm/cma ]; then
	# shellcheck disable=SC2016 # expanded by the inner sh
	block CMA_SYSFS sh -c 'for f in /sys/kernel/mm/cma/*/*; do echo "$f $(cat "$f")"; done'
fi
block TRACE cat /sys/kernel/tracing/trace
block DMESG dmesg
echo "@@DONE uptime=$(uptime_s)"
sync
poweroff -f
