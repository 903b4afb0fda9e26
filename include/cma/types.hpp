// cma/types.hpp — the integer vocabulary of mm/cma.c.
//
// The kernel uses `unsigned long` for PFNs, page counts and bitmap indexes on
// every 64-bit architecture we model (arm64, x86_64), so all of them are
// 64-bit here.  Names follow the kernel: a `pfn` is a page frame number, a
// `bitmap_no` is an index into an area's bitmap (one bit covers
// 2^order_per_bit pages), `count` is in pages unless it is called
// `bitmap_count`.
#pragma once

#include <cstdint>

namespace cma {

using pfn_t = std::uint64_t;      ///< page frame number (physical address >> PAGE_SHIFT)
using bitmap_no_t = std::uint64_t; ///< index of a bit in an area's bitmap
using page_count = std::uint64_t; ///< a number of 4 KiB pages

inline constexpr unsigned page_shift = 12; ///< 4 KiB pages: the only size modelled
inline constexpr std::uint64_t page_size = std::uint64_t{1} << page_shift;

/// The value the kernel's trace events print for "no pfn" (`unsigned long pfn = -1`).
inline constexpr pfn_t no_pfn = ~pfn_t{0};

} // namespace cma
