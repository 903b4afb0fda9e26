// cma/cma_memrange.hpp — one physically contiguous range of an area.
//
// Before 6.15 an area is exactly one range (struct cma's own base_pfn, count,
// bitmap).  6.15 introduced `struct cma_memrange ranges[CMA_MAX_RANGES]` (mm/cma.h)
// so hugetlb_cma can span memory holes; each range has its own bitmap, and the
// alignment offset and the returned pfn are computed from the range's base_pfn.
//
// Invariants: a range is one a kernel could have (cma_init_reserved_mem.hpp): its
// constructor throws std::invalid_argument otherwise, before any bitmap is allocated,
// so the bitmap never exceeds the kernel's 4 MiB, base_pfn + count <= 2^40 (no pfn
// arithmetic can wrap) and order_per_bit <= 40 (no page<->bit shift reaches 64).
#pragma once

#include "cma_init_reserved_mem.hpp"
#include "order_per_bit.hpp"
#include "types.hpp"

#include <stdexcept>

namespace cma {

inline constexpr unsigned cma_max_ranges = 8; ///< CMA_MAX_RANGES (mm/cma.h, 6.15+)

/// Where a range lives: what the boot code decided.
struct memrange_spec {
  pfn_t base_pfn = 0;
  page_count count = 0; ///< pages
};

/// A range and its bitmap, stored as S (see bitmap_store.hpp).
template <class S> struct cma_memrange {
  pfn_t base_pfn = 0;
  page_count count = 0;
  S bitmap;

  cma_memrange(memrange_spec spec, unsigned order_per_bit)
      : base_pfn(spec.base_pfn), count(spec.count), bitmap(checked_maxno(spec, order_per_bit)) {}

  bitmap_no_t bitmap_maxno() const noexcept { return bitmap.size(); }
  pfn_t end_pfn() const noexcept { return base_pfn + count; }
  bool contains(pfn_t pfn) const noexcept { return pfn >= base_pfn && pfn < end_pfn(); }
  /// Pages of [pfn, pfn + count) inside this range, for a pfn it contains (never wraps).
  page_count pages_inside(pfn_t pfn, page_count n) const noexcept { return n < end_pfn() - pfn ? n : end_pfn() - pfn; }

private:
  static bitmap_no_t checked_maxno(memrange_spec spec, unsigned order_per_bit) {
    if (auto why = detail::range_refusal(spec.base_pfn, spec.count, order_per_bit)) throw std::invalid_argument(*why);
    return cma_bitmap_maxno(spec.count, order_per_bit);
  }
};

} // namespace cma
