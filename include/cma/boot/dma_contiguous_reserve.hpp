// cma/boot/dma_contiguous_reserve.hpp — which CMA areas the DMA layer declares at
// boot, with which size, base and limit, in which order.
//
// Models kernel/dma/contiguous.c dma_contiguous_reserve(), dma_pernuma_cma_reserve()
// (5.10/6.1) / dma_numa_cma_reserve() (6.6+) (drivers/base/dma-contiguous.c in
// 4.15), and the arch callers (arch/arm64/mm/init.c, arch/x86/kernel/setup.c),
// following KERNEL-FACTS §5.2, §6.3 and §6.5; read in 6.1.192 and 6.12.117:
//  - `cma=` given: size/base from it; limit = min_not_zero(user limit, arch limit)
//    up to 6.17, user limit ?: arch limit from 6.18 (the "hornor" patch: present
//    in 6.18.2, absent in 6.14; 6.15–6.17 are assumed to lack it);
//    fixed = (base + size == user limit), i.e. `size@base`;
//  - otherwise Kconfig: CMA_SIZE_SEL_MBYTES / _PERCENTAGE / _MIN / _MAX, the
//    percentage of PHYS_PFN(memblock_phys_mem_size()) (4.15 sums whole pages per
//    region: the same for page-aligned regions);
//  - size 0 → no global area (`cma=0`);
//  - arch limit: x86 max_pfn_mapped << PAGE_SHIFT (taken as the end of RAM, not
//    traced); arm64 4.15/5.10: the end of the 4 GiB window holding the start of
//    DRAM, capped at the end of DRAM; arm64 6.1+: max_zone_phys(zone_dma_bits)
//    with zone_dma_bits = min(32, DT, ACPI) (32 on QEMU virt);
//  - order: arm64 5.10 global, pernuma; arm64 6.1 pernuma, global; 6.6 – 6.x (both
//    arches) numa/pernuma inside dma_contiguous_reserve, then global; x86 ≤ 6.5
//    never reserves pernuma areas (only arm64 called dma_pernuma_cma_reserve);
//  - 7.x (read in 7.3.4; 6.19 still had the 6.6 form, so the bound 7.0 is assumed):
//    global first, then one numa%d per online node (numa_cma= size, else cma_pernuma=,
//    else with CONFIG_CMA_SIZE_PERNUMA and several nodes the global area's size), none
//    when the global area failed.  Checked on 7.3.4 with 2 nodes and `cma=32M`: reserved,
//    numa0, numa1, 32 MiB each.
// hugetlb_cma is hugetlb_cma.hpp's (its moment relative to these: boot.hpp).
// Knowingly not modelled: DT `linux,cma-default` / `shared-dma-pool` regions (only
// their presence as pre-reserved memory), crashkernel.
//
// Invariant: the declarations run in `plan` order against one memblock state,
// so every later area sees the earlier ones as reserved.
#pragma once

#include "cma_declare_contiguous.hpp"
#include "early_cma.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace cma {

enum class arch { arm64, x86_64 };

constexpr const char* arch_name(arch a) noexcept { return a == arch::arm64 ? "arm64" : "x86_64"; }

enum class cma_size_sel { mbytes, percentage, min, max };

/// Points of the early boot between which other memblock users run (arm64
/// setup_arch: arm64_memblock_init, paging_init + unflatten_device_tree,
/// bootmem_init's sparse_init).  A CMA declaration sees everything reserved by
/// the phases up to and including its own.
enum class boot_phase : int {
  memblock_init = 0, ///< after arm64_memblock_init (kernel, initrd, DTB reserved)
  paging_init = 1,   ///< after the linear map page tables and the unflattened DT
  sparse_init = 2,   ///< after the memmap
};

/// When an area is declared, relative to those phases (KERNEL-FACTS §6.3, §6.5,
/// arch/arm64/mm/init.c 6.1): arm64 ≤ 5.10 calls dma_contiguous_reserve() at the
/// end of arm64_memblock_init (5.11 moved it after zone_sizes_init — inferred from
/// the 5.10/6.1 trees, 5.11 itself not read); pernuma (5.10–6.5) runs in
/// bootmem_init before sparse_init; 6.6+ declares numa areas inside
/// dma_contiguous_reserve.  x86 declares everything before its paging_init.
/// arm64 7.x: sparse_init (the memmap) moved from bootmem_init to
/// mm_core_init_early(), after setup_arch, so dma_contiguous_reserve runs before
/// it (read in 7.3.4; the 7.3.4 boots place `cma=32M` at 3 GiB at 0xfd800000, just
/// under the page tables, not under a 48 MiB memmap; the bound 7.0 is the
/// consolidation series posted in January 2026, not checked on a 7.0 tree).
constexpr boot_phase cma_declare_phase(arch a, const kernel_version& kv, bool global) noexcept {
  if (a == arch::x86_64) return boot_phase::memblock_init;
  if (kv >= kernel_version{7, 0}) return boot_phase::paging_init;
  if (global) return kv < kernel_version{5, 11} ? boot_phase::memblock_init : boot_phase::sparse_init;
  return kv < kernel_version{6, 6} ? boot_phase::paging_init : boot_phase::sparse_init;
}

/// The CMA Kconfig of a kernel build (kernel/dma/Kconfig, mm/Kconfig).
struct cma_kconfig {
  cma_size_sel sel = cma_size_sel::mbytes;
  std::uint64_t size_mbytes = 16;   ///< CONFIG_CMA_SIZE_MBYTES
  unsigned percentage = 10;         ///< CONFIG_CMA_SIZE_PERCENTAGE
  unsigned cma_alignment = 8;       ///< CONFIG_CMA_ALIGNMENT (orders)
  cma_declare_config declare{};     ///< pageblock order, NUMA, area slots
  bool numa_cma = true;             ///< CONFIG_DMA_PERNUMA_CMA / DMA_NUMA_CMA
  bool size_pernuma = false;        ///< CONFIG_CMA_SIZE_PERNUMA (7.x, default y with DMA_NUMA_CMA)
};

/// Upstream Kconfig defaults: x86 selects 0 MiB / 0 %, everything else 16 MiB / 10 %.
inline cma_kconfig upstream_kconfig(arch a, const kernel_version& kv) {
  cma_kconfig k;
  if (a == arch::x86_64) {
    k.size_mbytes = 0;
    k.percentage = 0;
  }
  // MAX_CMA_AREAS: 1 + CMA_AREAS up to 6.11, CMA_AREAS from 6.12 (defaults 7/19, 8/20).
  const bool numa = k.declare.numa;
  k.size_pernuma = kv >= kernel_version{7, 0};
  if (kv < kernel_version{5, 10}) k.declare.max_areas = 1 + 7;
  else if (kv < kernel_version{6, 12}) k.declare.max_areas = 1 + (numa ? 19 : 7);
  else k.declare.max_areas = numa ? 20 : 8;
  return k;
}

/// Debian's builds: arm64 sets CMA_SIZE_MBYTES=64 (the 64 MiB default area of the
/// place_default_1G trace, linux-image-6.1.0-56-arm64); amd64 is taken as upstream.
/// The per-node areas, read in the arm64 packages' configs and checked on 2-node boots:
/// 6.1.0-57 DMA_PERNUMA_CMA=y; 6.12.118 DMA_NUMA_CMA unset (its boot says `Unknown kernel
/// command line parameters "cma_pernuma=16M numa_cma=1:8M"`; taken for every 6.6 – 6.x);
/// 7.3.4 DMA_NUMA_CMA=y and CMA_SIZE_PERNUMA=y.
inline cma_kconfig debian_kconfig(arch a, const kernel_version& kv) {
  cma_kconfig k = upstream_kconfig(a, kv);
  if (a == arch::arm64) {
    k.size_mbytes = 64;
    k.numa_cma = kv < kernel_version{6, 6} || kv >= kernel_version{7, 0};
    k.size_pernuma = kv >= kernel_version{7, 0};
  }
  return k;
}

/// The global area's size when `cma=` was not given.
inline phys_addr_t kconfig_cma_size(const cma_kconfig& k, const memblock& mb) {
  const phys_addr_t mbytes = k.size_mbytes * sz_1m;
  const phys_addr_t total_pages = mb.phys_mem_size() >> page_shift;
  const phys_addr_t percent = (total_pages * k.percentage / 100) << page_shift;
  switch (k.sel) {
  case cma_size_sel::mbytes: return mbytes;
  case cma_size_sel::percentage: return percent;
  case cma_size_sel::min: return std::min(mbytes, percent);
  case cma_size_sel::max: return std::max(mbytes, percent);
  }
  return mbytes;
}

/// arm64 max_zone_phys(bits) as 6.1 computes it (arch/arm64/mm/init.c).
inline phys_addr_t arm64_max_zone_phys(const memblock& mb, unsigned zone_bits) {
  phys_addr_t zone_mask = zone_bits >= 64 ? ~phys_addr_t{0} : (phys_addr_t{1} << zone_bits) - 1;
  const phys_addr_t start = mb.start_of_dram();
  if (start > 0xffffffffULL)
    zone_mask = ~phys_addr_t{0};
  else if (start > zone_mask)
    zone_mask = 0xffffffffULL;
  return std::min(zone_mask, mb.end_of_dram() - 1) + 1;
}

/// The limit the arch passes to dma_contiguous_reserve().
inline phys_addr_t arch_dma_contiguous_limit(arch a, const kernel_version& kv, const memblock& mb,
                                             unsigned zone_dma_bits = 32) {
  if (a == arch::x86_64) return mb.end_of_dram(); // max_pfn_mapped << PAGE_SHIFT (assumed)
  if (kv < kernel_version{5, 11}) {
    // 4.15 max_zone_dma_phys / 5.10 max_zone_phys(32): the 4 GiB window of DRAM start.
    const phys_addr_t offset = mb.start_of_dram() & ~phys_addr_t{0xffffffffULL};
    return std::min(offset + sz_4g, mb.end_of_dram());
  }
  return arm64_max_zone_phys(mb, std::min(32U, zone_dma_bits));
}

/// One declaration dma_contiguous_reserve() makes, before it runs.
struct cma_reservation_step {
  cma_declare_request request;
  std::string why; ///< "cma=", "Kconfig CMA_SIZE_MBYTES=64", "cma_pernuma="
  std::vector<std::string> debug_before; ///< pr_debug lines printed just before it
  boot_phase phase = boot_phase::sparse_init; ///< when, relative to other memblock users
  /// 7.x: a node's area declared after the default one, which only runs when the default
  /// area, if one was tried, was declared (dma_contiguous_reserve returns early otherwise) ...
  bool needs_default = false;
  /// ... and, sized by CONFIG_CMA_SIZE_PERNUMA, takes that area's size (cma_get_size).
  bool size_of_default = false;
};

struct dma_contiguous_plan {
  std::vector<cma_reservation_step> steps;
  std::vector<std::string> debug_after; ///< pr_debug lines after the last step (no global area)
  std::vector<std::string> notes;
  phys_addr_t arch_limit = 0;
};

namespace detail {

/// The online nodes: those with memory (QEMU virt gives every -numa node some).
inline std::vector<int> online_nodes(const memblock& mb) {
  std::vector<int> nodes;
  for (const auto& r : mb.memory())
    if (r.nid >= 0 && std::find(nodes.begin(), nodes.end(), r.nid) == nodes.end()) nodes.push_back(r.nid);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

inline void invalid_numa_nodes(dma_contiguous_plan& plan, const early_cma_params& p, const std::vector<int>& nodes) {
  for (const auto& [nid, size] : p.numa_cma)
    if (size && std::find(nodes.begin(), nodes.end(), int(nid)) == nodes.end())
      plan.notes.push_back("numa_cma=: node " + std::to_string(nid) +
                           " is not online: \"invalid node " + std::to_string(nid) + " specified\"");
}

/// 5.10 – 6.x: pernuma<N> (cma_pernuma=) then, 6.6+, numa<N> (numa_cma=), node by node.
inline void plan_numa_areas(dma_contiguous_plan& plan, const early_cma_params& p,
                            const memblock& mb) {
  const auto nodes = online_nodes(mb);
  for (int nid : nodes) {
    if (p.pernuma_size) {
      cma_declare_request rq;
      rq.size = p.pernuma_size;
      rq.name = "pernuma" + std::to_string(nid);
      rq.nid = nid;
      plan.steps.push_back({rq, "cma_pernuma=", {}, boot_phase::sparse_init});
    }
    if (auto it = p.numa_cma.find(static_cast<unsigned>(nid)); it != p.numa_cma.end() && it->second) {
      cma_declare_request rq;
      rq.size = it->second;
      rq.name = "numa" + std::to_string(nid);
      rq.nid = nid;
      plan.steps.push_back({rq, "numa_cma=", {}, boot_phase::sparse_init});
    }
  }
  invalid_numa_nodes(plan, p, nodes);
}

/// 7.x dma_numa_cma_reserve(), after the default area (kernel/dma/contiguous.c 7.3.4): one
/// numa<N> per online node, its numa_cma= size first, else cma_pernuma=, else — with
/// CONFIG_CMA_SIZE_PERNUMA, neither option given and more than one node online — the default
/// area's size.  Nothing when the default area was tried and failed (dma_contiguous_reserve
/// returns first); with `cma=0` it tries none, and the numa_cma=/cma_pernuma= sizes still apply.
inline void plan_numa_areas_7x(dma_contiguous_plan& plan, const early_cma_params& p, const cma_kconfig& k,
                               const memblock& mb) {
  const auto nodes = online_nodes(mb);
  const bool configured = p.pernuma_given || p.numa_cma_given;
  // A default area is declared here only when its size is not 0 (`cma=0`: none, and then
  // nothing to fail, so the nodes' own sizes still apply; nothing to copy either).
  const bool global_planned = std::any_of(plan.steps.begin(), plan.steps.end(),
                                          [](const cma_reservation_step& s) { return s.request.name == "reserved"; });
  const bool by_default = k.size_pernuma && !configured && nodes.size() > 1 && global_planned;
  for (int nid : nodes) {
    cma_reservation_step st;
    st.request.nid = nid;
    st.request.name = "numa" + std::to_string(nid);
    st.needs_default = global_planned;
    if (auto it = p.numa_cma.find(static_cast<unsigned>(nid)); it != p.numa_cma.end() && it->second) {
      st.request.size = it->second;
      st.why = "numa_cma=";
    } else if (p.pernuma_size) {
      st.request.size = p.pernuma_size;
      st.why = "cma_pernuma=";
    } else if (by_default) {
      st.size_of_default = true;
      st.why = "CONFIG_CMA_SIZE_PERNUMA (the default area's size on every node)";
    } else {
      continue;
    }
    plan.steps.push_back(std::move(st));
  }
  invalid_numa_nodes(plan, p, nodes);
}

constexpr phys_addr_t min_not_zero(phys_addr_t a, phys_addr_t b) noexcept {
  return a == 0 ? b : b == 0 ? a : std::min(a, b);
}

inline std::string hex8(phys_addr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(v));
  return buf;
}

inline void plan_global_area(dma_contiguous_plan& plan, const early_cma_params& p,
                             const cma_kconfig& k, const memblock& mb, const kernel_version& kv) {
  const phys_addr_t limit = plan.arch_limit;
  const char* func = "dma_contiguous_reserve";
  std::vector<std::string> dbg{std::string("cma: ") + func + "(limit " + hex8(limit) + ")"};
  cma_declare_request rq;
  rq.name = "reserved";
  std::string why;
  if (p.cma.given) {
    rq.size = p.cma.size;
    rq.base = p.cma.base;
    const bool user_limit_wins = kv >= kernel_version{6, 18};
    rq.limit = user_limit_wins ? (p.cma.limit ? p.cma.limit : limit)
                               : min_not_zero(p.cma.limit, limit);
    rq.fixed = p.cma.base + p.cma.size == p.cma.limit;
    why = "cma=" + p.cma.raw;
  } else {
    rq.size = kconfig_cma_size(k, mb);
    rq.limit = limit;
    why = "Kconfig default (" + std::to_string(rq.size / sz_1m) + " MiB)";
  }
  if (!rq.size) {
    plan.notes.push_back(why + ": size 0, no global CMA area");
    plan.debug_after = std::move(dbg);
    return;
  }
  dbg.push_back(std::string("cma: ") + func + ": reserving " + std::to_string(rq.size / sz_1m) +
                " MiB for global area");
  plan.steps.push_back({rq, why, std::move(dbg), boot_phase::sparse_init});
}

} // namespace detail

/// The declarations, in the order the version and arch make them.
inline dma_contiguous_plan plan_dma_contiguous_reserve(const early_cma_params& p,
                                                       const cma_kconfig& k, const memblock& mb,
                                                       const kernel_version& kv, arch a,
                                                       unsigned zone_dma_bits = 32) {
  dma_contiguous_plan plan;
  plan.arch_limit = arch_dma_contiguous_limit(a, kv, mb, zone_dma_bits);
  const bool numa_params = p.pernuma_size || !p.numa_cma.empty();
  const bool numa_first = kv >= kernel_version{6, 6} || (a == arch::arm64 && kv >= kernel_version{6, 1});
  const bool numa_supported = k.numa_cma && kv >= kernel_version{5, 10} &&
                              (a == arch::arm64 || kv >= kernel_version{6, 6});
  if (numa_params && !numa_supported)
    plan.notes.push_back(std::string("cma_pernuma=/numa_cma= have no effect on ") + arch_name(a) + " " + kv.str() +
                         (k.numa_cma ? std::string()
                                     : " built without CONFIG_DMA_NUMA_CMA (Debian's 6.12): it prints `Unknown kernel "
                                       "command line parameters` for them and passes them to init"));
  if (kv >= kernel_version{7, 0}) {
    detail::plan_global_area(plan, p, k, mb, kv);
    if (k.numa_cma) detail::plan_numa_areas_7x(plan, p, k, mb);
    for (auto& st : plan.steps) st.phase = cma_declare_phase(a, kv, st.request.name == "reserved");
    return plan;
  }
  if (numa_supported && numa_first) detail::plan_numa_areas(plan, p, mb);
  detail::plan_global_area(plan, p, k, mb, kv);
  if (numa_supported && !numa_first) detail::plan_numa_areas(plan, p, mb);
  for (auto& st : plan.steps) st.phase = cma_declare_phase(a, kv, st.request.name == "reserved");
  return plan;
}

} // namespace cma
