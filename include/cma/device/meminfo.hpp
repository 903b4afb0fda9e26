// cma/device/meminfo.hpp — the CMA lines of /proc/meminfo (fs/proc/meminfo.c, CONFIG_CMA).
//
//   show_val_kb(m, "CmaTotal:       ", totalcma_pages);
//   show_val_kb(m, "CmaFree:        ", global_zone_page_state(NR_FREE_CMA_PAGES));
// show_val_kb prints the 16-character label, the page count in kB (pages << (PAGE_SHIFT -
// 10)) right-aligned in at least 8 columns (seq_put_decimal_ull_width, never truncated),
// then " kB\n" — the same bytes as 4.15's "%8lu kB\n" and every later version's.
//
// CmaTotal is exact: totalcma_pages, the sum of `count` over the areas that were declared
// (and, 5.15+, activated) — for one area, area.count().
//
// CmaFree is NOT a bitmap count (KERNEL-FACTS §6.4, ../shared/traces/README.md): it is
// the buddy allocator's free pages in MIGRATE_CMA pageblocks, over every area.  So here
// it has two parts, kept apart so a user knows which part is exact:
//   bitmap_free     exact: pages of the area that no set bit covers (count - set bits <<
//                   order_per_bit).  This is what the model knows.
//   outside_bitmap  supplied by the caller, 0 by default, never derived: the signed
//                   difference between the buddy's view and the bitmap's.  Negative for
//                   pages the bitmap calls free that the buddy does not hold free —
//                   movable allocations borrowing the area's pageblocks, freed pages
//                   parked on per-CPU lists until the next drain (CmaFree lags behind a
//                   cma_release by up to a pcp batch); positive for pages the bitmap calls
//                   used that the buddy holds free — the tail of an allocation whose count
//                   is not a multiple of 2^order_per_bit (its last bit covers pages
//                   alloc_contig_range never took).
// CmaFree = bitmap_free + outside_bitmap (never below 0).  Between two readings with no
// page-allocator activity outside CMA the term is constant, so differences of CmaFree
// across cma_alloc / cma_release are exact (the field notes: 1039940 kB → 630340 kB
// across `echo 102400 > alloc`, exactly 102400 pages).
#pragma once

#include "../types.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cma::device {

/// The label the kernel passes to show_val_kb (16 characters, colon included).
inline constexpr std::string_view meminfo_cma_total_label = "CmaTotal:       ";
inline constexpr std::string_view meminfo_cma_free_label = "CmaFree:        ";

/// fs/proc/meminfo.c show_val_kb(): "<label><kB right-aligned in 8> kB\n".
inline std::string show_val_kb(std::string_view label, page_count pages) {
  std::string kb = std::to_string(pages << (page_shift - 10));
  std::string out(label);
  if (kb.size() < 8) out.append(8 - kb.size(), ' ');
  return out + kb + " kB\n";
}

/// NR_FREE_CMA_PAGES as the model sees it: the exact bitmap part and the caller's term.
struct nr_free_cma {
  page_count bitmap_free = 0;      ///< exact: pages no set bit covers
  std::int64_t outside_bitmap = 0; ///< caller-supplied: buddy's free CMA pages minus bitmap_free (see above)
  page_count pages() const noexcept {
    const std::int64_t v = static_cast<std::int64_t>(bitmap_free) + outside_bitmap;
    return v < 0 ? 0 : static_cast<page_count>(v);
  }
};

/// Pages of an area no set bit covers (every range; a tail shorter than one bit counts as free).
template <class Area> page_count bitmap_free_pages(const Area& area) { return area.count() - area.used_bits_pages(); }

/// The exact part of CmaFree for one area, with the caller's term.
template <class Area> nr_free_cma cma_free_of(const Area& area, std::int64_t outside_bitmap = 0) {
  return {bitmap_free_pages(area), outside_bitmap};
}

/// "CmaTotal:  …  kB\n" for totalcma_pages.
inline std::string meminfo_cma_total(page_count totalcma_pages) { return show_val_kb(meminfo_cma_total_label, totalcma_pages); }
/// "CmaFree:  …  kB\n".
inline std::string meminfo_cma_free(const nr_free_cma& f) { return show_val_kb(meminfo_cma_free_label, f.pages()); }

/// Both lines, in /proc/meminfo's order, for a system whose only area is `area`.
template <class Area> std::string meminfo_cma_lines(const Area& area, std::int64_t outside_bitmap = 0) {
  return meminfo_cma_total(area.count()) + meminfo_cma_free(cma_free_of(area, outside_bitmap));
}

} // namespace cma::device
