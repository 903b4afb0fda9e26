#!/usr/bin/env bash
# scripts/deps.sh — installs, idempotently, the Debian 12 packages cmasim builds and tests with.
# Run as root (or with sudo available).  `--qemu` adds what the real-kernel stage needs.
# `--print-qemu` only prints those extra package names, one a line (.ci/qemu-stage.sh
# reads them to know what to purge before testing `cmasim record` on a fresh host).
set -euo pipefail
PKGS=(g++ cmake meson ninja-build pkg-config python3
      libboost-dev librange-v3-dev catch2 librapidcheck-dev libbenchmark-dev
      libcli11-dev libfmt-dev nlohmann-json3-dev clang libclang-rt-14-dev
      fuse3 libfuse3-dev zlib1g-dev liblzma-dev libzstd-dev libtbb-dev chromium-headless-shell libxml2-utils)
QEMU_PKGS=(qemu-system-arm gcc-aarch64-linux-gnu bison flex libelf-dev cpio dwarves kmod)
if [ "${1:-}" = "--print-qemu" ]; then printf '%s\n' "${QEMU_PKGS[@]}"; exit 0; fi
[ "${1:-}" = "--qemu" ] && PKGS+=("${QEMU_PKGS[@]}")
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages already installed"
else
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "deps: installed ${#missing[@]} packages"
fi
