// cma/order_per_bit.hpp — page <-> bit arithmetic of an area (mm/cma.c helpers).
//
// One bitmap bit covers 2^order_per_bit pages.  These are the kernel's
// cma_bitmap_aligned_mask / cma_bitmap_aligned_offset / cma_bitmap_pages_to_bits
// and cma_bitmap_maxno, identical from 4.15 to 7.0-rc6 (KERNEL-FACTS §1.2);
// from 6.15 the base_pfn and count are a memrange's, not the area's.
//
// Invariant: every function is total — no shift by 64 or more for any argument.
// The kernel shifts `1UL` by an alignment order a caller passes; at 64 or more that
// is undefined in C (arm64's LSLV and x86's SHL would quietly take the count mod 64,
// turning a huge alignment into a small one).  No in-tree caller asks for anything
// near it (dma_alloc_from_contiguous caps align at CONFIG_CMA_ALIGNMENT <= 12; the
// largest are gigantic-page orders, 18 for 1 GiB pages), and the log parsers accept
// align 0..63 only.  For the API the exponent saturates at 63: see
// cma_bitmap_aligned_mask.  order_per_bit itself is bounded where an area is built
// (cma_init_reserved_mem.hpp: at most 40), so the page<->bit shifts stay below 64.
#pragma once

#include "types.hpp"

namespace cma {

/// The largest exponent of an alignment mask: 2^63 - 1 is the widest mask an
/// unsigned long shift expresses without undefined behaviour.
inline constexpr unsigned max_align_mask_order = 63;

/// cma_bitmap_aligned_mask(): 0 when align <= order_per_bit.
///
/// For align - order_per_bit >= 64 the kernel's shift is undefined (see the header
/// comment).  The model saturates at mask 2^63 - 1 (max_align_mask_order), the
/// largest meaningful mask: the only absolute pfns it accepts are 0 and 2^63, and
/// every physical page lies below 2^40 (52-bit physical addresses, 4 KiB pages), so
/// such a request finds no window unless the area starts at pfn 0 — exactly what
/// any alignment of 2^40 pages or more means to the kernel.  The search stays
/// finite: the -EBUSY retry start `bitmap_no + mask + 1` cannot wrap (bitmap_no is
/// below 2^40).
constexpr bitmap_no_t cma_bitmap_aligned_mask(unsigned order_per_bit, unsigned align) noexcept {
  if (align <= order_per_bit) return 0;
  const unsigned k = align - order_per_bit;
  return (bitmap_no_t{1} << (k < max_align_mask_order ? k : max_align_mask_order)) - 1;
}

/// cma_bitmap_aligned_offset(): how far base_pfn sits past an align boundary, in bits.
/// An align of 64 or more keeps every bit of base_pfn (the kernel's mask would be all
/// ones, were the shift defined); that agrees with the saturated mask above, since a
/// pfn is below 2^63.  order_per_bit >= 64 (never built, see the header) gives 0.
constexpr bitmap_no_t cma_bitmap_aligned_offset(pfn_t base_pfn, unsigned order_per_bit, unsigned align) noexcept {
  if (order_per_bit >= 64) return 0;
  const pfn_t low = align >= 64 ? base_pfn : (base_pfn & ((pfn_t{1} << align) - 1));
  return low >> order_per_bit;
}

/// cma_bitmap_pages_to_bits(): pages rounded up to whole bits.
/// The kernel's ALIGN() wraps for a count within 2^order_per_bit - 1 of 2^64 (the
/// result is 0 bits); unsigned arithmetic is defined in C++ too, so the model wraps
/// the same way — a bit-exact answer, not undefined behaviour.
constexpr bitmap_no_t cma_bitmap_pages_to_bits(unsigned order_per_bit, page_count pages) noexcept {
  if (order_per_bit >= 64) return 0; // never built: (pages + 2^64 - 1) & 0 in spirit
  const page_count unit = page_count{1} << order_per_bit;
  return ((pages + unit - 1) & ~(unit - 1)) >> order_per_bit;
}

/// cma_bitmap_maxno(): bits in a range of `count` pages (partial last chunk dropped).
constexpr bitmap_no_t cma_bitmap_maxno(page_count count, unsigned order_per_bit) noexcept {
  return order_per_bit >= 64 ? 0 : count >> order_per_bit;
}

} // namespace cma
