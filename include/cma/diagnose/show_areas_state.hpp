// cma/diagnose/show_areas_state.hpp — an area's exact state from one cma_debug_show_areas line,
// and the model's search for a failed request in it.
//
// `number of available pages: n@pos+…=> F free of T total pages` lists every free run at the
// moment of the failure (mm/cma.c cma_debug_show_areas; 5.10+: n in pages, pos a bit index;
// order_per_bit 0 here, so bits are pages).  From it the area's bitmap is rebuilt in a
// cma::allocator (everything used, then each run released), and the same request is searched
// with the allocator's own first fit — so "no window" is the model's verdict, not a guess.
// The search is at the request's alignment: the one the pr_debug call line printed when the
// log has it, else the one the DMA layer gives that size (kernel/dma/contiguous.c: get_order
// of the size, capped at CONFIG_CMA_ALIGNMENT, 8 on Debian) — the finding says which.
// Alignment is of the absolute PFN (bitmap_aligned_offset), so the area's base matters; when
// the log does not give it, a base aligned to every order is assumed and said.
// Pure: no I/O.
#pragma once

#include "../allocator.hpp"
#include "../profile.hpp"
#include "../replay/field_log.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace cma::diagnose {

/// The DMA layer's alignment for a request of `count` pages: get_order(count << PAGE_SHIFT),
/// capped at CONFIG_CMA_ALIGNMENT (kernel/dma/contiguous.c dma_alloc_from_contiguous).
constexpr unsigned dma_align_for(page_count count, unsigned cma_alignment = 8) noexcept {
  unsigned order = 0;
  while ((page_count{1} << order) < count && order < 63) ++order;
  return std::min(order, cma_alignment);
}

struct window_verdict {
  bool fits = false;                  ///< the model's first fit finds a window
  std::optional<pfn_t> pfn;           ///< where, when it fits
  page_count free = 0;                ///< free pages in the state
  page_count largest_run = 0;         ///< the longest free run, any alignment
  page_count largest_aligned = 0;     ///< the longest window starting at the alignment
  page_count grow_by = 0;             ///< pages the area would have needed at its end to fit
  bool consistent = true;             ///< runs sum to F and lie inside T
};

inline std::uint64_t align_up(std::uint64_t v, unsigned order) noexcept {
  const std::uint64_t a = std::uint64_t{1} << order;
  return (v + a - 1) & ~(a - 1);
}

/// The request `count` pages at `align` (an order) in the state `s` of an area at `base_pfn`.
inline window_verdict search(const field_snapshot& s, page_count count, unsigned align, pfn_t base_pfn,
                             const profile& p) {
  window_verdict v;
  page_count sum = 0;
  std::optional<std::uint64_t> trailing_at;
  for (const auto& r : s.runs) {
    if (r.at + r.len > s.total) v.consistent = false;
    sum += r.len;
    v.largest_run = std::max<page_count>(v.largest_run, r.len);
    const std::uint64_t abs = base_pfn + r.at, end = abs + r.len, a = align_up(abs, align);
    if (a < end) v.largest_aligned = std::max<page_count>(v.largest_aligned, end - a);
    if (r.at + r.len == s.total) trailing_at = r.at;
  }
  v.free = sum;
  if (sum != s.free) v.consistent = false;
  const std::uint64_t area_end = base_pfn + s.total;
  const std::uint64_t start = align_up(base_pfn + (trailing_at ? *trailing_at : s.total), align);
  v.grow_by = start + count > area_end ? start + count - area_end : 0;
  if (!v.consistent || s.total == 0 || count == 0 || count > s.total) return v;
  // The model's own search on the rebuilt bitmap.
  allocator a("show_areas", memrange_spec{base_pfn, s.total}, 0, p);
  if (!a.alloc(s.total, 0).ok()) return v;
  for (const auto& r : s.runs) a.release(base_pfn + r.at, r.len);
  const auto res = a.alloc(count, align);
  v.fits = res.ok();
  if (v.fits) v.pfn = res.pfn;
  return v;
}

} // namespace cma::diagnose
