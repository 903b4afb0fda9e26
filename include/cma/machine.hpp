// cma/machine.hpp — built-in memblock states: what is reserved when CMA is declared.
//
// Two profiles, each a description of one machine as the kernel sees it at the
// moment dma_contiguous_reserve() runs:
//  - `qemu-virt` (arm64, `qemu-system-aarch64 -M virt`, Debian 6.1.0-56-arm64,
//    measured from tests/data/traces/place_fixed_0x48 with memblock=debug):
//      RAM [0x40000000, +size) on node 0;
//      kernel image [0x40210000, 0x4220b000) (_stext.._end, after paging_init
//        freed the early page directory);
//      initrd at RAM + min(size/2, 128 MiB) (QEMU hw/arm/boot.c), page-rounded,
//        972 KiB (the traces' initramfs);
//      DTB: 1 MiB at the next 2 MiB boundary after the initrd (QEMU);
//      the top of RAM: linear-map page tables allocated page by page (rodata=full
//        forbids block mappings: one PTE page per 2 MiB, one PMD page per GiB,
//        plus 2) and 0x30000 bytes of unflattened DT, NODE_DATA and mem_section;
//      the memmap sparse_init allocates before CMA (arch/arm64/mm/init.c 6.1
//        bootmem_init order): 2 MiB per present 128 MiB section, 2 MiB aligned,
//        top-down below the above.
//  - `pc` (x86_64, the field notes' 4 GiB PC): RAM [0x1000, 0x9f000),
//    [0x100000, min(size, 3 GiB)) below the PCI hole and the rest from 4 GiB
//    (4 GiB → [4 GiB, 0x140000000)); the low 64 KiB (X86_RESERVE_LOW) and a
//    24 MiB kernel image at 16 MiB reserved.  x86 allocates its memmap after CMA
//    (sparse_init runs in paging_init, after initmem_init/dma_contiguous_reserve).
// Knowingly different: other kernels and initramfs sizes move the image end and
// the initrd; the x86 profile does not place an initrd (bootloader-dependent) nor
// the early page tables; both are listed in `assumed` so the report says so.
//
// Invariant: the returned memblock state is_valid() and its memory covers `size`
// bytes (pc: size minus the 0x1000..0x100000 hole).
#pragma once

#include "dma_contiguous_reserve.hpp"
#include "memblock.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma {

struct machine_layout {
  std::string name;
  arch a = arch::arm64;
  memblock mb;
  std::vector<std::string> assumed; ///< every input the profile made up
};

struct qemu_virt_options {
  phys_addr_t ram_base = 0x40000000;
  phys_addr_t image_start = 0x40210000;  ///< _stext (Image loaded at RAM + 2 MiB)
  phys_addr_t image_end = 0x4220b000;    ///< _end, page-rounded
  std::optional<phys_addr_t> initrd_size = 0xf3800; ///< bytes; nullopt = no -initrd
  phys_addr_t dtb_size = sz_1m;          ///< fdt_totalsize of QEMU's blob
  phys_addr_t top_misc = 0x30000;        ///< DT unflatten, NODE_DATA, mem_section roots
  phys_addr_t section_size = 128 * sz_1m; ///< arm64 SECTION_SIZE_BITS 27 (5.12+)
};

namespace detail {

inline std::string hex(phys_addr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// Pages of the linear-map page tables with page granularity (rodata=full).
constexpr phys_addr_t arm64_linear_map_tables(phys_addr_t ram) noexcept {
  const phys_addr_t pte_pages = (ram + sz_2m - 1) / sz_2m;
  const phys_addr_t pmd_pages = (ram + sz_1g - 1) / sz_1g;
  return (pte_pages + pmd_pages + 2) * 4096;
}

} // namespace detail

inline machine_layout qemu_virt(phys_addr_t ram_size, const qemu_virt_options& o = {}) {
  machine_layout m;
  m.name = "qemu-virt";
  m.a = arch::arm64;
  const phys_addr_t end = o.ram_base + ram_size;
  m.mb.add(o.ram_base, ram_size, 0);
  m.assumed.push_back("RAM " + detail::hex(o.ram_base) + "-" + detail::hex(end - 1) +
                      " (QEMU virt, one node)");
  m.mb.reserve(o.image_start, o.image_end - o.image_start, "kernel image");
  m.assumed.push_back("kernel image " + detail::hex(o.image_start) + "-" +
                      detail::hex(o.image_end - 1) + " (Debian 6.1.0-56-arm64)");
  phys_addr_t after_initrd = o.image_end;
  if (o.initrd_size) {
    const phys_addr_t start = std::max(o.ram_base + std::min(ram_size / 2, 128 * sz_1m), o.image_end);
    const phys_addr_t lo = round_down(start, 4096), hi = round_up(start + *o.initrd_size, 4096);
    m.mb.reserve(lo, hi - lo, "initrd");
    m.assumed.push_back("initrd " + detail::hex(lo) + "-" + detail::hex(hi - 1) + " (" +
                        std::to_string(*o.initrd_size >> 10) + " KiB at RAM + min(RAM/2, 128 MiB))");
    after_initrd = start + *o.initrd_size;
  }
  const phys_addr_t dtb = round_up(after_initrd, sz_2m);
  m.mb.reserve(dtb, o.dtb_size, "DTB");
  m.assumed.push_back("DTB " + detail::hex(dtb) + " (" + std::to_string(o.dtb_size >> 10) +
                      " KiB, next 2 MiB boundary after the initrd)");
  const phys_addr_t top = detail::arm64_linear_map_tables(ram_size) + o.top_misc;
  m.mb.reserve(end - top, top, "early page tables, unflattened DT, NODE_DATA");
  m.assumed.push_back("top of RAM " + detail::hex(end - top) + "-" + detail::hex(end - 1) +
                      ": early page tables (rodata=full), unflattened DT, NODE_DATA");
  const phys_addr_t sections = (ram_size + o.section_size - 1) / o.section_size;
  const phys_addr_t memmap = sections * (o.section_size / 4096) * 64;
  const phys_addr_t at = m.mb.alloc_range_nid(round_up(memmap, sz_2m), sz_2m, 0, end, 0, false,
                                              "memmap (sparse_init)");
  m.assumed.push_back("memmap " + detail::hex(at) + "-" + detail::hex(at + memmap - 1) +
                      " (sparse_init, 64-byte struct page, allocated before CMA)");
  return m;
}

/// The field notes' PC: RAM below a PCI hole at 3 GiB, the rest from 4 GiB.
inline machine_layout pc(phys_addr_t ram_size) {
  machine_layout m;
  m.name = "pc";
  m.a = arch::x86_64;
  const phys_addr_t low = std::min(ram_size, 3 * sz_1g);
  m.mb.add(0x1000, 0x9f000 - 0x1000, 0);
  m.mb.add(0x100000, low - 0x100000, 0);
  if (ram_size > low) m.mb.add(sz_4g, ram_size - low, 0);
  m.assumed.push_back("RAM 0x1000-0x9efff, 0x100000-" + detail::hex(low - 1) +
                      (ram_size > low ? ", " + detail::hex(sz_4g) + "-" +
                                            detail::hex(sz_4g + ram_size - low - 1)
                                      : std::string()) +
                      " (PCI hole from 3 GiB)");
  m.mb.reserve(0, 0x10000, "low 64 KiB (X86_RESERVE_LOW)");
  m.mb.reserve(0x1000000, 24 * sz_1m, "kernel image");
  m.assumed.push_back("kernel image 0x1000000-0x27fffff (24 MiB at 16 MiB)");
  m.assumed.push_back("no initrd or early page tables modelled (bootloader-dependent)");
  return m;
}

/// A profile by name ("qemu-virt", "pc"), or nullopt.
inline std::optional<machine_layout> machine_by_name(std::string_view name, phys_addr_t ram_size) {
  if (name == "qemu-virt" || name == "virt") return qemu_virt(ram_size);
  if (name == "pc") return pc(ram_size);
  return std::nullopt;
}

} // namespace cma
