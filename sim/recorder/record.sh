#!/usr/bin/env bash
# sim/recorder/record.sh — boot Debian's arm64 kernel under qemu-system-aarch64 (TCG)
# with kmod/cma_test.ko, run a workload, and write a recording folder in the layout of
# tests/data/traces (trace.txt, dmesg.txt, steps.txt, cmdline.txt, qemu_cmd.txt,
# workload.txt, timing.json, meminfo.txt, ...).
#
#   record.sh --kernel 6.1|6.12|7|7.N|<release> --out DIR [--workload FILE] [--mem 1G]
#             [--cmdline 'cma=64M'] [--timeout 600] [--smp 1] [--cpu cortex-a57] [--cache DIR]
#             [--numa N] [--node NID]
#             [--robust --seed N --writes 10000 --writers 4] [--keep-work]
#   record.sh --print-host-packages   (the host packages it installs when missing,
#                                      besides the kernel's linux-kbuild-*; one a line)
#
# Packages are resolved at run time (the linux-image-arm64 metapackage for 6.1, the
# newest linux-image-6.12.*+deb12-arm64 for 6.12), fetched with `apt-get download`
# into $CMASIM_CACHE (default ~/.cache/cmasim) and reused.  Host tools are installed
# with apt-get when missing (root only).  busybox-static:arm64 is only ever
# downloaded and unpacked, never installed: installing it replaces the host's busybox.
# 7.x (7 = newest 7.x, 7.N = newest 7.N.*, or 7.N.M+debNN-arm64): linux-binary-<rel>
# from trixie-backports (else sid) through a private apt configuration under
# $CMASIM_CACHE/apt/ (the host's sources are never touched); the module is built in a
# cached debootstrap chroot ($CMASIM_CACHE/chroot/<suite>-amd64) holding the kernel's
# headers and kbuild tools, which need a newer glibc than the host's.
#
# --numa N: N NUMA nodes (QEMU -numa, RAM split evenly, one memory backend each; CPU i on
# node i mod N), so the kernel sees N online nodes and reserves its per-node areas
# (numa%d / pernuma%d).  --node NID: the module's device is put on node NID
# (insmod node=NID), so dma_alloc_contiguous() tries that node's area first.
#
# Exit codes: 0 recorded; 2 usage; 3 missing package/tool; 4 build failed;
#             5 boot/guest failed (panic, no /init, insmod failed); 6 watchdog timeout.
set -euo pipefail
{ # the whole script is read before it runs: editing it mid-run cannot break a run

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=${CMASIM_SOURCE_DIR:-$(cd "$SELF_DIR/../.." && pwd)}
KMOD_DIR="$SRC_DIR/kmod"

KERNEL='' OUT='' WORKLOAD='' MEM=1G USER_CMDLINE='' TIMEOUT=600 SMP=1 CPU=cortex-a57
CACHE=${CMASIM_CACHE:-$HOME/.cache/cmasim}
ROBUST=0 SEED=1 WRITES=10000 WRITERS=4 KEEP_WORK=0 INSMOD_EXTRA='' NUMA=1 NODE=''

die() { local code=$1; shift; echo "record.sh: error: $*" >&2; exit "$code"; }
log() { echo "record.sh: $*" >&2; }
now() { date +%s.%N; }
usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}" >&2; exit 2; }

# Host packages installed (without Recommends) when missing; the kernel's
# linux-kbuild-* is added once the kernel is resolved.
HOST_PKGS=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross make bison flex
	libelf-dev cpio gzip dwarves bc)

while [ $# -gt 0 ]; do
	case "$1" in
	--print-host-packages) printf '%s\n' "${HOST_PKGS[@]}"; exit 0 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--workload) WORKLOAD=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--cmdline) USER_CMDLINE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--robust) ROBUST=1; shift ;;
	--seed) SEED=$2; shift 2 ;;
	--writes) WRITES=$2; shift 2 ;;
	--writers) WRITERS=$2; shift 2 ;;
	--insmod-args) INSMOD_EXTRA=$2; shift 2 ;;
	--numa) NUMA=$2; shift 2 ;;
	--node) NODE=$2; shift 2 ;;
	--keep-work) KEEP_WORK=1; shift ;;
	-h|--help) usage ;;
	*) echo "record.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
[ -n "$KERNEL" ] || die 2 "--kernel 6.1|6.12|7|7.N is required"
case "$KERNEL" in
6.1|6.12|6.*-arm64) FAMILY=6 ;;
7|7.[0-9]|7.[0-9][0-9]|7.*-arm64) FAMILY=7 ;;
*) die 2 "--kernel must be 6.1, 6.12, 7, 7.N or a full release like 6.1.0-57-arm64 or 7.3.4+deb13-arm64, not '$KERNEL'" ;;
esac
[ -n "$OUT" ] || die 2 "--out DIR is required"
if [ "$ROBUST" = 0 ]; then
	[ -n "$WORKLOAD" ] || die 2 "--workload FILE is required (or --robust)"
	[ -r "$WORKLOAD" ] || die 2 "cannot read workload file '$WORKLOAD'"
fi
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die 2 "--timeout must be whole seconds"
[[ "$MEM" =~ ^[0-9]+[MG]$ ]] || die 2 "--mem must look like 1G or 512M"
[[ "$NUMA" =~ ^[1-8]$ ]] || die 2 "--numa must be a node count from 1 to 8, not '$NUMA'"
[ -z "$NODE" ] || [[ "$NODE" =~ ^[0-7]$ && "$NODE" -lt "$NUMA" ]] || die 2 "--node must name one of the $NUMA node(s) (0 to $((NUMA - 1))), not '$NODE'"
[ -z "$NODE" ] || INSMOD_EXTRA="${INSMOD_EXTRA:+$INSMOD_EXTRA }node=$NODE"
[[ "$CPU" =~ ^[a-z0-9][a-z0-9,=.-]*$ ]] || die 2 "--cpu must be a QEMU CPU model such as cortex-a57 or max"
[ -f "$KMOD_DIR/cma_test.c" ] || die 3 "kmod sources not found at $KMOD_DIR (set CMASIM_SOURCE_DIR)"

T0=$(now)
declare -A T
mark_time() { T[$1]=$(now); }

# --- host packages ----------------------------------------------------------------
APT=(apt-get -q -y -o DPkg::Lock::Timeout=600)
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	log "apt-get update"
	"${APT[@]}" update >&2 || die 3 "apt-get update failed"
	apt_updated=1
}
META_DEPENDS= # `apt-cache depends linux-image-arm64:arm64`, read once
ensure_arm64_arch() {
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		[ "$(id -u)" = 0 ] || die 3 "arm64 is not a dpkg foreign architecture; run: dpkg --add-architecture arm64 && apt-get update"
		log "dpkg --add-architecture arm64"
		dpkg --add-architecture arm64
		apt_update
	fi
	# stale lists name kernels the archive no longer has: refresh them once a day
	if [ "$(id -u)" = 0 ] && ! find /var/lib/apt/lists -maxdepth 1 -name '*binary-arm64_Packages*' -mmin -1440 2>/dev/null | grep -q .; then
		apt_update
	fi
	META_DEPENDS=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null || true)
	if [ -z "$META_DEPENDS" ]; then
		[ "$(id -u)" = 0 ] || die 3 "no arm64 package lists; run apt-get update"
		apt_update
		META_DEPENDS=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null || true)
		[ -n "$META_DEPENDS" ] || die 3 "package linux-image-arm64:arm64 not found even after apt-get update"
	fi
}
ensure_host_pkgs() {
	local missing=() p
	for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
	[ ${#missing[@]} = 0 ] && return 0
	[ "$(id -u)" = 0 ] || die 3 "missing host packages: ${missing[*]} (apt-get install them as root)"
	log "installing host packages: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends "${missing[@]}" >&2; then
		apt_update
		DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends "${missing[@]}" >&2 ||
			die 3 "apt-get install failed for: ${missing[*]}"
	fi
}

mark_time setup_start
ensure_arm64_arch

# --- resolve the kernel -------------------------------------------------------------
# field FIELD PACKAGE: a field of PACKAGE's stanza in $SHOW (apt-cache show output)
field() { awk -v f="$1:" -v p="$2" '/^Package:/{on = ($2 == p)} on && $1 == f {sub(/^[^:]*: /, ""); print; exit}' <<<"$SHOW"; }
# --- 7.x: a private apt configuration (never the host's sources) ---------------------
# papt_setup NAME SOURCE-LINE...: $CACHE/apt/NAME/{sources.list,lists,cache,status};
# sets PAPT (the -o options); `apt-get update` when the sources changed or the lists
# are more than a day old.
PAPT=()
papt_setup() {
	local d="$CACHE/apt/$1"; shift
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	[ -f "$d/status" ] || : > "$d/status"
	printf '%s\n' "$@" > "$d/sources.list.new"
	if ! cmp -s "$d/sources.list.new" "$d/sources.list"; then
		mv "$d/sources.list.new" "$d/sources.list"; rm -f "$d/.updated"
	else
		rm -f "$d/sources.list.new"
	fi
	PAPT=(-o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Dir::State::status=$d/status"
		-o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=/dev/null
		-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Acquire::Languages=none)
	[ "$(id -u)" = 0 ] && PAPT+=(-o APT::Sandbox::User=root) # _apt cannot enter ~root
	if [ ! -f "$d/.updated" ] || [ -n "$(find "$d/.updated" -mmin +1440)" ]; then
		log "apt-get update (private configuration $d: $*)"
		apt-get -q "${PAPT[@]}" update >&2 || die 3 "apt-get update with the private configuration $d failed"
		touch "$d/.updated"
	fi
}
MIRROR=http://deb.debian.org/debian
DEB_ARM64="deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR"
# newest linux-binary-<rel> matching the --kernel pattern in the current PAPT lists
binary_pkg() {
	local pat
	case "$KERNEL" in
	7) pat='7\.[0-9]+\.[0-9]+\+deb[0-9]+-arm64' ;;
	7.*-arm64) pat=${KERNEL//./\\.}; pat=${pat//+/\\+} ;;
	*) pat=${KERNEL//./\\.}'\.[0-9]+\+deb[0-9]+-arm64' ;;
	esac
	apt-cache "${PAPT[@]}" pkgnames linux-binary- | grep -E "^linux-binary-$pat\$" | sort -V | tail -n1 || true
}
resolve7() {
	[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || ensure_host_pkgs debian-archive-keyring
	SUITE=trixie-backports CHROOT_SUITE=trixie
	papt_setup trixie-backports "$DEB_ARM64 trixie-backports main" "$DEB_ARM64 trixie main"
	BINARY_PKG=$(binary_pkg)
	if [ -z "$BINARY_PKG" ]; then
		log "no linux-binary for --kernel $KERNEL in trixie-backports; trying sid"
		SUITE=sid CHROOT_SUITE=sid
		papt_setup sid "$DEB_ARM64 sid main"
		BINARY_PKG=$(binary_pkg)
	fi
	[ -n "$BINARY_PKG" ] || die 3 "no Debian arm64 kernel (linux-binary-*) for --kernel $KERNEL in trixie-backports or sid"
	RELEASE=${BINARY_PKG#linux-binary-}
	IMAGE_PKG=linux-image-$RELEASE
	HEADERS_PKG=linux-headers-$RELEASE
	SHOW=$(apt-cache "${PAPT[@]}" show --no-all-versions "$BINARY_PKG" "$IMAGE_PKG" "$HEADERS_PKG" 2>/dev/null || true)
	BINARY_VER=$(field Version "$BINARY_PKG")
	IMAGE_VER=$(field Version "$IMAGE_PKG")
	HEADERS_VER=$(field Version "$HEADERS_PKG")
	[ -n "$BINARY_VER" ] || die 3 "package $BINARY_PKG:arm64 is not available in $SUITE"
	[ "$HEADERS_VER" = "$BINARY_VER" ] ||
		die 3 "$HEADERS_PKG:arm64 has version '${HEADERS_VER:-none}' in $SUITE, $BINARY_PKG has $BINARY_VER"
	log "kernel $RELEASE ($BINARY_PKG $BINARY_VER from $SUITE), headers $HEADERS_PKG built in a $CHROOT_SUITE chroot"
}

if [ "$FAMILY" = 6 ]; then
case "$KERNEL" in
6.1)
	IMAGE_PKG=$(grep -o 'linux-image-6\.1\.0-[0-9]*-arm64' <<<"$META_DEPENDS" | head -n1 || true)
	if [ -z "$IMAGE_PKG" ]; then # the metapackage moved on: newest 6.1 build
		IMAGE_PKG=$(apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-arm64$' | sort -V | tail -n1 || true)
	fi ;;
6.12)
	IMAGE_PKG=$(apt-cache pkgnames linux-image-6.12. | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-arm64$' | sort -V | tail -n1 || true) ;;
6.*-arm64)
	IMAGE_PKG=linux-image-$KERNEL ;;
esac
[ -n "$IMAGE_PKG" ] || die 3 "could not resolve a Debian arm64 kernel package for --kernel $KERNEL (apt-cache found none)"
RELEASE=${IMAGE_PKG#linux-image-}
HEADERS_PKG=linux-headers-$RELEASE
SHOW=$(apt-cache show --no-all-versions "$IMAGE_PKG:arm64" "$HEADERS_PKG:arm64" busybox-static:arm64 2>/dev/null || true)
IMAGE_VER=$(field Version "$IMAGE_PKG")
HEADERS_VER=$(field Version "$HEADERS_PKG")
BUSYBOX_VER=$(field Version busybox-static)
[ -n "$IMAGE_VER" ] || die 3 "package $IMAGE_PKG:arm64 is not available (apt-cache show found nothing)"
[ -n "$HEADERS_VER" ] || die 3 "package $HEADERS_PKG:arm64 is not available (apt-cache show found nothing)"
[ -n "$BUSYBOX_VER" ] || die 3 "package busybox-static:arm64 is not available"
HDR_DEPENDS=$(field Depends "$HEADERS_PKG")
COMMON_PKG=$(grep -o 'linux-headers-[^ ,]*-common' <<<"$HDR_DEPENDS" | head -n1 || true)
KBUILD_PKG=$(grep -o 'linux-kbuild-[^ ,(]*' <<<"$HDR_DEPENDS" | head -n1 || true)
[ -n "$COMMON_PKG" ] || die 3 "cannot find the -common headers package in $HEADERS_PKG's Depends"
[ -n "$KBUILD_PKG" ] || die 3 "cannot find the linux-kbuild package in $HEADERS_PKG's Depends"
COMMON_VER=$(apt-cache show --no-all-versions "$COMMON_PKG" 2>/dev/null | awk '/^Version:/{print $2; exit}')
[ -n "$COMMON_VER" ] || die 3 "package $COMMON_PKG is not available"
log "kernel $RELEASE ($IMAGE_PKG $IMAGE_VER), headers $HEADERS_PKG + $COMMON_PKG, host $KBUILD_PKG"

ensure_host_pkgs "${HOST_PKGS[@]}" "$KBUILD_PKG"
else
	resolve7
	SHOW=$(apt-cache show --no-all-versions busybox-static:arm64 2>/dev/null || true)
	BUSYBOX_VER=$(field Version busybox-static)
	[ -n "$BUSYBOX_VER" ] || die 3 "package busybox-static:arm64 is not available"
	# the module is built in the chroot: the host needs no make/kbuild, only debootstrap
	ensure_host_pkgs qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio gzip debootstrap
fi
for tool in qemu-system-aarch64 aarch64-linux-gnu-gcc cpio gzip timeout; do
	command -v "$tool" >/dev/null || die 3 "tool '$tool' not found after installing host packages"
done
mark_time setup_end

# --- download (cached) ---------------------------------------------------------------
mkdir -p "$CACHE/debs"
deb_path() { # NAME VERSION ARCH -> the file apt-get download writes
	echo "$CACHE/debs/${1}_${2//:/%3a}_${3}.deb"
}
fetch() { # NAME VERSION ARCH
	local f; f=$(deb_path "$1" "$2" "$3")
	if [ -s "$f" ]; then return 0; fi
	log "apt-get download $1:$3 ($2)"
	local spec="$1:$3=$2"; [ "$3" = all ] && spec="$1=$2"
	(cd "$CACHE/debs" && apt-get -q download "$spec" >&2 2>"$CACHE/debs/.download.err") ||
		{ cat "$CACHE/debs/.download.err" >&2; die 3 "apt-get download $1:$3=$2 failed"; }
	[ -s "$f" ] || die 3 "apt-get download $1 did not produce $f"
}
fetch7() { # NAME VERSION: an arm64 package through the private configuration
	local f; f=$(deb_path "$1" "$2" arm64)
	if [ -s "$f" ]; then return 0; fi
	log "apt-get download $1:arm64 ($2) from $SUITE"
	(cd "$CACHE/debs" && apt-get -q "${PAPT[@]}" download "$1:arm64=$2" >&2 2>"$CACHE/debs/.download.err") ||
		{ cat "$CACHE/debs/.download.err" >&2; die 3 "apt-get download $1:arm64=$2 failed"; }
	[ -s "$f" ] || die 3 "apt-get download $1 did not produce $f"
}
mark_time download_start
if [ "$FAMILY" = 6 ]; then
	fetch "$IMAGE_PKG" "$IMAGE_VER" arm64
	fetch "$HEADERS_PKG" "$HEADERS_VER" arm64
	fetch "$COMMON_PKG" "$COMMON_VER" all
else
	fetch7 "$BINARY_PKG" "$BINARY_VER"
fi
fetch busybox-static "$BUSYBOX_VER" arm64
mark_time download_end

# --- unpack (cached): vmlinuz, headers tree wired to the host kbuild, busybox -------
mark_time unpack_start
if [ "$FAMILY" = 7 ]; then
	KROOT="$CACHE/unpacked/$RELEASE-$BINARY_VER"
	VMLINUZ="$KROOT/usr/lib/modules/$RELEASE/vmlinuz"
	if [ ! -f "$KROOT/.ready" ]; then
		log "unpacking $BINARY_PKG into $KROOT"
		rm -rf "$KROOT"; mkdir -p "$KROOT"
		dpkg-deb --fsys-tarfile "$(deb_path "$BINARY_PKG" "$BINARY_VER" arm64)" |
			tar -x -C "$KROOT" "./usr/lib/modules/$RELEASE/vmlinuz" ||
			die 3 "no usr/lib/modules/$RELEASE/vmlinuz in $BINARY_PKG"
		touch "$KROOT/.ready"
	fi
else
	KROOT="$CACHE/unpacked/$RELEASE-$IMAGE_VER"
	VMLINUZ="$KROOT/boot/vmlinuz-$RELEASE"
fi
if [ "$FAMILY" = 6 ] && [ ! -f "$KROOT/.ready" ]; then
	log "unpacking $RELEASE into $KROOT"
	rm -rf "$KROOT"; mkdir -p "$KROOT"
	dpkg-deb --fsys-tarfile "$(deb_path "$IMAGE_PKG" "$IMAGE_VER" arm64)" |
		tar -x -C "$KROOT" "./boot/vmlinuz-$RELEASE" || die 3 "no boot/vmlinuz-$RELEASE in $IMAGE_PKG"
	dpkg-deb -x "$(deb_path "$HEADERS_PKG" "$HEADERS_VER" arm64)" "$KROOT"
	dpkg-deb -x "$(deb_path "$COMMON_PKG" "$COMMON_VER" all)" "$KROOT"
	# the headers' Makefile includes the -common tree by absolute path, and their
	# scripts/ and tools/ links point at ../../lib/linux-kbuild-*: wire both here.
	sed -i "s#^include /usr/src/#include $KROOT/usr/src/#" "$KROOT/usr/src/$HEADERS_PKG/Makefile"
	kb=$(readlink "$KROOT/usr/src/$HEADERS_PKG/scripts"); kb=${kb%/scripts}; kb=${kb##*/}
	mkdir -p "$KROOT/usr/lib"
	ln -sfn "/usr/lib/$kb" "$KROOT/usr/lib/$kb"
	touch "$KROOT/.ready"
fi
if [ "$FAMILY" = 6 ]; then
	KDIR="$KROOT/usr/src/$HEADERS_PKG"
	[ -d "$(readlink -f "$KDIR/scripts")" ] || die 3 "host kbuild tree for $KDIR missing (package $KBUILD_PKG)"
fi
BBROOT="$CACHE/unpacked/busybox-$BUSYBOX_VER"
if [ ! -x "$BBROOT/bin/busybox" ]; then
	rm -rf "$BBROOT"; mkdir -p "$BBROOT"
	dpkg-deb -x "$(deb_path busybox-static "$BUSYBOX_VER" arm64)" "$BBROOT"
	[ -x "$BBROOT/bin/busybox" ] || die 3 "busybox-static:arm64 has no bin/busybox"
fi

mark_time unpack_end

# --- 7.x: the build chroot (cached) ----------------------------------------------------
# Debian's 7.x linux-kbuild (fixdep, modpost) needs glibc >= 2.38 (bookworm has 2.36), so
# the module is built in a minbase chroot of CHROOT_SUITE with gcc-aarch64-linux-gnu and
# linux-headers-<rel>:arm64.  .base-ready: debootstrap done; .ready-<rel>-<version>: the
# headers of that kernel installed (it lists the installed packages for kernel.txt).
CHROOT_CREATE=0 CHROOT_INSTALL=0 CHROOT_CACHED=null
in_chroot() { # CMD...: in $CHROOT with /proc and /dev, in a mount namespace of its own
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m -- sh -c 'c=$1; shift; mount -t proc proc "$c/proc" && mount --bind /dev "$c/dev" && exec chroot "$c" "$@"' \
		sh "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a-b}'; }
if [ "$FAMILY" = 7 ]; then
	[ "$(id -u)" = 0 ] || die 3 "building the module for $RELEASE needs a debootstrap chroot: run as root"
	command -v unshare >/dev/null || die 3 "tool 'unshare' (util-linux) not found"
	CHROOT="$CACHE/chroot/$CHROOT_SUITE-amd64"
	CHROOT_CACHED=true
	mkdir -p "$CACHE/chroot"
	exec 9>"$CACHE/chroot/.lock"
	flock 9 # one run at a time creates or installs into the chroot
	if [ ! -f "$CHROOT/.base-ready" ]; then
		CHROOT_CACHED=false
		t=$(now)
		log "debootstrap --variant=minbase --arch=amd64 $CHROOT_SUITE $CHROOT $MIRROR"
		rm -rf "$CHROOT" "$CHROOT.tmp"
		debootstrap --variant=minbase --arch=amd64 "$CHROOT_SUITE" "$CHROOT.tmp" "$MIRROR" \
			>"$CACHE/chroot/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$CACHE/chroot/debootstrap.log" >&2; die 3 "debootstrap $CHROOT_SUITE failed (log: $CACHE/chroot/debootstrap.log)"; }
		chroot "$CHROOT.tmp" dpkg --add-architecture arm64
		if [ "$CHROOT_SUITE" = trixie ]; then
			printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$MIRROR" "$MIRROR" > "$CHROOT.tmp/etc/apt/sources.list"
		else
			printf 'deb %s %s main\n' "$MIRROR" "$CHROOT_SUITE" > "$CHROOT.tmp/etc/apt/sources.list"
		fi
		rm -f "$CHROOT.tmp"/etc/apt/sources.list.d/*
		# no daemons start in the chroot
		printf '#!/bin/sh\nexit 101\n' > "$CHROOT.tmp/usr/sbin/policy-rc.d"; chmod 755 "$CHROOT.tmp/usr/sbin/policy-rc.d"
		mv "$CHROOT.tmp" "$CHROOT"
		touch "$CHROOT/.base-ready"
		CHROOT_CREATE=$(secs "$(now)" "$t")
		log "chroot created in ${CHROOT_CREATE}s"
	fi
	STAMP="$CHROOT/.ready-$RELEASE-$BINARY_VER"
	if [ ! -f "$STAMP" ]; then
		CHROOT_CACHED=false
		t=$(now)
		log "installing gcc-aarch64-linux-gnu make dwarves $HEADERS_PKG:arm64=$HEADERS_VER in the chroot"
		{ in_chroot apt-get -q update && in_chroot apt-get -q -y install --no-install-recommends \
			gcc-aarch64-linux-gnu make dwarves "$HEADERS_PKG:arm64=$HEADERS_VER"; } \
			>"$CACHE/chroot/install-$RELEASE.log" 2>&1 ||
			{ tail -n 30 "$CACHE/chroot/install-$RELEASE.log" >&2; die 3 "installing $HEADERS_PKG:arm64 in the chroot failed (log: $CACHE/chroot/install-$RELEASE.log)"; }
		in_chroot apt-get -q clean >/dev/null 2>&1 || true
		rel_re=${RELEASE%-arm64}; rel_re=${rel_re//./\\.}; rel_re=${rel_re//+/\\+}
		# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
		in_chroot dpkg-query -W -f='${Package}:${Architecture} ${Version}\n' "$HEADERS_PKG" \
			"linux-headers-*-common" "linux-kbuild-${RELEASE%-arm64}" gcc-aarch64-linux-gnu 'gcc-*-aarch64-linux-gnu' \
			libc6 make dwarves 2>/dev/null | grep -v ' $' | grep -E "$rel_re|gcc|libc6|make|dwarves" > "$STAMP.tmp" ||
			die 3 "cannot list the chroot's packages"
		mv "$STAMP.tmp" "$STAMP"
		CHROOT_INSTALL=$(secs "$(now)" "$t")
		log "chroot packages installed in ${CHROOT_INSTALL}s"
	fi
	flock -u 9
	[ -f "$CHROOT/usr/src/$HEADERS_PKG/Makefile" ] || die 3 "no /usr/src/$HEADERS_PKG in the chroot $CHROOT"
fi

# --- build the module and the guest runner -----------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cmasim-record.XXXXXX")
cleanup() { # shellcheck disable=SC2317 # runs from the EXIT trap
	if [ "$KEEP_WORK" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mark_time build_start
mkdir -p "$WORK/kmod"
if [ "$FAMILY" = 7 ]; then
	CKMOD=$(mktemp -d "$CHROOT/tmp/kmod.XXXXXX")
	# shellcheck disable=SC2317 # runs from the EXIT trap
	cleanup() {
		rm -rf "$CKMOD"
		if [ "$KEEP_WORK" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
	}
	cp "$KMOD_DIR"/cma_test.c "$KMOD_DIR"/Kbuild "$KMOD_DIR"/Makefile "$CKMOD/"
	kbuild() {
		in_chroot nice make -j1 -C "/usr/src/$HEADERS_PKG" M="/tmp/${CKMOD##*/}" ARCH=arm64 \
			CROSS_COMPILE=aarch64-linux-gnu- modules && cp "$CKMOD/cma_test.ko" "$WORK/kmod/"
	}
else
	cp "$KMOD_DIR"/cma_test.c "$KMOD_DIR"/Kbuild "$KMOD_DIR"/Makefile "$WORK/kmod/"
	kbuild() { nice make -j1 -C "$KDIR" M="$WORK/kmod" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules; }
fi
if ! kbuild >"$WORK/kmod-build.log" 2>&1; then
	cat "$WORK/kmod-build.log" >&2
	die 4 "building kmod/cma_test.ko against $HEADERS_PKG failed"
fi
if grep -i 'warning' "$WORK/kmod-build.log" >&2; then
	die 4 "building kmod/cma_test.ko against $HEADERS_PKG produced warnings (above)"
fi
mark_time kmod_end
nice aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/cma_run" "$SELF_DIR/cma_run.c" ||
	die 4 "building sim/recorder/cma_run.c failed"
mark_time build_end

# --- initramfs -------------------------------------------------------------------------
IRD="$WORK/initramfs"
mkdir -p "$IRD"/{bin,dev,proc,sys,tmp}
cp "$BBROOT/bin/busybox" "$IRD/bin/busybox"; ln -s busybox "$IRD/bin/sh"
cp "$SELF_DIR/init.sh" "$IRD/init"; chmod 755 "$IRD/init"
cp "$WORK/kmod/cma_test.ko" "$IRD/cma_test.ko"
cp "$WORK/cma_run" "$IRD/rig" # task name without "cma": replay looks for that word
if [ "$ROBUST" = 1 ]; then
	printf '# robustness run\n' > "$IRD/workload.txt"
	mode=robust
else
	cp "$WORKLOAD" "$IRD/workload.txt"
	mode=record
fi
cat > "$IRD/rig.conf" <<EOF
RIG_MODE=$mode
RIG_SEED=$SEED
RIG_WRITES=$WRITES
RIG_WRITERS=$WRITERS
RIG_INSMOD_EXTRA="$INSMOD_EXTRA"
EOF
(cd "$IRD" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$WORK/initramfs.cpio.gz"
mark_time initramfs_end

# --- boot --------------------------------------------------------------------------------
CMDLINE="console=ttyAMA0 log_buf_len=16M trace_buf_size=16M trace_event=cma:* panic=-1 dyndbg=\"file mm/cma.c +p\""
[ -n "$USER_CMDLINE" ] && CMDLINE="$CMDLINE $USER_CMDLINE"
# -cpu: cortex-a57 (--cpu) for every kernel: 7.3 boots on it as 6.x does, with the same
# CMA traces as under `-cpu max`, and reaches /init in ~2.4 s of guest time instead of ~9.7.
# -nic none: virt's default NIC (virtio-net-pci) needs the option ROM efi-virtio.rom
# from ipxe-qemu, only a Recommends of qemu-system-arm; installed with
# --no-install-recommends (above) QEMU stops with `failed to find romfile
# "efi-virtio.rom"`.  The guest uses no network, so it gets no NIC.
# --numa N: one memory backend per node, RAM split evenly in MiB (the first nodes take the
# remainder's MiBs), CPU i on node i mod N; QEMU 7.2 refuses the old `-numa node,mem=`.
NUMA_ARGS=()
if [ "$NUMA" -gt 1 ]; then
	mem_mib=${MEM%[MG]}; [ "${MEM: -1}" = G ] && mem_mib=$((mem_mib * 1024))
	for ((n = 0; n < NUMA; n++)); do
		node_mib=$((mem_mib / NUMA + (n < mem_mib % NUMA ? 1 : 0)))
		cpus=''
		for ((c = n; c < SMP; c += NUMA)); do cpus="$cpus,cpus=$c"; done
		NUMA_ARGS+=(-object "memory-backend-ram,id=ram$n,size=${node_mib}M" -numa "node,nodeid=$n,memdev=ram$n$cpus")
	done
fi
QEMU=(qemu-system-aarch64 -M virt -cpu "$CPU" -smp "$SMP" -m "$MEM" "${NUMA_ARGS[@]}" -nic none -nographic -no-reboot
	-kernel "$VMLINUZ" -initrd "$WORK/initramfs.cpio.gz" -append "$CMDLINE")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/{console.log,trace.txt,dmesg.txt,steps.txt,timing.json,hugepages.txt,cma_sysfs.txt}
echo "$CMDLINE" > "$OUT/cmdline.txt"
printf '%s' "qemu-system-aarch64 -M virt -cpu $CPU -smp $SMP -m $MEM${NUMA_ARGS[*]:+ ${NUMA_ARGS[*]}} -nic none -nographic -no-reboot -kernel vmlinuz-$RELEASE -initrd initramfs.cpio.gz -append '$CMDLINE'" > "$OUT/qemu_cmd.txt"
echo >> "$OUT/qemu_cmd.txt"
cp "$IRD/workload.txt" "$OUT/workload.txt"
if [ "$FAMILY" = 7 ]; then {
	echo "release=$RELEASE"
	echo "suite=$SUITE"
	echo "binary=$BINARY_PKG $BINARY_VER"
	echo "image=$IMAGE_PKG ${IMAGE_VER:-?} (metapackage, not used)"
	echo "headers=$HEADERS_PKG $HEADERS_VER"
	echo "busybox=busybox-static $BUSYBOX_VER"
	echo "chroot=debootstrap --variant=minbase --arch=amd64 $CHROOT_SUITE"
	sed 's/^/chroot_pkg=/' "$STAMP"
	[ "$ROBUST" = 1 ] && echo "robust seed=$SEED writes=$WRITES writers=$WRITERS"
} > "$OUT/kernel.txt"
else {
	echo "release=$RELEASE"
	echo "image=$IMAGE_PKG $IMAGE_VER"
	echo "headers=$HEADERS_PKG $HEADERS_VER"
	echo "busybox=busybox-static $BUSYBOX_VER"
	[ "$ROBUST" = 1 ] && echo "robust seed=$SEED writes=$WRITES writers=$WRITERS"
} > "$OUT/kernel.txt"
fi

log "booting $RELEASE: -m $MEM -smp $SMP, cmdline: $USER_CMDLINE (watchdog ${TIMEOUT}s)"
mark_time qemu_start
set +e
( timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>"$WORK/qemu.stderr"; echo $? > "$WORK/qemu.rc" ) |
	tee "$OUT/console.log" |
	grep --line-buffered -E '^(\[ *[0-9.]+\] Linux version|@@(INIT|WORKLOAD|DONE))' |
	while IFS= read -r l; do echo "$(now) ${l%$'\r'}"; done > "$WORK/marks"
set -e
mark_time qemu_exit
QEMU_RC=$(cat "$WORK/qemu.rc" 2>/dev/null || echo 255)

# --- cut the console into files ----------------------------------------------------------
tr -d '\r' < "$OUT/console.log" > "$WORK/console.txt"
cut_block() { # NAME FILE
	awk -v b="@@BEGIN $1" -v e="@@END $1" '$0==e{f=0} f{print} $0==b{f=1}' "$WORK/console.txt" > "$OUT/$2"
}
cut_block TRACE trace.txt
cut_block DMESG dmesg.txt
cut_block MEMINFO meminfo.txt
cut_block BOOTMEM bootmem.txt
cut_block ZONEINFO zoneinfo.txt
cut_block PAGETYPEINFO pagetypeinfo.txt
cut_block IOMEM iomem.txt
cut_block VMSTAT_CMA vmstat_cma.txt
# optional blocks: only when the guest printed them
grep -qx '@@BEGIN HUGEPAGES' "$WORK/console.txt" && cut_block HUGEPAGES hugepages.txt
grep -qx '@@BEGIN CMA_SYSFS' "$WORK/console.txt" && cut_block CMA_SYSFS cma_sysfs.txt
grep -E '^@@(STEP|FUZZ|CMAFREE|RMMOD|INSMOD|CMA_RESERVED|VERIFY)' "$WORK/console.txt" > "$OUT/steps.txt" || true

mtime() { awk -v k="$1" 'index($0, k) {print $1; exit}' "$WORK/marks"; }
rel() { [ -n "$1" ] && awk -v a="$1" -v b="$T0" 'BEGIN{printf "%.3f", a-b}' || echo null; }
guest_up() { grep -m1 "^$1" "$WORK/console.txt" | sed -n 's/.*uptime=\([0-9.]*\).*/\1/p'; }
n_steps=$(grep -c '^@@STEP' "$OUT/steps.txt" || true)
timed_out=false
if [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then timed_out=true; fi
ws=$(mtime '@@WORKLOAD start'); we=$(mtime '@@WORKLOAD end')
cat > "$OUT/timing.json" <<EOF
{
 "kernel": "$RELEASE",
 "setup": $(awk -v a="${T[setup_end]}" -v b="${T[setup_start]}" 'BEGIN{printf "%.3f", a-b}'),
 "download": $(awk -v a="${T[download_end]}" -v b="${T[download_start]}" 'BEGIN{printf "%.3f", a-b}'),
 "unpack": $(awk -v a="${T[unpack_end]}" -v b="${T[unpack_start]}" 'BEGIN{printf "%.3f", a-b}'),
 "build": $(awk -v a="${T[build_end]}" -v b="${T[build_start]}" 'BEGIN{printf "%.3f", a-b}'),
 "initramfs": $(awk -v a="${T[initramfs_end]}" -v b="${T[build_end]}" 'BEGIN{printf "%.3f", a-b}'),
 "chroot_create": $CHROOT_CREATE,
 "chroot_install": $CHROOT_INSTALL,
 "chroot_cached": $CHROOT_CACHED,
 "kmod_build": $(secs "${T[kmod_end]}" "${T[build_start]}"),
 "boot": $(b=$(mtime '@@INIT'); [ -n "$b" ] && secs "$b" "${T[qemu_start]}" || echo null),
 "qemu_start": $(rel "${T[qemu_start]}"),
 "kernel_banner": $(rel "$(mtime 'Linux version')"),
 "init": $(rel "$(mtime '@@INIT')"),
 "guest_uptime_at_init": $(guest_up '@@INIT' | grep . || echo null),
 "workload_start": $(rel "$ws"),
 "workload_end": $(rel "$we"),
 "guest_uptime_workload_start": $(guest_up '@@WORKLOAD start' | grep . || echo null),
 "guest_uptime_workload_end": $(guest_up '@@WORKLOAD end' | grep . || echo null),
 "steps": $n_steps,
 "done": $(rel "$(mtime '@@DONE')"),
 "qemu_exit": $(rel "${T[qemu_exit]}"),
 "qemu_rc": $QEMU_RC,
 "timed_out": $timed_out
}
EOF

# --- verdict -------------------------------------------------------------------------------
if $timed_out; then
	tail -n 20 "$WORK/console.txt" >&2
	die 6 "watchdog: guest did not finish within ${TIMEOUT}s (console: $OUT/console.log)"
fi
if grep -qE 'Kernel panic|Internal error: Oops' "$WORK/console.txt"; then
	grep -m5 -E -A5 'Kernel panic|Internal error: Oops' "$WORK/console.txt" >&2
	die 5 "guest kernel $RELEASE crashed (console: $OUT/console.log)"
fi
if ! grep -q '^@@INIT' "$WORK/console.txt"; then
	tail -n 30 "$WORK/console.txt" >&2
	cat "$WORK/qemu.stderr" >&2
	die 5 "boot failed: kernel $RELEASE never reached /init (qemu rc $QEMU_RC, console: $OUT/console.log)"
fi
if ! grep -q '^@@INSMOD rc=0' "$WORK/console.txt"; then
	grep -E '^@@INSMOD|cma_test' "$WORK/console.txt" >&2 || true
	die 5 "insmod cma_test.ko failed on $RELEASE (console: $OUT/console.log)"
fi
grep -q '^@@DONE' "$WORK/console.txt" || die 5 "guest stopped before @@DONE (qemu rc $QEMU_RC, console: $OUT/console.log)"
[ "$FAMILY" = 7 ] && log "timing: chroot create ${CHROOT_CREATE}s, chroot install ${CHROOT_INSTALL}s (cached: $CHROOT_CACHED)"
log "timing: module build $(secs "${T[kmod_end]}" "${T[build_start]}")s, boot to /init $(b=$(mtime '@@INIT'); [ -n "$b" ] && secs "$b" "${T[qemu_start]}" || echo ?)s"
log "recorded $n_steps steps on $RELEASE into $OUT ($(rel "${T[qemu_exit]}") s in all)"
exit 0
}
