// cma/cma_area.hpp — struct cma: one CMA area and its bitmap allocator.
//
// Models mm/cma.c cma_alloc() / __cma_alloc() / cma_range_alloc() and
// cma_release() / cma_pages_valid() for every profile in profile.hpp:
//   * first fit from bit 0 on every call (no rotor), alignment as mask + offset
//     relative to the absolute pfn (cma_bitmap_aligned_*), the window claimed
//     (bits set) before migration, and after -EBUSY the next search starting at
//     bitmap_no + mask + 1 — KERNEL-FACTS §1.3/§1.4, identical 4.15 → 7.0;
//   * ≤6.14: one range, ret starts at -ENOMEM, bitmap_count > maxno returns
//     silently;
//   * 6.15+: ranges tried in order, each search stopping early when
//     count > available_count, "no space" reported as -EBUSY, a too-large
//     request reported like any failure.
// Whether a window migrates is the caller's busy oracle (busy.hpp).
//
// Knowingly different: the kernel takes locks and can race; the model is one
// thread of calls in a fixed order.  4.15's show_areas/maxchunk bugs with
// order_per_bit > 0 (reading past the bitmap, an endless loop) are not copied:
// see cma_debug.hpp.
//
// Invariants (is_valid): every range's store is valid; set bits never exceed
// bitmap_maxno.  In debug builds (CMASIM_DEBUG_VALIDATE or !NDEBUG) it is
// asserted after every mutation.  Every range is one a kernel could have
// (cma_init_reserved_mem.hpp; the constructor throws std::invalid_argument
// otherwise), so order_per_bit <= 40 and every range ends by pfn 2^40: no shift
// here reaches 64 and no pfn arithmetic wraps, whatever alloc/release are given —
// an align of any size (order_per_bit.hpp saturates the mask), a release whose
// pfn + count passes the range or 2^64 (compared as count > end - pfn).
#pragma once

#include "alloc_result.hpp"
#include "bitmap_store.hpp"
#include "busy.hpp"
#include "cma_memrange.hpp"
#include "errno.hpp"
#include "order_per_bit.hpp"
#include "profile.hpp"
#include "types.hpp"

#include <algorithm>
#include <cassert>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(CMASIM_DEBUG_VALIDATE) || !defined(NDEBUG)
#define CMA_VALIDATE(area) assert((area).is_valid())
#else
#define CMA_VALIDATE(area) ((void)0)
#endif

namespace cma {

/// A maximal run of free bits, as cma_debug_show_areas() walks them.
struct free_run {
  unsigned range = 0;
  bitmap_no_t bitmap_no = 0; ///< first free bit
  bitmap_no_t bits = 0;      ///< run length in bits
  pfn_t pfn = 0;             ///< first free page
  page_count pages = 0;      ///< bits << order_per_bit
  friend bool operator==(const free_run&, const free_run&) = default;
};

template <bitmap_store S> class basic_area {
public:
  using store_type = S;
  using range_type = cma_memrange<S>;

  /// An area of one or (6.15+) several ranges.  Throws std::invalid_argument, before
  /// allocating any bitmap, for a range no kernel could have (the sentence of
  /// area_refusal, cma_init_reserved_mem.hpp), for no range or more than 8, and for
  /// several ranges under a profile before 6.15.
  basic_area(std::string name, std::vector<memrange_spec> ranges, unsigned order_per_bit, profile prof)
      : name_(std::move(name)), order_per_bit_(order_per_bit), prof_(prof) {
    if (ranges.empty() || ranges.size() > cma_max_ranges)
      throw std::invalid_argument("an area has 1 to " + std::to_string(cma_max_ranges) +
                                  " ranges (CMA_MAX_RANGES, mm/cma.h), not " + std::to_string(ranges.size()));
    if (ranges.size() > 1 && !prof_.multi_range)
      throw std::invalid_argument("an area of several ranges needs kernel 6.15 or later (struct cma_memrange)");
    for (const auto& r : ranges) // memory is only allocated once every range passed
      if (auto why = detail::range_refusal(r.base_pfn, r.count, order_per_bit)) throw std::invalid_argument(*why);
    for (const auto& r : ranges) {
      ranges_.emplace_back(r, order_per_bit);
      count_ += r.count;
    }
    available_ = count_;
  }
  basic_area(std::string name, memrange_spec range, unsigned order_per_bit, profile prof)
      : basic_area(std::move(name), std::vector<memrange_spec>{range}, order_per_bit, prof) {}

  // ---------------------------------------------------------------- cma_alloc
  /// cma_alloc(cma, count, align, no_warn); `busy` decides each alloc_contig_range().
  alloc_result alloc(page_count count, unsigned align, const busy_oracle& busy = {}, bool no_warn = false) {
    alloc_result r;
    r.count = count;
    r.align = align;
    r.available_before = available_;
    const bool traced = prof_.trace != trace_format::legacy;
    // 6.12–6.14 trace the start before looking at the arguments.
    if (traced && prof_.trace_start_before_checks) r.traced_start = true;
    if (count_ == 0) return early(r, alloc_exit::null_area);
    if (count == 0) return early(r, alloc_exit::zero_count);
    if (traced) r.traced_start = true;
    if (prof_.multi_range) alloc_multi_range(r, busy);
    else alloc_single_range(r, busy);
    if (r.exit == alloc_exit::searched || prof_.too_large_is_reported) {
      r.traced_finish = true;
      r.failure_message = r.err != 0 && !no_warn;
    }
    CMA_VALIDATE(*this);
    return r;
  }

  // -------------------------------------------------------------- cma_release
  /// cma_release(cma, pfn_to_page(pfn), count).
  ///
  /// A release that runs past its range (pfn + count > end, also when the sum passes
  /// 2^64, e.g. count 2^64 - 1): 6.15+ cma_pages_valid refuses it (count > cma->count,
  /// or the end past the range: ok false, nothing changes).  4.15 – 6.14 only check
  /// that pfn lies in the area (cma_pages_valid from 5.16, inline before; read in
  /// 6.1 and 6.12 mm/cma.c) and then VM_BUG_ON(pfn + count > end), which is compiled
  /// out without CONFIG_DEBUG_VM (Debian's kernels) and, for a sum that wraps, passes
  /// anyway; the kernel returns true after free_contig_range() has walked pages
  /// outside the area.  The model answers ok with `overrun` set and clears the bits
  /// up to the end of the range (the kernel's bitmap_clear would write past the
  /// bitmap): a caller comparing with a trace should treat `overrun` as a release no
  /// correct kernel run makes.
  release_result release(pfn_t pfn, page_count count) {
    release_result r;
    const auto range = release_range(pfn, count);
    if (!range) return r;
    auto& rg = ranges_[*range];
    r.ok = true;
    r.range = *range;
    r.bitmap_no = (pfn - rg.base_pfn) >> order_per_bit_;
    r.bitmap_count = cma_bitmap_pages_to_bits(order_per_bit_, count); // the kernel's ALIGN, wrap included
    r.overrun = count > rg.end_pfn() - pfn;
    rg.bitmap.clear(r.bitmap_no, r.bitmap_count); // cma_clear_bitmap; both stores clamp at the end, never wrap
    // 6.15+: cma->available_count grows by count as passed (never past the range, see
    // above).  ≤6.14 have no such counter; the model's counts the pages given back
    // inside the range, so it never runs past the area's count.
    available_ += rg.pages_inside(pfn, count);
    CMA_VALIDATE(*this);
    return r;
  }

  /// bitmap_set for pages the model did not see allocated (a replay that starts
  /// mid-stream, boot-time users).  False if pfn is outside every range.
  bool mark_allocated(pfn_t pfn, page_count count) {
    for (auto& rg : ranges_) {
      if (!rg.contains(pfn)) continue;
      rg.bitmap.set((pfn - rg.base_pfn) >> order_per_bit_, cma_bitmap_pages_to_bits(order_per_bit_, count));
      available_ -= std::min(available_, rg.pages_inside(pfn, count)); // clamped like the bits
      CMA_VALIDATE(*this);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ queries
  const std::string& name() const noexcept { return name_; }
  const profile& prof() const noexcept { return prof_; }
  unsigned order_per_bit() const noexcept { return order_per_bit_; }
  page_count count() const noexcept { return count_; }
  pfn_t base_pfn() const noexcept { return ranges_.front().base_pfn; }
  const std::vector<range_type>& ranges() const noexcept { return ranges_; }
  /// cma->available_count (6.15+); tracked for every profile.
  page_count available_count() const noexcept { return available_; }

  /// Pages covered by set bits (what debugfs `used` prints up to 6.14).
  page_count used_bits_pages() const noexcept {
    page_count n = 0;
    for (const auto& rg : ranges_) n += rg.bitmap.weight() << order_per_bit_;
    return n;
  }
  /// Pages covered by clear bits.
  page_count free_pages() const noexcept {
    page_count n = 0;
    for (const auto& rg : ranges_) n += (rg.bitmap_maxno() - rg.bitmap.weight()) << order_per_bit_;
    return n;
  }
  /// Longest free run in pages, over all ranges (debugfs `maxchunk`).
  page_count maxchunk() const {
    page_count best = 0;
    for (const auto& rg : ranges_) best = std::max<page_count>(best, rg.bitmap.longest_run() << order_per_bit_);
    return best;
  }
  /// Could `count` pages at `align` fit if every page were free?  The bitmap search's first
  /// candidate with everything free (bitmap_find_next_zero_area_off from bit 0: the first bit
  /// whose absolute pfn is aligned) plus the request must stay inside a range.  False means
  /// no occupancy can serve it: e.g. a 1 GiB page from a 1 GiB area whose base is not 1 GiB
  /// aligned (6.1 arm64's hugetlb area).
  bool can_ever_hold(page_count count, unsigned align) const {
    const bitmap_no_t mask = cma_bitmap_aligned_mask(order_per_bit_, align);
    const bitmap_no_t bits = cma_bitmap_pages_to_bits(order_per_bit_, count);
    for (const auto& rg : ranges_) {
      const bitmap_no_t offset = cma_bitmap_aligned_offset(rg.base_pfn, order_per_bit_, align);
      const bitmap_no_t first = ((offset + mask) & ~mask) - offset;
      if (first <= rg.bitmap_maxno() && bits <= rg.bitmap_maxno() - first) return true;
    }
    return false;
  }
  std::vector<free_run> free_runs() const {
    std::vector<free_run> out;
    for (unsigned i = 0; i < ranges_.size(); ++i) {
      const auto& rg = ranges_[i];
      rg.bitmap.for_each_free_run([&](bitmap_no_t bit, bitmap_no_t len) {
        out.push_back({i, bit, len, rg.base_pfn + (bit << order_per_bit_), len << order_per_bit_});
      });
    }
    return out;
  }
  /// Is the page at pfn inside a set bit?  nullopt if pfn is outside the area.
  std::optional<bool> page_used(pfn_t pfn) const {
    for (const auto& rg : ranges_)
      if (rg.contains(pfn)) {
        const bitmap_no_t b = (pfn - rg.base_pfn) >> order_per_bit_;
        if (b >= rg.bitmap_maxno()) return std::nullopt; // partial last chunk: no bit
        return rg.bitmap.test(b);
      }
    return std::nullopt;
  }
  /// Are all pages [pfn, pfn+count) inside set bits?  Pages outside the area are ignored.
  bool all_used(pfn_t pfn, page_count count) const {
    for (const auto& rg : ranges_) {
      const pfn_t lo = std::max(pfn, rg.base_pfn);
      const pfn_t hi = pfn >= rg.end_pfn() || count >= rg.end_pfn() - pfn ? rg.end_pfn() : pfn + count; // no wrap
      if (lo >= hi) continue;
      const bitmap_no_t b0 = (lo - rg.base_pfn) >> order_per_bit_;
      const bitmap_no_t b1 = std::min<bitmap_no_t>((hi - 1 - rg.base_pfn) >> order_per_bit_, rg.bitmap_maxno() - 1);
      if (b0 > b1) continue;
      if (rg.bitmap.used_bits(b0, b1 - b0 + 1) != b1 - b0 + 1) return false;
    }
    return true;
  }
  bool contains(pfn_t pfn) const noexcept {
    for (const auto& rg : ranges_)
      if (rg.contains(pfn)) return true;
    return false;
  }

  bool is_valid() const {
    for (const auto& rg : ranges_)
      if (!rg.bitmap.is_valid() || rg.bitmap.weight() > rg.bitmap_maxno()) return false;
    return true;
  }

private:
  alloc_result& early(alloc_result& r, alloc_exit why) const {
    r.exit = why;
    r.err = enomem; // the initial `ret`; the kernel returns NULL without reporting it
    return r;
  }

  // One claim-migrate step shared by both generations: returns alloc_contig_range's ret.
  int try_window(alloc_result& r, unsigned ri, bitmap_no_t bitmap_no, bitmap_no_t bitmap_count,
                 const busy_oracle& busy) {
    auto& rg = ranges_[ri];
    rg.bitmap.set(bitmap_no, bitmap_count); // claimed before migration
    // 6.15+ never gets here with count > available_count (the early stop); ≤6.14 has no
    // such counter and may, when the kernel's ALIGN wrapped a count near 2^64 to 0 bits:
    // the model's counter stops at 0 rather than wrapping.
    const page_count taken = std::min(available_, r.count);
    available_ -= taken;
    const pfn_t pfn = rg.base_pfn + (bitmap_no << order_per_bit_);
    const int ret = busy ? busy(pfn, r.count) : 0;
    r.attempts.push_back({ri, bitmap_no, pfn, ret});
    if (ret == 0) {
      r.pfn = pfn;
      return 0;
    }
    rg.bitmap.clear(bitmap_no, bitmap_count); // cma_clear_bitmap on failure
    available_ += taken;
    return ret;
  }

  // mm/cma.c ≤6.14: cma_alloc / __cma_alloc.
  void alloc_single_range(alloc_result& r, const busy_oracle& busy) {
    auto& rg = ranges_.front();
    const bitmap_no_t mask = cma_bitmap_aligned_mask(order_per_bit_, r.align);
    const bitmap_no_t offset = cma_bitmap_aligned_offset(rg.base_pfn, order_per_bit_, r.align);
    const bitmap_no_t maxno = rg.bitmap_maxno();
    const bitmap_no_t bitmap_count = cma_bitmap_pages_to_bits(order_per_bit_, r.count);
    if (bitmap_count > maxno) {
      early(r, alloc_exit::too_large);
      return;
    }
    int ret = enomem;
    bitmap_no_t start = 0;
    for (;;) {
      const bitmap_no_t bitmap_no = rg.bitmap.find_next_zero_area_off(start, bitmap_count, mask, offset);
      if (bitmap_no >= maxno) break;
      ret = try_window(r, 0, bitmap_no, bitmap_count, busy);
      r.finish_pfn = r.attempts.back().pfn; // the `pfn` variable the finish event prints
      if (ret == 0 || ret != ebusy) break;
      start = bitmap_no + mask + 1;
    }
    r.err = ret;
  }

  // mm/cma.c 6.15+: __cma_alloc over cma_range_alloc.
  void alloc_multi_range(alloc_result& r, const busy_oracle& busy) {
    int ret = enomem;
    bool all_too_large = true;
    for (unsigned ri = 0; ri < ranges_.size(); ++ri) {
      bool too_large = false;
      ret = range_alloc(r, ri, busy, too_large);
      all_too_large = all_too_large && too_large;
      if (ret != ebusy || r.pfn != no_pfn) break;
    }
    r.err = ret;
    r.finish_pfn = r.pfn != no_pfn ? r.pfn : 0;
    if (all_too_large) r.exit = alloc_exit::too_large;
  }

  int range_alloc(alloc_result& r, unsigned ri, const busy_oracle& busy, bool& too_large) {
    auto& rg = ranges_[ri];
    const bitmap_no_t mask = cma_bitmap_aligned_mask(order_per_bit_, r.align);
    const bitmap_no_t offset = cma_bitmap_aligned_offset(rg.base_pfn, order_per_bit_, r.align);
    const bitmap_no_t maxno = rg.bitmap_maxno();
    const bitmap_no_t bitmap_count = cma_bitmap_pages_to_bits(order_per_bit_, r.count);
    if (bitmap_count > maxno) {
      too_large = true;
      return ebusy;
    }
    int ret = ebusy;
    bitmap_no_t start = 0;
    for (;;) {
      if (r.count > available_) break; // area-wide early stop
      const bitmap_no_t bitmap_no = rg.bitmap.find_next_zero_area_off(start, bitmap_count, mask, offset);
      if (bitmap_no >= maxno) break;
      ret = try_window(r, ri, bitmap_no, bitmap_count, busy);
      if (ret == 0 || ret != ebusy) break;
      start = bitmap_no + mask + 1;
    }
    return ret;
  }

  std::optional<unsigned> release_range(pfn_t pfn, page_count count) const {
    if (count_ == 0) return std::nullopt;
    if (prof_.release_checks_range_end) { // 6.15+ cma_pages_valid
      if (count > count_) return std::nullopt;
      for (unsigned i = 0; i < ranges_.size(); ++i)
        if (ranges_[i].contains(pfn) && count <= ranges_[i].end_pfn() - pfn) return i; // pfn + count <= end, unwrapped
      return std::nullopt;
    }
    if (!ranges_.front().contains(pfn)) return std::nullopt;
    return 0u;
  }

  std::string name_;
  unsigned order_per_bit_ = 0;
  profile prof_;
  std::vector<range_type> ranges_;
  page_count count_ = 0;     ///< pages, all ranges
  page_count available_ = 0; ///< cma->available_count
};

} // namespace cma
