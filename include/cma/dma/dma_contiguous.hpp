// cma/dma/dma_contiguous.hpp — the DMA layer's calls into CMA: which area, which count and
// align, and where a freed page goes.
//
// Models drivers/base/dma-contiguous.c (4.15) and kernel/dma/contiguous.c (5.10, 6.1, 6.6, 6.12,
// 6.19), KERNEL-FACTS §5.3, in the kernel's own words:
//   * get_order(size) (include/asm-generic/getorder.h): the smallest order with
//     PAGE_SIZE << order >= size.
//   * size → (count, align): count = PAGE_ALIGN(size) >> PAGE_SHIFT, align = min(get_order(size),
//     CONFIG_CMA_ALIGNMENT) — the same numbers in every version: 4.15 x86 computes count from
//     PAGE_ALIGN(size) and lets dma_alloc_from_contiguous clamp get_order(size); 4.15 arm64 and
//     5.x+ dma-direct page-align size first, then cma_alloc_aligned() (5.x) takes size >> PAGE_SHIFT
//     and min(get_order(size), CONFIG_CMA_ALIGNMENT).  get_order of the aligned and of the raw size
//     agree.
//   * dev_get_cma_area(dev): dev->cma_area, else the default area (dma_contiguous_default_area).
//   * dma_alloc_from_contiguous(dev, count, align, no_warn): clamps align to CONFIG_CMA_ALIGNMENT,
//     cma_alloc() on dev_get_cma_area(dev) (4.15: the x86 and arm64 coherent paths; 5.x+: the atomic
//     pools of kernel/dma/pool.c).
//   * dma_alloc_contiguous(dev, size, gfp) (5.x+): nothing unless gfp may block; a per-device area
//     serves any size (even one page) and is never followed by another area; otherwise size <=
//     PAGE_SIZE returns NULL (the single-page skip: the caller goes to the page allocator), else
//     the default area with cma_alloc_aligned(), no_warn = gfp & __GFP_NOWARN.  On 4.15 (no such
//     function) this answers what the 4.15 arch code asked CMA for: the same test of gfp, no
//     single-page skip, dma_alloc_from_contiguous with get_order(size).
//   * dma_free_contiguous(dev, page, size) / dma_release_from_contiguous(dev, page, count):
//     count = PAGE_ALIGN(size) >> PAGE_SHIFT, cma_release() on the per-device area if the device has
//     one, else on the default area; a page outside it goes back to the page allocator
//     (__free_pages / free_pages).
//
// Not modelled: the NUMA areas (pernuma%d from 5.10, numa%d from 6.6: a device with a node and a
// gfp without GFP_DMA/GFP_DMA32 tries them before the default area), hence the model's answers
// are those of a kernel booted without cma_pernuma= / numa_cma=.  What such a kernel still does
// is modelled: with CONFIG_DMA_(PER)NUMA_CMA, dma_free_contiguous() first calls cma_release() on
// the node's NULL area, which 6.15+ logs (dma_rules::numa_cma, cma_release_lines).  The page allocator is not
// modelled: a page it serves has no known pfn (std::nullopt).
//
// Invariants: a cma_call's count/align are exactly what cma_alloc() was given; `released` is
// only set by the caller that gave the pages back (dma_direct.hpp).
#pragma once

#include "../allocator.hpp"
#include "../busy.hpp"
#include "cma_log.hpp"
#include "device.hpp"
#include "dma_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cma::dma {

/// get_order(size): smallest order with (PAGE_SIZE << order) >= size.  As in the kernel's
/// generic version, size 0 gives BITS_PER_LONG - PAGE_SHIFT (52): (0 - 1) >> PAGE_SHIFT has 52 bits.
constexpr unsigned get_order(std::uint64_t size) noexcept {
  std::uint64_t s = (size - 1) >> page_shift;
  unsigned n = 0;
  while (s != 0) {
    ++n;
    s >>= 1;
  }
  return n;
}

/// PAGE_ALIGN(size) in bytes (wraps to 0 above 2^64 - PAGE_SIZE, as the kernel's does).
constexpr std::uint64_t page_align(std::uint64_t size) noexcept { return (size + page_size - 1) & ~(page_size - 1); }

/// PAGE_ALIGN(size) >> PAGE_SHIFT: the pages of a buffer of `size` bytes.
constexpr page_count size_to_pages(std::uint64_t size) noexcept { return page_align(size) >> page_shift; }

/// What the DMA layer hands to cma_alloc() for a buffer of `size` bytes.
struct cma_request {
  page_count count = 0; ///< pages
  unsigned align = 0;   ///< page order, already capped at CONFIG_CMA_ALIGNMENT
  friend bool operator==(const cma_request&, const cma_request&) = default;
};

/// size in bytes → (count, align): PAGE_ALIGN(size) >> PAGE_SHIFT and min(get_order(size),
/// CONFIG_CMA_ALIGNMENT).  The cap bites from get_order(size) > cma_alignment, i.e. from
/// size > PAGE_SIZE << cma_alignment (1 MiB with the default 8).
constexpr cma_request dma_cma_request(const dma_rules& r, std::uint64_t size) noexcept {
  return {size_to_pages(size), std::min(get_order(size), r.config.cma_alignment)};
}

/// dev_get_cma_area(dev): the device's own area, else the default one (may be nullptr: cma=0).
inline allocator* dev_get_cma_area(const device& dev, allocator* default_area) noexcept {
  return dev.cma_area ? dev.cma_area : default_area;
}

/// One cma_alloc() the DMA layer made, and what came of it.
struct cma_call {
  std::string area;          ///< the area's name ("reserved")
  bool per_device = false;   ///< dev->cma_area, not the default area
  page_count count = 0;      ///< as given to cma_alloc
  unsigned align = 0;        ///< as given to cma_alloc (after the CONFIG_CMA_ALIGNMENT cap)
  bool no_warn = false;      ///< as given to cma_alloc
  alloc_result result;       ///< cma_alloc's answer (pfn, err, windows tried)
  bool released = false;     ///< the pages were given back (the coherent-mask check refused them)
  std::vector<std::string> log; ///< mm/cma.c's lines for this call (cma_log.hpp)
  bool ok() const noexcept { return result.ok(); }
};

/// cma_alloc() on `area` with mm/cma.c's lines; nullopt for a NULL area (cma_alloc returns NULL
/// before printing anything).
inline std::optional<cma_call> cma_alloc_logged(allocator* area, bool per_device, page_count count, unsigned align,
                                                bool no_warn, const busy_oracle& busy, const log_options& lo) {
  if (!area) return std::nullopt;
  cma_call c;
  c.area = area->name();
  c.per_device = per_device;
  c.count = count;
  c.align = align;
  c.no_warn = no_warn;
  c.result = area->alloc(count, align, busy, no_warn);
  c.log = cma_alloc_lines(*area, c.result, no_warn, lo);
  return c;
}

/// dma_alloc_from_contiguous(dev, count, align, no_warn): align capped at CONFIG_CMA_ALIGNMENT,
/// cma_alloc() on dev_get_cma_area(dev).  (4.15 passes gfp and tests __GFP_NOWARN in cma_alloc;
/// the same thing.)
inline std::optional<cma_call> dma_alloc_from_contiguous(const dma_rules& r, const device& dev, allocator* default_area,
                                                         page_count count, unsigned align, bool no_warn,
                                                         const busy_oracle& busy = {}, const log_options& lo = {}) {
  align = std::min(align, r.config.cma_alignment);
  return cma_alloc_logged(dev_get_cma_area(dev, default_area), dev.cma_area != nullptr, count, align, no_warn, busy, lo);
}

/// cma_alloc_aligned(cma, size, gfp) (kernel/dma/contiguous.c, 5.9+): cma_alloc(cma,
/// size >> PAGE_SHIFT, min(get_order(size), CONFIG_CMA_ALIGNMENT), gfp & __GFP_NOWARN).
/// `size` is page-aligned by its callers.
inline std::optional<cma_call> cma_alloc_aligned(const dma_rules& r, allocator* area, bool per_device, std::uint64_t size,
                                                 gfp_flags gfp, const busy_oracle& busy = {}, const log_options& lo = {}) {
  const unsigned align = std::min(get_order(size), r.config.cma_alignment);
  return cma_alloc_logged(area, per_device, size >> page_shift, align, gfp.nowarn, busy, lo);
}

/// dma_release_from_contiguous(dev, page at pfn, count): cma_release() on dev_get_cma_area(dev);
/// false (nothing released, nothing printed) without an area.  The lines are appended to `log`.
inline release_result dma_release_from_contiguous(const dma_rules& r, const device& dev, allocator* default_area,
                                                  pfn_t pfn, page_count count, std::vector<std::string>& log,
                                                  const log_options& lo = {}) {
  allocator* area = dev_get_cma_area(dev, default_area);
  if (!area) return {};
  const auto rel = area->release(pfn, count);
  const auto lines = cma_release_lines(r, *area, pfn, count, rel.ok, lo);
  log.insert(log.end(), lines.begin(), lines.end());
  return rel;
}

/// Why dma_alloc_contiguous made no cma_alloc() call.
enum class contiguous_skip {
  none,          ///< a call was made
  cannot_block,  ///< gfp does not allow blocking (GFP_ATOMIC): CMA can sleep
  single_page,   ///< 5.x+: size <= PAGE_SIZE and no per-device area
  no_area,       ///< no per-device area and no default area (cma=0)
};

struct contiguous_answer {
  std::optional<cma_call> call;
  contiguous_skip skip = contiguous_skip::none;
};

/// dma_alloc_contiguous(dev, size, gfp) — `size` as dma-direct passes it (already page-aligned
/// there; an unaligned size is used as the kernel would: count = size >> PAGE_SHIFT in 5.x).
inline contiguous_answer dma_alloc_contiguous(const dma_rules& r, const device& dev, allocator* default_area,
                                              std::uint64_t size, gfp_flags gfp = gfp_kernel,
                                              const busy_oracle& busy = {}, const log_options& lo = {}) {
  contiguous_answer a;
  if (!gfp.blocking) {
    a.skip = contiguous_skip::cannot_block;
    return a;
  }
  if (!r.dma_direct) { // 4.15: what dma_generic_alloc_coherent / __dma_alloc_coherent ask
    allocator* area = dev_get_cma_area(dev, default_area);
    if (!area) {
      a.skip = contiguous_skip::no_area;
      return a;
    }
    a.call = dma_alloc_from_contiguous(r, dev, default_area, size_to_pages(size), get_order(size), gfp.nowarn, busy, lo);
    return a;
  }
  if (dev.cma_area) {
    a.call = cma_alloc_aligned(r, dev.cma_area, true, size, gfp, busy, lo);
    return a;
  }
  if (r.single_page_skip && size <= page_size) {
    a.skip = contiguous_skip::single_page;
    return a;
  }
  if (!default_area) {
    a.skip = contiguous_skip::no_area;
    return a;
  }
  a.call = cma_alloc_aligned(r, default_area, false, size, gfp, busy, lo);
  return a;
}

/// Where a freed buffer went.
enum class free_path {
  cma,            ///< cma_release() took it back (bits cleared)
  page_allocator, ///< not in the area tried: __free_pages / free_pages
};

struct dma_free_result {
  free_path path = free_path::page_allocator;
  std::string area;          ///< the area cma_release() was asked (empty: none)
  page_count count = 0;      ///< PAGE_ALIGN(size) >> PAGE_SHIFT
  release_result release;    ///< cma_release's answer (ok false for the page allocator)
  std::vector<std::string> log;
};

/// dma_free_contiguous(dev, page, size) (5.x+) / dma_release_from_contiguous + free_pages (4.15):
/// cma_release() on the per-device area, else on the default area; false → page allocator.
/// `pfn` nullopt: a page the page allocator served (its pfn is not modelled; it is in no area).
inline dma_free_result dma_free_contiguous(const dma_rules& r, const device& dev, allocator* default_area,
                                           std::optional<pfn_t> pfn, std::uint64_t size, const log_options& lo = {}) {
  dma_free_result f;
  f.count = size_to_pages(size);
  allocator* area = dev_get_cma_area(dev, default_area);
  if (!area) return f;
  f.area = area->name();
  if (pfn) f.release = area->release(*pfn, f.count);
  if (f.release.ok) f.path = free_path::cma;
  // A page of the page allocator is in no area: it prints as some page pointer of its own.
  f.log = cma_release_lines(r, *area, pfn.value_or(no_pfn), f.count, f.release.ok, lo, !dev.cma_area && r.numa_cma());
  return f;
}

} // namespace cma::dma
