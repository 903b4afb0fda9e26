// cma/device/hugetlb_pool.hpp — the hugetlb pool of gigantic pages on a hugetlb CMA area.
//
// Models what one write of N to /sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages does
// to the persistent pool of one gigantic page size (a struct hstate) and to the hugetlb area
// (`hugetlb_cma=`, named hugetlb0; boot/hugetlb_cma.hpp declares it).  Sources, described in
// our own words: mm/hugetlb.c, mm/hugetlb_cma.c and mm/hugetlb_vmemmap.h of Debian's 7.3.4 read
// in full, fs/Kconfig and arch/arm64/Kconfig of 7.3.4 (HVO); for 6.1 and 6.12 the upstream patch
// mails that changed these functions between them — the 6.7 series around d67e32f26713
// ("hugetlb: restructure pool allocations", prep_and_add_allocated_folios) and the 6.15 series
// of "mm/hugetlb: enable bootmem allocation from CMA areas" (the hugetlb_cma folio flag) — with
// the three recordings as the oracle where the text of 6.1 / 6.12 themselves was not at hand.
// Functions: set_max_huge_pages, alloc_pool_huge_page/_folio, alloc_gigantic_page/_folio
// (7.x alloc_gigantic_frozen_folio, hugetlb_cma_alloc_frozen_folio), enqueue_huge_page /
// enqueue_hugetlb_folio, prep_and_add_allocated_folios, remove_pool_huge_page /
// remove_pool_hugetlb_folio, update_and_free_pages_bulk, free_gigantic_page / _folio (7.x
// hugetlb_cma_free_frozen_folio):
//
//  * growing (count > nr): one page at a time.  Each page is first asked of the hugetlb area,
//    cma_alloc(area, 2^order, align = order, no_warn = true) (7.x: cma_alloc_frozen_compound,
//    __GFP_NOWARN too); when that fails the page allocator is asked for 2^order contiguous
//    pages anywhere (alloc_contig_pages; 7.x alloc_contig_frozen_pages).  A page neither gives
//    ends the loop (the write still returns success: nr_hugepages is what was had).
//  * the free list (h->hugepage_freelists[nid], one node here) is a list whose head is where
//    pages are added (list_move) and taken from.
//      ≤ 6.6: each page goes on it right after its allocation (alloc_pool_huge_page →
//             free_huge_page → enqueue_huge_page): the head is the newest page.
//      6.7+:  the loop collects the pages on a local list (list_add, newest first) and
//             prep_and_add_allocated_folios() enqueues that list in order after the loop (also
//             when a page failed): the head is the FIRST page of the batch, the batch in
//             allocation order before the older free pages.
//  * shrinking (count < nr, nothing in use, no reservations: min_count = count):
//    remove_pool_huge_page / remove_pool_hugetlb_folio takes the head of the free list, one
//    at a time, onto a local list with list_add (so the last taken is first), and
//    update_and_free_pages_bulk() frees that list in order.  (6.7+ passes it through
//    hugetlb_vmemmap_restore_folios(): without CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP — arm64 does
//    not select ARCH_WANT_OPTIMIZE_HUGETLB_VMEMMAP in 6.12 or 7.3 — a list_splice_init that
//    keeps the order.)  Result, as the recordings show: 6.1 removes the newest pages and
//    frees them oldest first (ascending pfn, a batch's outside pages last); 6.12 and 7.3
//    remove the oldest pages and free them newest first (descending pfn, a batch's outside
//    pages — allocated last — first).
//  * freeing one page: ≤ 6.14 free_gigantic_page / free_gigantic_folio calls cma_release on
//    the node's hugetlb area for EVERY gigantic page; for a page from outside the area
//    cma_pages_valid() says no (its pr_debug line "cma_pages_valid(page %p, count N)", no trace
//    event) and the page goes back with free_contig_range().  6.15+ marks the folios that came
//    from the area (folio_set_hugetlb_cma; in 7.3 in mm/hugetlb_cma.c) and calls
//    cma_release(_frozen) only for those: an outside page leaves no trace and no mm/cma.c line.
//
// Checked (tests/test_hugetlb_pool.cpp): the three recordings tests/data/recorded/
// huge-{6.1,6.12,7.3}-cma32M-hugetlb1G — every hugetlb0 cma_alloc_finish / cma_release trace
// event in order and by step, nr_hugepages / free_hugepages after every `huge` step, and where
// the cma_pages_valid lines of outside pages fall.
//
// Knowingly different / not modelled:
//  * whether the page allocator finds 2^order free contiguous pages outside the area is an
//    ASSUMPTION the caller makes (hugetlb_pool_options::outside_cma_serves; default: every order
//    below 18 yes, 1 GiB no — what the 3 GiB QEMU machine of the recordings did), not a model
//    of the buddy allocator's memory outside CMA.  Outside pages have no pfn, only an id.
//  * one NUMA node (hugetlb0 only): next_nid_to_alloc / next_nid_to_free, per-node writes
//    (/sys/devices/system/node/...), other nodes' areas are not modelled;
//  * no huge page is ever in use: no reservations, no surplus pages, no overcommit, no
//    demotion, no HVO (vmemmap optimisation) — where HVO is configured (x86) 7.3's
//    hugetlb_vmemmap_restore_folios list_moves each folio to the head of its output list, so a
//    shrink would be freed in the other order: not modelled, not checked;
//  * 7.x `hugetlb_cma_only` (no fallback at all) is not modelled;
//  * the version bounds 6.7 (batched enqueue, the "hugetlb: restructure pool allocations"
//    series, posted September 2023) and 6.15 (the hugetlb_cma folio flag, HPG_cma, posted
//    February 2025) come from the patch mails; the rules are checked only at 6.1, 6.12, 7.3;
//  * signals (a ctrl-c ending the loop early) and cond_resched are not modelled.
//
// Invariants (is_valid): per order, nr == free pages (nothing in use); pages from the area
// are 2^order-aligned and no pfn is held twice; outside ids are unique.  The area itself is the
// caller's (passed to every write), so the pool never outlives or copies it.
//
// Pure: no I/O, no clock, no globals.  One write at a time (h->resize_lock).
#pragma once

#include "../alloc_result.hpp"
#include "../allocator.hpp"
#include "../busy.hpp"
#include "../kernel_version.hpp"
#include "../types.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <vector>

namespace cma::device {

/// What differs between kernel versions in the pool's use of the area.
struct hugetlb_pool_rules {
  /// 6.7+: prep_and_add_allocated_folios() enqueues a growth batch after the loop, first
  /// allocated at the head; ≤ 6.6: each page enqueued at the head when allocated.
  bool batched_enqueue = false;
  /// 6.15+: only folios marked hugetlb_cma go back through cma_release; ≤ 6.14 every gigantic
  /// page is offered to cma_release (cma_pages_valid refuses the outside ones, with a line).
  bool cma_flag_on_folio = false;

  static constexpr hugetlb_pool_rules for_version(const kernel_version& v) noexcept {
    hugetlb_pool_rules r;
    r.batched_enqueue = v >= kernel_version{6, 7};
    r.cma_flag_on_folio = v >= kernel_version{6, 15};
    return r;
  }
};

/// The caller's assumptions about the machine (not modelled memory).
struct hugetlb_pool_options {
  /// Largest order alloc_contig_pages() finds outside the hugetlb area when cma_alloc failed.
  /// Default 17: 32 MiB pages (order 13) yes, 1 GiB (order 18) no, as on the recordings'
  /// 3 GiB QEMU machine.  An assumption, not a model of the buddy allocator.
  unsigned outside_max_order = 17;
  /// Bytes the page allocator can hand out as gigantic pages outside the area, in all: bounds
  /// the growth loop (the kernel stops when memory runs out; a write of a huge count must not
  /// loop or grow memory here).  Default 1 GiB: below what the recordings' machine had outside
  /// CMA (3 GiB of RAM, 1056 MiB of CMA); emulated_kernel passes its own machine's.
  std::uint64_t outside_bytes = std::uint64_t{1} << 30;
  bool outside_cma_serves(unsigned order) const noexcept { return order <= outside_max_order; }
};

/// One gigantic page of a pool.
struct hugetlb_page {
  unsigned order = 0;
  bool in_area = false;          ///< from the hugetlb area (cma_alloc), else from outside
  pfn_t pfn = no_pfn;            ///< first page when in_area
  std::uint64_t outside_id = 0;  ///< when !in_area: 0, 1, 2 … in order of allocation (no pfn modelled)
  friend bool operator==(const hugetlb_page&, const hugetlb_page&) = default;
};

enum class hugetlb_call_kind {
  alloc,   ///< one page asked for: cma_alloc on the area, then maybe the outside fallback
  release, ///< one page freed: cma_release on the area (or, 6.15+, not for an outside page)
};

/// One call the kernel made for one page, in the kernel's order.
struct hugetlb_call {
  hugetlb_call_kind kind = hugetlb_call_kind::alloc;
  unsigned order = 0;
  // --- alloc ---
  alloc_result cma;              ///< cma_alloc(area, 2^order, order, no_warn = true)
  bool outside_tried = false;    ///< cma_alloc failed: alloc_contig_pages() asked
  bool got = false;              ///< a page was had (from the area or outside)
  // --- alloc (when got) and release ---
  hugetlb_page page;
  // --- release ---
  bool cma_release_called = false; ///< ≤ 6.14: always; 6.15+: only for pages from the area
  release_result release;          ///< the area's answer when called (ok false for an outside page)

  /// The "cma_pages_valid(page %p, count N)" pr_debug line (≤ 6.14, page outside the area).
  bool pages_valid_line() const noexcept {
    return kind == hugetlb_call_kind::release && cma_release_called && !release.ok;
  }
  /// A cma_release trace event (pages from the area only).
  bool traced_release() const noexcept { return kind == hugetlb_call_kind::release && release.ok; }
};

/// What one write of nr_hugepages did.
struct hugetlb_write_result {
  unsigned order = 0;
  std::uint64_t asked = 0;       ///< the count written
  std::uint64_t nr_before = 0;
  std::uint64_t nr = 0;          ///< nr_hugepages after the write
  std::uint64_t free = 0;        ///< free_hugepages after the write
  std::vector<hugetlb_call> calls; ///< in the kernel's order
  int ret = 0;                   ///< the write's -errno: always 0 here (fewer pages is not an error)
};

/// The persistent pools of every gigantic order (one struct hstate each) on one hugetlb area.
class hugetlb_pool {
public:
  /// The largest order a pool takes (a 2^30-page page: far above any gigantic page, 16 GiB on
  /// arm64 64K is order 18 of its own pages); larger orders are refused with -EINVAL.
  static constexpr unsigned max_order = 30;

  explicit hugetlb_pool(kernel_version v, hugetlb_pool_options opt = {})
      : rules_(hugetlb_pool_rules::for_version(v)), opt_(opt) {}
  hugetlb_pool(hugetlb_pool_rules rules, hugetlb_pool_options opt) : rules_(rules), opt_(opt) {}

  /// set_max_huge_pages(h of `order`, count): grow or shrink the pool to `count` pages,
  /// taking from / giving back to `area` (the node's hugetlb area, hugetlb0).  `busy` is
  /// alloc_contig_range's answer per window (busy.hpp; default: every window migrates).
  hugetlb_write_result set_nr_hugepages(allocator& area, unsigned order, std::uint64_t count,
                                        const busy_oracle& busy = {}) {
    hugetlb_write_result w;
    w.order = order;
    w.asked = count;
    if (order > max_order) { // no such hstate: the sysfs directory would not exist
      w.ret = einval;
      return w;
    }
    hstate& h = pools_[order];
    w.nr_before = h.nr;
    if (count > h.nr) grow(area, order, h, count, busy, w.calls);
    else if (count < h.nr) shrink(area, order, h, count, w.calls);
    w.nr = h.nr;
    w.free = h.free.size();
    return w;
  }

  /// nr_hugepages of `order` (persistent pages; no surplus here).
  std::uint64_t nr(unsigned order) const {
    const auto it = pools_.find(order);
    return it == pools_.end() ? 0 : it->second.nr;
  }
  /// free_hugepages of `order`.
  std::uint64_t free(unsigned order) const {
    const auto it = pools_.find(order);
    return it == pools_.end() ? 0 : it->second.free.size();
  }
  /// The free list of `order`, head first (the page remove_pool_* takes next).
  std::vector<hugetlb_page> free_list(unsigned order) const {
    const auto it = pools_.find(order);
    if (it == pools_.end()) return {};
    return {it->second.free.begin(), it->second.free.end()};
  }
  const hugetlb_pool_rules& rules() const noexcept { return rules_; }
  const hugetlb_pool_options& options() const noexcept { return opt_; }

  bool is_valid() const {
    std::set<pfn_t> pfns;
    std::set<std::uint64_t> ids;
    for (const auto& [order, h] : pools_) {
      if (h.nr != h.free.size()) return false;
      for (const auto& p : h.free) {
        if (p.order != order) return false;
        if (p.in_area) {
          if (order >= 64 || (p.pfn & ((pfn_t{1} << order) - 1)) != 0 || !pfns.insert(p.pfn).second) return false;
        } else if (!ids.insert(p.outside_id).second) {
          return false;
        }
      }
    }
    return true;
  }

private:
  struct hstate {
    std::uint64_t nr = 0;             ///< h->nr_huge_pages (all free: nothing in use)
    std::deque<hugetlb_page> free;    ///< h->hugepage_freelists[0], front = list head
  };

  // alloc_pool_huge_page / alloc_pool_huge_folio → alloc_gigantic_page / _folio for one node.
  bool alloc_one(allocator& area, unsigned order, const busy_oracle& busy, std::vector<hugetlb_call>& calls,
                 hugetlb_page& out) {
    hugetlb_call c;
    c.kind = hugetlb_call_kind::alloc;
    c.order = order;
    c.cma = area.alloc(page_count{1} << order, order, busy, /*no_warn=*/true);
    c.page.order = order;
    if (c.cma.ok()) {
      c.got = true;
      c.page.in_area = true;
      c.page.pfn = c.cma.pfn;
    } else {
      c.outside_tried = true;
      const std::uint64_t bytes = std::uint64_t{1} << (order + page_shift);
      if (opt_.outside_cma_serves(order) && outside_used_ + bytes <= opt_.outside_bytes) {
        c.got = true;
        c.page.outside_id = next_outside_id_++;
        outside_used_ += bytes;
      }
    }
    out = c.page;
    const bool got = c.got;
    calls.push_back(std::move(c));
    return got;
  }

  void grow(allocator& area, unsigned order, hstate& h, std::uint64_t count, const busy_oracle& busy,
            std::vector<hugetlb_call>& calls) {
    if (!rules_.batched_enqueue) { // ≤ 6.6: enqueue_huge_page at the head, page by page
      while (count > h.nr) {
        hugetlb_page p;
        if (!alloc_one(area, order, busy, calls, p)) break;
        h.free.push_front(p);
        ++h.nr;
      }
      return;
    }
    // 6.7+: collect, then prep_and_add_allocated_folios: the local list is newest first and each
    // is enqueued at the head, so the batch ends up at the head in allocation order.
    std::vector<hugetlb_page> batch;
    while (count > h.nr + batch.size()) {
      hugetlb_page p;
      if (!alloc_one(area, order, busy, calls, p)) break;
      batch.push_back(p);
    }
    h.free.insert(h.free.begin(), batch.begin(), batch.end());
    h.nr += batch.size();
  }

  void shrink(allocator& area, unsigned order, hstate& h, std::uint64_t count, std::vector<hugetlb_call>& calls) {
    // remove_pool_* takes the head; list_add onto page_list puts the last taken first;
    // update_and_free_pages_bulk walks page_list in order.
    std::deque<hugetlb_page> page_list;
    while (count < h.nr && !h.free.empty()) {
      page_list.push_front(h.free.front());
      h.free.pop_front();
      --h.nr;
    }
    for (const auto& p : page_list) {
      hugetlb_call c;
      c.kind = hugetlb_call_kind::release;
      c.order = order;
      c.page = p;
      c.cma_release_called = p.in_area || !rules_.cma_flag_on_folio;
      // An outside page lies outside the area by definition: cma_pages_valid says no and nothing
      // changes (the model has no pfn to hand it).
      if (p.in_area) c.release = area.release(p.pfn, page_count{1} << order);
      else outside_used_ -= std::uint64_t{1} << (order + page_shift);
      calls.push_back(std::move(c));
    }
  }

  hugetlb_pool_rules rules_;
  hugetlb_pool_options opt_;
  std::map<unsigned, hstate> pools_;
  std::uint64_t next_outside_id_ = 0;
  std::uint64_t outside_used_ = 0; ///< bytes of outside pages held (<= opt_.outside_bytes)
};

} // namespace cma::device
