// cma/boot/machine.hpp — built-in memblock states: what is reserved when CMA is declared.
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
//    and, as allocations of later phases (so an area declared earlier pushes them
//    down, as on arm64 ≤ 5.10):
//      paging_init: linear-map page tables allocated page by page (rodata=full
//        forbids block mappings: one PTE page per 2 MiB, one PMD page per GiB,
//        plus 2) and 0x30000 bytes of unflattened DT, NODE_DATA and mem_section,
//        as one top-down block;
//      sparse_init: the memmap, 2 MiB per present 128 MiB section, 2 MiB aligned,
//        top-down (6.1 declares the global area after it: bootmem_init order);
//    with `nodes` > 1 (QEMU `-numa node,memdev=…` per node, as `cmasim record --numa N`
//    boots): RAM split evenly in MiB, the first nodes taking the remainder, node after
//    node from 0x40000000 (hw/arm/virt.c lays the NUMA memory out in node order);
//    NODE_DATA (arm64 bootmem_init → arch_numa_init, before any CMA area of 6.x and the
//    global area of 7.x) at the top of each node, one 12 KiB block each (6.1.192 prints
//    NODE_DATA [mem 0x7fffd380-0x7fffffff], 7.3.4 0x7fffc7c0-0x7fffffff on 2 GiB / 2
//    nodes); the page tables at the top of RAM (the last node); the memmap of each
//    node inside that node (sparse_init allocates it per node, node 0 first).
//  - `pc` (x86_64, the field notes' 4 GiB PC): RAM [0x1000, 0x9f000),
//    [0x100000, min(size, 3 GiB)) below the PCI hole and the rest from 4 GiB
//    (4 GiB → [4 GiB, 0x140000000)); the low 64 KiB (X86_RESERVE_LOW) and a
//    24 MiB kernel image at 16 MiB reserved.  x86 allocates its memmap after CMA
//    (sparse_init runs in paging_init, after initmem_init/dma_contiguous_reserve).
// Knowingly different: other kernels and initramfs sizes move the image end and
// the initrd; the x86 profile does not place an initrd (bootloader-dependent) nor
// the early page tables; both are listed in `assumed` so the report says so.
//
// Bounds: machine_ram_error() says which RAM sizes a profile can describe (64 MiB
// to 255 GiB on virt, to 1023 GiB on the PC); callers check it first.
// Invariant: the returned memblock state is_valid() and its memory covers `size`
// bytes (pc: size minus the 0x1000..0x100000 hole); `later` is in phase order.
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

/// A memblock user that runs after arm64_memblock_init: a top-down allocation
/// (its place depends on what CMA already took) in the given phase.
struct memblock_op {
  boot_phase phase = boot_phase::paging_init;
  phys_addr_t size = 0;  ///< bytes
  phys_addr_t align = 0; ///< bytes
  std::string what;
  int nid = numa_no_node; ///< the node tried first (memblock_alloc_try_nid), any node next
};

struct machine_layout {
  std::string name;
  arch a = arch::arm64;
  memblock mb;                  ///< the state after arm64_memblock_init (phase 0)
  std::vector<memblock_op> later; ///< allocations of the later phases, in order
  std::vector<std::string> assumed; ///< every input the profile made up
};

/// Runs the ops of phases (after, upto] on mb; returns what they placed, in words.
inline std::vector<std::string> run_memblock_ops(memblock& mb, const std::vector<memblock_op>& ops,
                                                 boot_phase after, boot_phase upto);

struct qemu_virt_options {
  phys_addr_t ram_base = 0x40000000;
  phys_addr_t image_start = 0x40210000;  ///< _stext (Image loaded at RAM + 2 MiB)
  phys_addr_t image_end = 0x4220b000;    ///< _end, page-rounded
  std::optional<phys_addr_t> initrd_size = 0xf3200; ///< bytes; nullopt = no -initrd
  phys_addr_t dtb_size = sz_1m;          ///< fdt_totalsize of QEMU's blob
  phys_addr_t top_misc = 0x30000;        ///< DT unflatten, NODE_DATA, mem_section roots
  phys_addr_t section_size = 128 * sz_1m; ///< arm64 SECTION_SIZE_BITS 27 (5.12+)
  unsigned nodes = 1;                    ///< NUMA nodes (QEMU -numa), 1 to 8
  phys_addr_t node_data = 0x3000;        ///< NODE_DATA, page-rounded (pg_data_t ~ 11-14 KiB)
};

/// How QEMU -numa with one memory backend per node splits `ram_size` over `nodes` nodes as
/// `cmasim record --numa` asks it: whole MiB each, the first nodes taking the remainder.
inline std::vector<phys_addr_t> numa_node_sizes(phys_addr_t ram_size, unsigned nodes) {
  const phys_addr_t mib = ram_size / sz_1m;
  std::vector<phys_addr_t> out;
  for (unsigned n = 0; n < nodes; ++n) out.push_back((mib / nodes + (n < mib % nodes ? 1 : 0)) * sz_1m);
  return out;
}

namespace detail {

inline std::string hex_addr(phys_addr_t v) {
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
  const unsigned nodes = std::clamp(o.nodes, 1U, 8U);
  const auto node_sizes = numa_node_sizes(ram_size, nodes);
  if (nodes == 1) {
    m.mb.add(o.ram_base, ram_size, 0);
    m.assumed.push_back("RAM " + detail::hex_addr(o.ram_base) + "-" + detail::hex_addr(end - 1) +
                        " (QEMU virt, one node)");
  } else {
    phys_addr_t at = o.ram_base;
    for (unsigned n = 0; n < nodes; ++n) {
      m.mb.add(at, node_sizes[n], static_cast<int>(n));
      m.assumed.push_back("node " + std::to_string(n) + ": RAM " + detail::hex_addr(at) + "-" +
                          detail::hex_addr(at + node_sizes[n] - 1) + " (QEMU virt -numa)");
      at += node_sizes[n];
    }
  }
  m.mb.reserve(o.image_start, o.image_end - o.image_start, "kernel image");
  m.assumed.push_back("kernel image " + detail::hex_addr(o.image_start) + "-" +
                      detail::hex_addr(o.image_end - 1) + " (Debian 6.1.0-56-arm64)");
  phys_addr_t after_initrd = o.image_end;
  if (o.initrd_size) {
    const phys_addr_t start = std::max(o.ram_base + std::min(ram_size / 2, 128 * sz_1m), o.image_end);
    const phys_addr_t lo = round_down(start, 4096), hi = round_up(start + *o.initrd_size, 4096);
    m.mb.reserve(lo, hi - lo, "initrd");
    m.assumed.push_back("initrd " + detail::hex_addr(lo) + "-" + detail::hex_addr(hi - 1) + " (" +
                        std::to_string(*o.initrd_size >> 10) + " KiB at RAM + min(RAM/2, 128 MiB))");
    after_initrd = start + *o.initrd_size;
  }
  const phys_addr_t dtb = round_up(after_initrd, sz_2m);
  m.mb.reserve(dtb, o.dtb_size, "DTB");
  m.assumed.push_back("DTB " + detail::hex_addr(dtb) + " (" + std::to_string(o.dtb_size >> 10) +
                      " KiB, next 2 MiB boundary after the initrd)");
  if (nodes == 1) {
    const phys_addr_t top = detail::arm64_linear_map_tables(ram_size) + o.top_misc;
    m.later.push_back({boot_phase::paging_init, top, 4096,
                       "early page tables (rodata=full), unflattened DT, NODE_DATA"});
  } else {
    const phys_addr_t top = detail::arm64_linear_map_tables(ram_size) + o.top_misc - o.node_data;
    m.later.push_back({boot_phase::paging_init, top, 4096, "early page tables (rodata=full), unflattened DT"});
    for (unsigned n = 0; n < nodes; ++n)
      m.later.push_back({boot_phase::paging_init, o.node_data, 4096, "NODE_DATA(" + std::to_string(n) + ")",
                         static_cast<int>(n)});
  }
  for (unsigned n = 0; n < nodes; ++n) {
    const phys_addr_t bytes = nodes == 1 ? ram_size : node_sizes[n];
    const phys_addr_t sections = (bytes + o.section_size - 1) / o.section_size;
    const phys_addr_t memmap = sections * (o.section_size / 4096) * 64;
    m.later.push_back({boot_phase::sparse_init, round_up(memmap, sz_2m), sz_2m,
                       nodes == 1 ? std::string("memmap (sparse_init, 64-byte struct page)")
                                  : "memmap of node " + std::to_string(n) + " (sparse_init, 64-byte struct page)",
                       nodes == 1 ? numa_no_node : static_cast<int>(n)});
  }
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
  m.assumed.push_back("RAM 0x1000-0x9efff, 0x100000-" + detail::hex_addr(low - 1) +
                      (ram_size > low ? ", " + detail::hex_addr(sz_4g) + "-" +
                                            detail::hex_addr(sz_4g + ram_size - low - 1)
                                      : std::string()) +
                      " (PCI hole from 3 GiB)");
  m.mb.reserve(0, 0x10000, "low 64 KiB (X86_RESERVE_LOW)");
  m.mb.reserve(0x1000000, 24 * sz_1m, "kernel image");
  m.assumed.push_back("kernel image 0x1000000-0x27fffff (24 MiB at 16 MiB)");
  m.assumed.push_back("no initrd or early page tables modelled (bootloader-dependent)");
  return m;
}

inline std::vector<std::string> run_memblock_ops(memblock& mb, const std::vector<memblock_op>& ops,
                                                 boot_phase after, boot_phase upto) {
  std::vector<std::string> placed;
  for (const auto& op : ops) {
    if (op.phase <= after || op.phase > upto) continue;
    const phys_addr_t at = mb.alloc_range_nid(op.size, op.align, 0, mb.end_of_dram(), op.nid, false, op.what);
    placed.push_back(op.what + " " + (at ? detail::hex_addr(at) + "-" + detail::hex_addr(at + op.size - 1)
                                         : std::string("(no room)")));
  }
  return placed;
}

/// The profile's state once every phase ran (what a memblock=debug dump shows).
inline memblock final_memblock(const machine_layout& m) {
  memblock mb = m.mb;
  run_memblock_ops(mb, m.later, boot_phase::memblock_init, boot_phase::sparse_init);
  return mb;
}

/// Why a profile cannot hold `ram_size` bytes of RAM, or nullopt when it can.
/// Below 64 MiB the profiles' fixed reservations (the arm64 image at RAM + 2 MiB
/// up to 0x4220b000 and its initrd and DTB; the x86 image at 16–40 MiB) would
/// fall outside RAM.  Above: QEMU virt maps RAM from 1 GiB and refuses more than
/// 255 GiB (hw/arm/virt.c, LEGACY_RAMLIMIT_GB); the PC puts what exceeds 3 GiB at
/// 4 GiB, and QEMU's TCG x86_64 CPUs have 40 physical address bits, so RAM ends
/// below 1 TiB: at most 1023 GiB.  Bounding here keeps every address the profile
/// computes (RAM end, the high RAM range) far from 2^64.
inline std::optional<std::string> machine_ram_error(std::string_view name, phys_addr_t ram_size) {
  const bool virt = name == "qemu-virt" || name == "virt";
  const phys_addr_t lo = 64 * sz_1m;
  const phys_addr_t hi = virt ? 255 * sz_1g : 1023 * sz_1g;
  if (ram_size >= lo && ram_size <= hi) return std::nullopt;
  const std::string mib = std::to_string(ram_size >> 20) + " MiB";
  if (ram_size < lo)
    return "RAM " + (ram_size < sz_1m ? std::to_string(ram_size) + " bytes" : mib) +
           " is below the " + std::string(name) +
           " profile's minimum of 64 MiB (its kernel image, initrd and DTB would lie outside RAM)";
  return "RAM " + mib + " is more than the " + std::string(name) + " profile can hold: " +
         (virt ? "QEMU virt maps at most 255 GiB (from 0x40000000)"
               : "at most 1023 GiB (RAM above 3 GiB starts at 4 GiB; 40 physical address bits)");
}

/// A profile by name ("qemu-virt", "pc"), or nullopt; `nodes` > 1 only on qemu-virt.
inline std::optional<machine_layout> machine_by_name(std::string_view name, phys_addr_t ram_size,
                                                     unsigned nodes = 1) {
  if (name == "qemu-virt" || name == "virt") {
    qemu_virt_options o;
    o.nodes = nodes;
    return qemu_virt(ram_size, o);
  }
  if (name == "pc") return pc(ram_size);
  return std::nullopt;
}

} // namespace cma
