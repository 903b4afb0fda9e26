// cma/order_per_bit.hpp — page <-> bit arithmetic of an area (mm/cma.c helpers).
//
// One bitmap bit covers 2^order_per_bit pages.  These are the kernel's
// cma_bitmap_aligned_mask / cma_bitmap_aligned_offset / cma_bitmap_pages_to_bits
// and cma_bitmap_maxno, identical from 4.15 to 7.0-rc6 (KERNEL-FACTS §1.2);
// from 6.15 the base_pfn and count are a memrange's, not the area's.
#pragma once

#include "types.hpp"

namespace cma {

/// cma_bitmap_aligned_mask(): 0 when align <= order_per_bit.
constexpr bitmap_no_t cma_bitmap_aligned_mask(unsigned order_per_bit, unsigned align) noexcept {
  if (align <= order_per_bit) return 0;
  return (bitmap_no_t{1} << (align - order_per_bit)) - 1;
}

/// cma_bitmap_aligned_offset(): how far base_pfn sits past an align boundary, in bits.
constexpr bitmap_no_t cma_bitmap_aligned_offset(pfn_t base_pfn, unsigned order_per_bit, unsigned align) noexcept {
  const pfn_t low = align >= 64 ? base_pfn : (base_pfn & ((pfn_t{1} << align) - 1));
  return low >> order_per_bit;
}

/// cma_bitmap_pages_to_bits(): pages rounded up to whole bits.
constexpr bitmap_no_t cma_bitmap_pages_to_bits(unsigned order_per_bit, page_count pages) noexcept {
  const page_count unit = page_count{1} << order_per_bit;
  return ((pages + unit - 1) & ~(unit - 1)) >> order_per_bit;
}

/// cma_bitmap_maxno(): bits in a range of `count` pages (partial last chunk dropped).
constexpr bitmap_no_t cma_bitmap_maxno(page_count count, unsigned order_per_bit) noexcept {
  return count >> order_per_bit;
}

} // namespace cma
