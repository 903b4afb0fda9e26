// cma/boot/dma_atomic_pool.hpp — the CMA allocations the DMA atomic pools make at boot.
//
// Models kernel/dma/pool.c dma_atomic_pool_init()/atomic_pool_expand()/cma_in_zone()
// (read in 6.1.192 and 6.12.117) and 4.15 arch/arm64/mm/dma-mapping.c
// atomic_pool_init(), following KERNEL-FACTS §6.6:
//  - pool size: coherent_pool= if given, else totalram_pages / (1 GiB / 128 KiB)
//    pages, at most MAX_ORDER_NR_PAGES (1024), at least 128 KiB;
//  - order = min(get_order(size), MAX_ORDER - 1 = 10); each pool asks the default
//    area for 2^order pages aligned to 2^order (dma_alloc_from_contiguous(NULL,
//    1 << order, order)), only when cma_in_zone(): the area ends at or below the
//    pool's zone limit (GFP_DMA: DMA_BIT_MASK(zone_dma_bits); GFP_DMA32: 4 GiB,
//    6.12: the larger of 4 GiB and the DMA zone limit; GFP_KERNEL: always).  The
//    5.9 form measured the end from the start of DRAM; the model applies that up
//    to 5.10 (seen in the merged patch mail, not in a 5.10 tree);
//  - pools in order GFP_KERNEL (6.19: only when ZONE_NORMAL has memory), GFP_DMA
//    (when ZONE_DMA has managed pages; 5.10: when CONFIG_ZONE_DMA), GFP_DMA32 (7.0+:
//    only when ZONE_DMA32 has managed pages, has_managed_dma32 in pool.c 7.3 — on a QEMU
//    virt arm64 below 4 GiB ZONE_DMA takes it all, so 7.3 prints one pool, as recorded);
//  - 4.15 arm64: one pool of 256 KiB (64 pages, order 6) from the default area;
//    4.15 x86 has no pools.
// Knowingly different: a failed CMA attempt falls back to buddy at the same order
// (the kernel then also lowers the order only if buddy fails too, which the model
// treats as never); x86 is taken to build pool.c (Debian's AMD_MEM_ENCRYPT=y);
// totalram_pages is an estimate the caller supplies (the traces' 1/2/4 GiB boots
// sit far from the thresholds); the 6.19 kernel-pool rule is verified in 6.19 only.
//
// Invariant: requests are in allocation order; every from_cma request has
// count == 2^align.
#pragma once

#include "dma_contiguous_reserve.hpp"
#include "../kernel_version.hpp"
#include "memblock.hpp"
#include "../types.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cma {

/// One boot-time pool allocation: cma_alloc(default area, count, align).
struct atomic_pool_request {
  std::string gfp;          ///< "GFP_KERNEL", "GFP_KERNEL|GFP_DMA", "GFP_KERNEL|GFP_DMA32"
  page_count count = 0;     ///< pages
  unsigned align = 0;       ///< order
  bool from_cma = false;    ///< false: cma_in_zone() said no, buddy serves it
  std::string line;         ///< "DMA: preallocated N KiB <gfp> pool for atomic allocations"
};

/// What the pools need to know about the machine after boot.
struct atomic_pool_zones {
  page_count totalram_pages = 0;
  bool zone_dma_has_memory = true;     ///< has_managed_dma()
  bool zone_normal_has_memory = false; ///< 6.19's condition for the GFP_KERNEL pool
  bool zone_dma32_has_memory = true;   ///< 7.0's condition for the GFP_DMA32 pool
  phys_addr_t zone_dma_limit = sz_4g;  ///< 1 << zone_dma_bits (arm64 6.1 virt: 32 bits; x86: 24)
  phys_addr_t dram_start = 0;          ///< memblock_start_of_DRAM (≤ 5.10 measures from it)
};

namespace detail {

constexpr unsigned get_order_pages(page_count pages) noexcept {
  unsigned order = 0;
  while ((page_count{1} << order) < pages) ++order;
  return order;
}

/// cma_in_zone(): ≤ 5.10 measures the area's end from the start of DRAM (the form
/// merged in 5.9, "end = base - memblock_start_of_DRAM() + size - 1"), 6.1 from 0.
inline bool cma_in_zone(const std::string& gfp, phys_addr_t area_last, phys_addr_t dma_limit,
                        const kernel_version& kv, phys_addr_t dram_start) {
  if (kv < kernel_version{5, 11}) area_last -= std::min(area_last, dram_start);
  if (gfp == "GFP_KERNEL|GFP_DMA") return area_last <= dma_limit - 1;
  if (gfp == "GFP_KERNEL|GFP_DMA32") {
    const phys_addr_t lim = kv >= kernel_version{6, 12} ? std::max(sz_4g, dma_limit) : sz_4g;
    return area_last <= lim - 1;
  }
  return true;
}

} // namespace detail

/// The pool allocations in boot order.  `area` is the default area (base, size in
/// bytes) or nullopt when there is none (then every pool comes from buddy).
inline std::vector<atomic_pool_request>
dma_atomic_pool_requests(const kernel_version& kv, arch a, const atomic_pool_zones& z,
                         std::optional<std::uint64_t> coherent_pool,
                         std::optional<std::pair<phys_addr_t, phys_addr_t>> area) {
  std::vector<atomic_pool_request> out;
  if (kv < kernel_version{5, 0}) {
    if (a != arch::arm64) return out;
    const std::uint64_t bytes = coherent_pool.value_or(256 * 1024);
    const page_count pages = bytes >> page_shift;
    out.push_back({"GFP_KERNEL", pages, detail::get_order_pages(pages), area.has_value(),
                   "DMA: preallocated " + std::to_string(bytes >> 10) + " KiB pool for atomic allocations"});
    return out;
  }
  std::uint64_t pool_bytes = 0;
  if (coherent_pool && *coherent_pool) {
    pool_bytes = *coherent_pool;
  } else {
    const page_count pages = std::min<page_count>(z.totalram_pages / ((1U << 30) / (128U << 10)), 1024);
    pool_bytes = std::max<std::uint64_t>(pages << page_shift, 128 * 1024);
  }
  const unsigned order = std::min(detail::get_order_pages((pool_bytes + page_size - 1) >> page_shift), 10U);
  std::vector<std::string> pools;
  if (kv < kernel_version{6, 19} || z.zone_normal_has_memory) pools.push_back("GFP_KERNEL");
  if (kv < kernel_version{6, 1} || z.zone_dma_has_memory) pools.push_back("GFP_KERNEL|GFP_DMA");
  if (kv < kernel_version{7, 0} || z.zone_dma32_has_memory) pools.push_back("GFP_KERNEL|GFP_DMA32");
  for (const auto& gfp : pools) {
    atomic_pool_request r;
    r.gfp = gfp;
    r.align = order;
    r.count = page_count{1} << order;
    r.from_cma = area && area->second &&
                 detail::cma_in_zone(gfp, area->first + area->second - 1, z.zone_dma_limit, kv,
                                     z.dram_start);
    r.line = "DMA: preallocated " + std::to_string((r.count << page_shift) >> 10) + " KiB " + gfp +
             " pool for atomic allocations";
    out.push_back(std::move(r));
  }
  return out;
}

/// Where first fit puts each from_cma request in a fresh area (opb 0): pfn, or
/// no_pfn when it does not fit (the kernel then falls back to buddy).
inline std::vector<pfn_t> place_atomic_pools(const std::vector<atomic_pool_request>& rq,
                                             pfn_t base_pfn, page_count count) {
  std::vector<pfn_t> out;
  pfn_t next = base_pfn;
  for (const auto& r : rq) {
    if (!r.from_cma) { out.push_back(no_pfn); continue; }
    const pfn_t step = pfn_t{1} << r.align;
    const pfn_t at = (next + step - 1) & ~(step - 1); // aligned in absolute pfn terms
    if (at + r.count > base_pfn + count) { out.push_back(no_pfn); continue; }
    out.push_back(at);
    next = at + r.count;
  }
  return out;
}

} // namespace cma
