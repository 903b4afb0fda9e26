// cma/boot/boot.hpp — where each CMA area lands at boot and what the kernel reports.
//
// The top of the boot model: kernel version, arch, RAM size, command line and a
// memblock state (a machine profile, or one read from a memblock=debug log) →
// per area the kernel's own line, base_pfn, count, the alignment applied, the
// DMA atomic pool allocations taken from the default area, and the accounting:
// CmaTotal (/proc/meminfo, fs/proc/meminfo.c: totalcma_pages in kB) and the
// `cma-reserved` K of the "Memory:" line (mm_init.c/page_alloc.c
// mem_init_print_info: totalcma_pages at mem_init, before activation).
// Then cma_activate_area() (mm/cma.c, core_initcall) is checked: pages outside
// RAM (pfn_valid false: WARN, then page_zone() on a missing memmap oopses — the
// 6.1 arm64 `cma=64M@0x10000000` boot panics) and areas crossing a zone boundary
// ("CMA area %s could not be activated"; 5.15+/6.1+ then lower totalcma_pages,
// 4.15/5.10 do not).
// Composition: early_cma.hpp (command line) → dma_contiguous_reserve.hpp (plan,
// with the boot_phase of each declaration) → cma_declare_contiguous.hpp (each
// declaration, against memblock.hpp) → dma_atomic_pool.hpp (boot-time users of
// the default area); hugetlb_cma.hpp (`hugetlb_cma=`) runs at its own moment:
// arm64 5.10 – 6.x in bootmem_init after the NUMA setup (phase paging_init: before
// the memmap, before pernuma, and before the global area except on 5.10 whose
// global area comes from arm64_memblock_init), arm64 7.x after setup_arch (after
// the global area, before the memmap), x86 after dma_contiguous_reserve.  A machine profile's later memblock users (page tables,
// memmap) run between the declarations as their phases come; a state read from a
// log is taken as complete (everything but CMA already reserved).
// Knowingly not modelled: DT reserved-memory CMA nodes, crashkernel,
// the Memory: line's other fields; totalram_pages for the pool size is estimated
// as RAM minus memblock reservations outside CMA areas.
//
// A memblock state read from a log is the state before the FIRST CMA declaration
// (memblock_debug.hpp); the non-CMA reservations the kernel made between two
// declarations (6.1/6.12: the memmap between the hugetlb and the global area) are
// not replayed, and a note says so.
//
// Invariants: areas appear in declaration order; totalcma_pages_at_mem_init is the
// sum of the counts of the declared areas, totalcma_pages that minus the areas
// whose activation failed (5.15+); every input the model made up is in `assumed`.
#pragma once

#include "cma_declare_contiguous.hpp"
#include "dma_atomic_pool.hpp"
#include "dma_contiguous_reserve.hpp"
#include "early_cma.hpp"
#include "hugetlb_cma.hpp"
#include "machine.hpp"
#include "memblock.hpp"
#include "../profile.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cma {

struct boot_config {
  kernel_version kernel{6, 1, 0};
  arch a = arch::arm64;
  phys_addr_t ram_size = 0;              ///< bytes (QEMU -m); used by the machine profile
  std::string cmdline;
  std::string machine;                   ///< "qemu-virt", "pc"; "" = qemu-virt on arm64, pc on x86
  std::optional<memblock> memblock_state; ///< overrides the profile (e.g. from a log)
  std::vector<std::string> memblock_notes; ///< how memblock_state was obtained
  std::optional<cma_kconfig> kconfig;    ///< default: debian_kconfig(a, kernel)
  unsigned zone_dma_bits = 32;           ///< arm64: min(32, DT, ACPI); 32 on QEMU virt
  unsigned numa_nodes = 1;               ///< qemu-virt's NUMA nodes (QEMU -numa), 1 to 8
};

/// One boot-time pool allocation (dma_alloc_from_contiguous) and where it lands.
struct boot_pool_alloc {
  atomic_pool_request request;
  pfn_t pfn = no_pfn; ///< no_pfn: served by buddy
};

struct boot_area {
  std::string why;                       ///< "cma=128M", "Kconfig default (64 MiB)"
  cma_declare_outcome decl;
  bool is_default = false;               ///< the global "reserved" area
  std::vector<boot_pool_alloc> pools;    ///< default area only
  bool activated = false;                ///< survives cma_activate_area()
  bool oopses = false;                   ///< activation touches a missing memmap
  std::vector<std::string> warnings;
  std::optional<hugetlb_cma_area> hugetlb; ///< set for the hugetlb<nid> areas
};

/// One kernel log line; debug lines need CONFIG_CMA_DEBUG (≤ 6.11) or dyndbg.
struct boot_line {
  std::string text;
  bool debug = false;
};

struct boot_report {
  kernel_version kernel;
  arch a = arch::arm64;
  std::string machine;
  phys_addr_t ram_size = 0;
  phys_addr_t arch_limit = 0;            ///< the limit dma_contiguous_reserve() got
  std::vector<boot_area> areas;
  std::vector<boot_line> log;            ///< kernel log lines in order, pr_debug ones flagged
  std::vector<std::string> pool_lines;   ///< "DMA: preallocated …" lines
  page_count totalcma_pages_at_mem_init = 0;
  page_count totalcma_pages = 0;         ///< after activation
  std::uint64_t memory_cma_reserved_k = 0; ///< "Memory: …, NK cma-reserved"
  std::uint64_t cma_total_kb = 0;        ///< /proc/meminfo CmaTotal
  bool panics = false;                   ///< activation oopses (area outside RAM)
  std::string panic_reason;              ///< "" = the activation oops; else why the boot dies
  std::vector<std::string> warnings;
  std::vector<std::string> assumed;
  std::vector<std::string> notes;
  std::optional<std::string> error;      ///< nothing could be modelled (no RAM, …)
};

namespace detail {

inline std::string range_str(phys_addr_t a, phys_addr_t b) {
  return "[" + pa(a) + "-" + pa(b - 1) + "]";
}

/// What a fixed declaration collided with, in words.
inline std::string overlap_names(const memblock& mb, phys_addr_t base, phys_addr_t size) {
  std::string out;
  for (const auto& l : mb.labels_overlapping(base, size))
    out += (out.empty() ? "" : ", ") + l.what + " " + range_str(l.base, l.base + l.size);
  if (!out.empty()) return out;
  for (const auto& r : mb.reserved())
    if (base < r.end() && r.base < base + size)
      out += (out.empty() ? "reserved " : ", ") + range_str(r.base, r.end());
  return out;
}

/// 5.10 arm64 max_zone_phys(bits): the `bits`-sized window holding DRAM start.
inline phys_addr_t arm64_max_zone_phys_510(const memblock& mb, unsigned bits) {
  const phys_addr_t offset = mb.start_of_dram() & ~((phys_addr_t{1} << bits) - 1);
  return std::min(offset + (phys_addr_t{1} << bits), mb.end_of_dram());
}

/// Zone boundaries a CMA area must not cross (cma_activate_area): x86 ZONE_DMA
/// (16 MiB) and DMA32 (4 GiB); arm64 ≤ 5.10 ZONE_DMA (ARM64_ZONE_DMA_BITS 30) and
/// DMA32; arm64 5.11+ ZONE_DMA (zone_dma_bits) and DMA32.
inline std::vector<phys_addr_t> zone_boundaries(const boot_config& c, const memblock& mb) {
  if (c.a == arch::x86_64) return {16 * sz_1m, sz_4g};
  if (c.kernel < kernel_version{5, 11})
    return {arm64_max_zone_phys_510(mb, 30), arm64_max_zone_phys_510(mb, 32)};
  return {arm64_max_zone_phys(mb, std::min(32U, c.zone_dma_bits)), arm64_max_zone_phys(mb, 32)};
}

inline void area_warnings(boot_area& ar, const memblock& before, const memblock& mb,
                          const boot_config& c, phys_addr_t dma_limit, boot_report& rep) {
  const auto& d = ar.decl;
  if (d.requested_size && d.size && d.size != d.requested_size && d.alignment)
    ar.warnings.push_back("size " + std::to_string(d.requested_size >> 10) + " KiB rounded up to " +
                          std::to_string(d.size >> 10) + " KiB by the " +
                          std::to_string(d.alignment >> 10) + " KiB alignment");
  if (!d.ok()) {
    if (d.ret == ebusy)
      ar.warnings.push_back("fixed area " + range_str(d.requested_base, d.requested_base + d.size) +
                            " overlaps " + overlap_names(before, d.requested_base, d.size) +
                            ": -EBUSY");
    else if (d.ret == enomem)
      ar.warnings.push_back("no free " + std::to_string(d.size >> 20) + " MiB block (aligned " +
                            std::to_string(d.alignment >> 10) + " KiB) below " + pa(d.limit) +
                            ": -ENOMEM");
    return;
  }
  (void)mb;
  const phys_addr_t end = d.base + d.size;
  ar.activated = true;
  if (!before.is_region_memory(d.base, d.size)) {
    ar.warnings.push_back("area " + range_str(d.base, end) +
                          " is not inside RAM: memblock reserves it anyway; cma_activate_area() "
                          "warns on pfn_valid() and oopses on the missing memmap (panic)");
    ar.activated = false;
    ar.oopses = true;
    rep.panics = true;
  } else {
    for (phys_addr_t z : zone_boundaries(c, before))
      if (d.base < z && end > z) {
        ar.warnings.push_back("area crosses the zone boundary at " + pa(z) + ": \"cma: CMA area " +
                              d.name + " could not be activated\"");
        ar.activated = false;
      }
  }
  if (end > sz_4g)
    ar.warnings.push_back("area ends above 4 GiB: a device with a 32-bit DMA mask gets pages it "
                          "cannot address (dma-direct returns them and falls back to buddy)");
  if (d.placement == cma_placement::bottom_up_4g && d.requested_base && d.base < d.requested_base)
    ar.warnings.push_back("the bottom-up attempt from 4 GiB ignored base " + pa(d.requested_base));
  if (c.a == arch::arm64 && end > dma_limit && d.ok())
    ar.warnings.push_back("area lies above the ZONE_DMA limit " + pa(dma_limit));
}

inline atomic_pool_zones pool_zones(const boot_config& c, const memblock& mb) {
  atomic_pool_zones z;
  const phys_addr_t reserved = std::min(mb.phys_mem_size(), mb.reserved_size());
  z.totalram_pages = (mb.phys_mem_size() - reserved) >> page_shift;
  z.dram_start = mb.start_of_dram();
  const unsigned bits = c.a == arch::x86_64 ? 24 : c.kernel < kernel_version{5, 11} ? 30
                                                  : std::min(32U, c.zone_dma_bits);
  z.zone_dma_limit = phys_addr_t{1} << bits;
  const auto zones = zone_boundaries(c, mb);
  z.zone_dma_has_memory = mb.start_of_dram() < zones.front();
  z.zone_normal_has_memory = mb.end_of_dram() > zones.back();
  // ZONE_DMA32 is [ZONE_DMA's end, 4 GiB): empty when ZONE_DMA reaches 4 GiB (arm64 zone_dma_bits 32)
  z.zone_dma32_has_memory = zones.front() < zones.back() && mb.start_of_dram() < zones.back() &&
                            mb.end_of_dram() > zones.front();
  return z;
}

inline void add_pools(boot_report& rep, const boot_config& c, const early_cma_params& p,
                      const memblock& mb, page_count cma_pages_in_reserved) {
  atomic_pool_zones z = pool_zones(c, mb);
  z.totalram_pages += cma_pages_in_reserved; // CMA pages are managed once activated
  boot_area* def = nullptr;
  for (auto& a : rep.areas)
    if (a.is_default && a.decl.ok() && a.activated) def = &a;
  std::optional<std::pair<phys_addr_t, phys_addr_t>> area;
  if (def) area = std::pair{def->decl.base, def->decl.size};
  const auto rq = dma_atomic_pool_requests(c.kernel, c.a, z, p.coherent_pool, area);
  std::vector<pfn_t> pfns;
  if (def) pfns = place_atomic_pools(rq, def->decl.base_pfn(), def->decl.count());
  for (std::size_t i = 0; i < rq.size(); ++i) {
    boot_pool_alloc b{rq[i], def ? pfns[i] : no_pfn};
    if (b.pfn == no_pfn) b.request.from_cma = false;
    rep.pool_lines.push_back(rq[i].line);
    if (def) def->pools.push_back(b);
  }
  if (!rq.empty() && !(p.coherent_pool && *p.coherent_pool))
    rep.assumed.push_back("totalram_pages at dma_atomic_pool_init ~ " +
                          std::to_string(z.totalram_pages) +
                          " (RAM minus memblock reservations outside CMA) for the pool size");
}

} // namespace detail

/// The whole boot-time CMA story for one configuration.
inline boot_report simulate_boot(const boot_config& c) {
  boot_report rep;
  rep.kernel = c.kernel;
  rep.a = c.a;
  rep.ram_size = c.ram_size;
  const cma_kconfig k = c.kconfig.value_or(debian_kconfig(c.a, c.kernel));
  if (!c.kconfig)
    rep.assumed.push_back(std::string("Kconfig: CMA_SIZE_SEL_MBYTES, CMA_SIZE_MBYTES=") +
                          std::to_string(k.size_mbytes) + (c.a == arch::arm64 ? " (Debian arm64)" : " (upstream x86)") +
                          ", pageblock order " + std::to_string(k.declare.pageblock_order) +
                          " (HUGETLB_PAGE=y)");
  memblock mb;
  std::vector<memblock_op> later; // the profile's allocations after phase 0
  boot_phase done = boot_phase::sparse_init; // a logged state already has everything
  if (auto n = profile::older_than_modelled_note(c.kernel)) rep.notes.push_back(std::move(*n));
  if (c.memblock_state) {
    mb = *c.memblock_state;
    rep.machine = "memblock log";
    // The log is what the kernel saw: its memory wins over a RAM size given
    // beside it (which may also differ only by firmware holes).
    rep.ram_size = mb.phys_mem_size();
    if (c.ram_size && c.ram_size != rep.ram_size)
      rep.notes.push_back("the memblock state lists " + std::to_string(rep.ram_size >> 20) +
                          " MiB of RAM; the RAM size given (" + std::to_string(c.ram_size >> 20) +
                          " MiB) is ignored");
    rep.notes.insert(rep.notes.end(), c.memblock_notes.begin(), c.memblock_notes.end());
  } else {
    const std::string name = c.machine.empty() ? (c.a == arch::arm64 ? "qemu-virt" : "pc") : c.machine;
    if (c.ram_size == 0) {
      rep.error = "RAM size is 0";
      return rep;
    }
    if (auto why = machine_ram_error(name, c.ram_size)) {
      rep.error = *why;
      return rep;
    }
    if (c.numa_nodes > 1 && name != "qemu-virt" && name != "virt") {
      rep.error = "NUMA nodes are modelled on the qemu-virt profile only";
      return rep;
    }
    if (c.numa_nodes > 8 || c.numa_nodes == 0 || c.ram_size / sz_1m < c.numa_nodes * 64ULL) {
      rep.error = "NUMA nodes: 1 to 8, each with at least 64 MiB of RAM";
      return rep;
    }
    auto m = machine_by_name(name, c.ram_size, c.numa_nodes);
    if (!m) {
      rep.error = "unknown machine profile '" + name + "'";
      return rep;
    }
    // A profile is one machine of one architecture (its RAM map, image and zone
    // layout); running the other arch's rules on it models no real boot.
    if (m->a != c.a) {
      rep.error = "machine profile " + m->name + " is an " + arch_name(m->a) + " machine; an " +
                  arch_name(c.a) + " kernel boots on " + (c.a == arch::arm64 ? "qemu-virt" : "pc");
      return rep;
    }
    mb = m->mb;
    later = m->later;
    done = boot_phase::memblock_init;
    rep.machine = m->name;
    rep.assumed.insert(rep.assumed.end(), m->assumed.begin(), m->assumed.end());
  }
  if (mb.memory().empty()) {
    rep.error = "the memblock state has no memory";
    return rep;
  }
  const early_cma_params p = parse_early_cma_params(c.cmdline, c.kernel);
  for (const auto& l : p.debug_messages) rep.log.push_back({l, true});
  for (const auto& l : p.messages) rep.log.push_back({l, false});
  rep.notes.insert(rep.notes.end(), p.notes.begin(), p.notes.end());
  const dma_contiguous_plan plan = plan_dma_contiguous_reserve(p, k, mb, c.kernel, c.a, c.zone_dma_bits);
  rep.arch_limit = plan.arch_limit;
  rep.notes.insert(rep.notes.end(), plan.notes.begin(), plan.notes.end());
  unsigned declared = 0;
  page_count cma_pages = 0;
  auto advance = [&](boot_phase to) {
    if (to <= done) return;
    for (auto& s : run_memblock_ops(mb, later, done, to)) rep.assumed.push_back(std::move(s));
    done = to;
  };
  const hugetlb_cma_cmdline hp = parse_hugetlb_cma_params(c.cmdline, c.kernel);
  rep.notes.insert(rep.notes.end(), hp.notes.begin(), hp.notes.end());
  for (const auto& l : hp.messages) rep.log.push_back({l, false});
  const hugetlb_cma_rules hr = hugetlb_cma_rules_for(c.kernel);
  bool hugetlb_pending = hp.given && hr.supported;
  // arm64 ≤ 6.x: bootmem_init, before pernuma/kvm_hyp_reserve/sparse_init (and so
  // before a 5.11+ global area); arm64 7.x: mm_core_init_early after setup_arch;
  // x86: setup_arch right after dma_contiguous_reserve.
  const bool hugetlb_early = c.a == arch::arm64 && !hr.from_mm_core_init;
  std::size_t dma_areas_before_hugetlb = 0;
  auto run_hugetlb = [&] {
    hugetlb_pending = false;
    if (hp.null_value) return;
    advance(c.a == arch::arm64 ? boot_phase::paging_init : boot_phase::memblock_init);
    const memblock state = mb;
    const auto res = hugetlb_cma_reserve(mb, hp, c.kernel, 18, k.declare, declared,
                                         detail::zone_boundaries(c, state));
    for (const auto& l : res.lines) rep.log.push_back({l, false});
    rep.notes.insert(rep.notes.end(), res.notes.begin(), res.notes.end());
    if (c.a == arch::x86_64 && res.ran)
      rep.assumed.push_back("x86: the CPU has GBPAGES (pdpe1gb; QEMU's default qemu64 CPU has not, "
                            "and then hugetlb_cma is refused: \"the option isn't supported by current arch\")");
    for (const auto& h : res.areas) {
      boot_area ar;
      ar.why = "hugetlb_cma=" + hp.raw;
      ar.decl = h.decl;
      ar.hugetlb = h;
      rep.notes.insert(rep.notes.end(), h.decl.notes.begin(), h.decl.notes.end());
      if (ar.decl.ok()) {
        rep.totalcma_pages_at_mem_init += ar.decl.count();
        ar.activated = true;
        std::vector<phys_addr_t> zones = detail::zone_boundaries(c, state);
        zones.erase(std::unique(zones.begin(), zones.end()), zones.end());
        for (const auto& [b, sz] : ar.decl.ranges)
          for (phys_addr_t z : zones)
            if (b < z && b + sz > z) {
              ar.warnings.push_back("area crosses the zone boundary at " + detail::pa(z) + ": \"cma: CMA area " +
                                    ar.decl.name + " could not be activated\"");
              ar.activated = false;
            }
        if (ar.activated) cma_pages += ar.decl.count();
        if (!ar.activated)
          ar.warnings.push_back(ar.decl.name + " is not activated: no gigantic page comes from it");
        else if (h.max_alloc_order < static_cast<int>(h.gigantic_order))
          ar.warnings.push_back(ar.decl.name + ": no " + std::to_string((page_size << h.gigantic_order) >> 20) +
                                " MiB-aligned window inside the area: a " +
                                std::to_string((page_size << h.gigantic_order) >> 20) +
                                " MiB gigantic page can never be allocated from it (largest order " +
                                std::to_string(h.max_alloc_order) + ")");
      }
      if (!ar.decl.ok() && ar.decl.ret == enomem)
        ar.warnings.push_back(ar.decl.name + ": no free " + std::to_string(h.size >> 20) +
                              " MiB block aligned to " + std::to_string(ar.decl.alignment >> 20) +
                              " MiB on node " + std::to_string(h.nid) + ": -ENOMEM");
      rep.areas.push_back(std::move(ar));
    }
    if (c.memblock_state && res.ran && dma_areas_before_hugetlb == 0 && !plan.steps.empty())
      rep.notes.push_back("the log's memblock state is the one before the first CMA declaration (the "
                          "hugetlb area): memblock users between it and the later areas (the memmap "
                          "on arm64 6.x) are not replayed, so later bases may lie higher than the "
                          "kernel's");
  };
  if (hp.null_value) {
    rep.panics = true;
    rep.panic_reason = "a bare `hugetlb_cma` (no '='): cmdline_parse_hugetlb_cma() dereferences NULL";
    rep.warnings.push_back("a bare `hugetlb_cma` without '=' makes cmdline_parse_hugetlb_cma() read "
                           "through a NULL pointer during parse_early_param(): the boot hangs before "
                           "the console prints anything (seen on 6.1, 6.12 and 7.3)");
    return rep;
  }
  std::optional<phys_addr_t> default_size; // 7.x numa areas: declared only after it, maybe its size
  for (const auto& planned : plan.steps) {
    if (planned.needs_default && !default_size) continue; // 7.x: dma_contiguous_reserve returned early
    cma_reservation_step step = planned;
    if (step.size_of_default) step.request.size = *default_size;
    if (hugetlb_pending && hugetlb_early && step.phase >= boot_phase::paging_init) run_hugetlb();
    advance(step.phase);
    const memblock state = mb;
    boot_area ar;
    ar.why = step.why;
    ar.is_default = step.request.name == "reserved";
    ar.decl = cma_declare_contiguous_nid(mb, step.request, c.kernel, k.declare, declared);
    if (ar.is_default && ar.decl.ok()) default_size = ar.decl.count() << page_shift;
    for (const auto& l : step.debug_before) rep.log.push_back({l, true});
    for (const auto& l : ar.decl.debug_lines) rep.log.push_back({l, true});
    for (const auto& l : ar.decl.lines) rep.log.push_back({l, false});
    rep.notes.insert(rep.notes.end(), ar.decl.notes.begin(), ar.decl.notes.end());
    if (!ar.decl.ok() && !ar.is_default)
      rep.log.push_back({"cma: dma_" + std::string(c.kernel >= kernel_version{6, 6} ? "numa" : "pernuma") +
                          "_cma_reserve: reservation failed: err " + std::to_string(ar.decl.ret) +
                          ", node " + std::to_string(step.request.nid), false});
    if (ar.decl.ok()) {
      ++declared;
      rep.totalcma_pages_at_mem_init += ar.decl.count();
    }
    detail::area_warnings(ar, state, mb, c, plan.arch_limit, rep);
    if (ar.decl.ok() && ar.activated) cma_pages += ar.decl.count();
    rep.areas.push_back(std::move(ar));
    ++dma_areas_before_hugetlb;
  }
  if (hugetlb_pending && hugetlb_early) run_hugetlb();
  for (const auto& l : plan.debug_after) rep.log.push_back({l, true});
  if (hugetlb_pending) run_hugetlb();
  advance(boot_phase::sparse_init);
  // Activation failures lower totalcma_pages from 5.15 on (KERNEL-FACTS §6.4).
  rep.totalcma_pages = rep.totalcma_pages_at_mem_init;
  for (const auto& a : rep.areas) {
    if (!a.decl.ok() || a.activated || a.oopses) continue;
    rep.log.push_back({"cma: CMA area " + a.decl.name + " could not be activated", false});
    if (c.kernel >= kernel_version{5, 15}) rep.totalcma_pages -= a.decl.count();
  }
  rep.memory_cma_reserved_k = rep.totalcma_pages_at_mem_init * (page_size >> 10);
  rep.cma_total_kb = rep.totalcma_pages * (page_size >> 10);
  if (!rep.panics) detail::add_pools(rep, c, p, mb, cma_pages); // postcore_initcall: after the oops
  for (const auto& a : rep.areas)
    rep.warnings.insert(rep.warnings.end(), a.warnings.begin(), a.warnings.end());
  return rep;
}

/// The "cma: Reserved …" / "cma: Failed …" line of the global area, or "" if none.
inline std::string default_area_line(const boot_report& r) {
  for (const auto& a : r.areas)
    if (a.is_default)
      for (const auto& l : a.decl.lines)
        if (l.rfind("cma: Reserved ", 0) == 0 || l.rfind("cma: Failed ", 0) == 0) return l;
  return "";
}

} // namespace cma
