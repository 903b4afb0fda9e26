// cma/dma/dma_rules.hpp — what differs per kernel version in the DMA layer around CMA, as data.
//
// Models the version differences of drivers/base/dma-contiguous.c (4.15),
// kernel/dma/contiguous.c (5.x+), arch/x86/kernel/pci-dma.c (4.15),
// arch/arm64/mm/dma-mapping.c (4.15) and kernel/dma/direct.c (5.x+), as read in
// KERNEL-FACTS §5.3/§5.4 and in the source (4.15, 5.10, 6.1, 6.6, 6.12).  One table, one
// place: every other header of cma/dma/ asks this struct and never the version number.
//
//   rule                                  4.15 x86_64        4.15 arm64       5.10 → 6.19 (both arches)
//   entry point                           dma_generic_alloc_ __dma_alloc_       dma_direct_alloc →
//                                         coherent           coherent          __dma_direct_alloc_pages
//   1-page request to the global area     CMA                CMA               page allocator (skip)
//   CMA needs a blocking gfp              yes                yes               yes
//   mask check of the CMA pages           addr+size > mask   none              addr+size-1 >
//                                         refuses (size as   (no check)        min_not_zero(coherent_dma_mask,
//                                         asked, not page-                      bus_dma_limit) refuses
//                                         aligned)
//   CMA refused or failed →               page allocator     NULL (no          page allocator
//                                                            fallback)
//   device must have dev->dma_mask        yes (is_device_    no                no
//                                         dma_capable)
//   NULL device                           x86_dma_fallback_  NULL + WARN       not allowed (oops)
//                                         dev (32-bit mask)
//   dma_alloc_pages                       —                  —                 from 5.10 (no highmem)
//   CONFIG_CMA_ALIGNMENT Kconfig range    4..12              4..12             2..12
//   cma_release's pr_debug                before the range check (4.15 – 5.15);
//                                         after cma_pages_valid, which prints when the page is outside
//                                         (5.16 – 6.14); before it, both lines for an outside page (6.15+);
//                                         7.0+: find_cma_memrange's line (a second one when no range
//                                         holds the page), then __cma_release_frozen's
//   NULL per-node area tried first on free  CONFIG_DMA_PERNUMA_CMA / DMA_NUMA_CMA (Debian: 6.1 and 7.3
//                                         yes, 6.12 no); it prints only where the release line comes
//                                         before the area check (6.15+)
//
// The single-page skip arrived with dma_alloc_contiguous() ("dma-contiguous: do not allocate a
// single page from CMA area", 2019); it is absent in 4.15 and present in 5.10 — the exact first
// release (believed 5.2) is not pinned.  Any version from 5.0 up gets the 5.10 rules here.
//
// CONFIG_CMA_ALIGNMENT: the Kconfig default is 8 (both generations), and 8 is also Debian's
// value: the recordings in tests/data/recorded (Debian 6.1 and 6.12 arm64) print
// `cma_alignment=8`, and the field notes' 4.15 log shows `count 32768, align 8` for 128 MiB.
//
// Invariant: for_version is total; cma_alignment is inside the Kconfig range of the version
// (checked by config_refusal(); the struct itself does not clamp — Kconfig refuses the value).
#pragma once

#include "../kernel_version.hpp"
#include "../types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cma::dma {

/// The architectures the model knows (only 4.15 differs between them).
enum class dma_arch { x86_64, arm64 };

/// How the pages CMA gave are checked against what the device can address.
enum class mask_check {
  none,            ///< 4.15 arm64: no check at all
  x86_end_beyond,  ///< 4.15 x86: refused when addr + size > mask (size as asked; off by one)
  direct_inclusive,///< 5.x+: refused unless addr + PAGE_ALIGN(size) - 1 <= min_not_zero(coherent mask, bus_dma_limit)
};

/// Where mm/cma.c's cma_release() prints its pr_debug line relative to the range check.
enum class release_debug {
  before_check,      ///< 4.15 – 5.15: "cma_release(page %p[, count])" first, also for a page outside
  after_pages_valid, ///< 5.16 – 6.14: cma_pages_valid prints for a page outside; cma_release only inside
  both_before,       ///< 6.15 – 6.19: "cma_release(…)" first, then cma_pages_valid's line for a page outside
  find_range,        ///< 7.0+ (mm/cma.c 7.3): "find_cma_memrange(page %p, count %lu)" first; for a page in
                     ///< no range of a non-NULL area with count <= its count, the same with ", no cma range
                     ///< matches the page range"; when released, "__cma_release_frozen(page %p, count %lu)"
};

/// Build-time and boot-time choices that are not the version (Kconfig, dma_ops).
struct dma_config {
  dma_arch arch = dma_arch::arm64;
  unsigned cma_alignment = 8; ///< CONFIG_CMA_ALIGNMENT (Kconfig default 8 = Debian's)
  /// 4.15 x86: dma_ops is swiotlb — pci_swiotlb_detect_4gb picks it when memory extends above
  /// 4 GiB and no IOMMU took over — whose x86_swiotlb_alloc_coherent ORs in __GFP_NOWARN before
  /// dma_generic_alloc_coherent (arch/x86/kernel/pci-swiotlb.c); false: nommu_dma_ops, no NOWARN.
  bool x86_swiotlb = true;
  /// CONFIG_DMA_NUMA_CMA (CONFIG_DMA_PERNUMA_CMA before 6.7): dma_free_contiguous() of a device
  /// without its own area first calls cma_release() on the page's node area — NULL unless
  /// numa_cma= / cma_pernuma= reserved one — before the default area (kernel/dma/contiguous.c).
  /// nullopt: Debian's arm64 choice for the version (numa_cma_for).
  std::optional<bool> numa_cma;
};

/// Debian's arm64 CONFIG_DMA_(PER)NUMA_CMA, read from the config-* files of the kernels the
/// recordings used: 6.1.0 =y, 6.12 unset, 7.3.4 =y.  Between 6.7 and 6.19 the 6.12 answer
/// is assumed.
constexpr bool numa_cma_for(kernel_version v) noexcept {
  return v < kernel_version{6, 7, 0} || v >= kernel_version{7, 0, 0};
}

struct dma_rules {
  kernel_version version;
  std::string_view series;      ///< "4.15" or "5.10" (the DMA generation this version maps to)
  dma_config config;

  bool dma_direct = true;              ///< 5.x+: kernel/dma/direct.c; false: 4.15 arch code
  bool single_page_skip = true;        ///< size <= PAGE_SIZE never goes to the default (or NUMA) area
  mask_check check = mask_check::direct_inclusive;
  bool cma_failure_falls_back = true;  ///< false: 4.15 arm64 returns NULL when CMA fails
  bool needs_dma_mask_pointer = false; ///< 4.15 x86: is_device_dma_capable (dev->dma_mask set and non-zero)
  bool has_dma_alloc_pages = true;     ///< dma_alloc_pages() exists (5.10+)
  bool has_bus_dma_limit = true;       ///< dev->bus_dma_limit exists (5.x)
  bool nowarn_forced = false;          ///< 4.15 x86 swiotlb: __GFP_NOWARN added before the CMA attempt
  unsigned cma_alignment_min = 2;      ///< CONFIG_CMA_ALIGNMENT range (kernel/dma/Kconfig 5.10+: 2..12)
  unsigned cma_alignment_max = 12;
  unsigned max_page_order = 10;        ///< largest order alloc_pages serves (MAX_ORDER-1 ≤6.3, MAX_PAGE_ORDER 6.8+; 4 KiB pages)
  release_debug release_log = release_debug::after_pages_valid;

  /// Whether dma_free_contiguous() asks a (NULL) per-node area before the default one.
  bool numa_cma() const noexcept { return dma_direct && config.numa_cma.value_or(numa_cma_for(version)); }

  static dma_rules for_version(kernel_version v, dma_config cfg = {}) noexcept {
    dma_rules r;
    r.version = v;
    r.config = cfg;
    const auto at_least = [&](int major, int minor) { return v >= kernel_version{major, minor, 0}; };
    if (!at_least(5, 0)) {
      r.series = "4.15";
      r.dma_direct = false;
      r.single_page_skip = false;
      r.has_dma_alloc_pages = false;
      r.has_bus_dma_limit = false;
      r.cma_alignment_min = 4; // drivers/base/Kconfig 4.15: range 4 12
      r.release_log = release_debug::before_check;
      if (cfg.arch == dma_arch::x86_64) {
        r.check = mask_check::x86_end_beyond;
        r.needs_dma_mask_pointer = true;
        r.nowarn_forced = cfg.x86_swiotlb;
      } else {
        r.check = mask_check::none;
        r.cma_failure_falls_back = false;
      }
      return r;
    }
    r.series = "5.10";
    if (!at_least(5, 16)) r.release_log = release_debug::before_check;
    if (at_least(6, 15)) r.release_log = release_debug::both_before;
    if (at_least(7, 0)) r.release_log = release_debug::find_range;
    return r;
  }

  /// Why `cfg` is not a configuration this version's Kconfig accepts, or nullopt.
  std::optional<std::string> config_refusal() const {
    if (config.cma_alignment < cma_alignment_min || config.cma_alignment > cma_alignment_max)
      return "CONFIG_CMA_ALIGNMENT=" + std::to_string(config.cma_alignment) + " is outside " +
             std::to_string(cma_alignment_min) + ".." + std::to_string(cma_alignment_max) + " (Kconfig of " +
             std::string(series) + ")";
    return std::nullopt;
  }
};

} // namespace cma::dma
