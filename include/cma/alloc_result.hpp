// cma/alloc_result.hpp — everything one cma_alloc() call did, as a value.
//
// The kernel returns a page or NULL; the model also returns what a trace or a
// log shows of the call, so a replay can compare it line for line:
// every window claimed and handed to alloc_contig_range() (with its outcome),
// whether cma_alloc_start / cma_alloc_finish were traced, the pfn the finish
// event prints, and whether the failure message was printed.
#pragma once

#include "errno.hpp"
#include "types.hpp"

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <vector>

namespace cma {

/// Why cma_alloc returned before or without searching.
enum class alloc_exit {
  searched,   ///< the bitmap search ran (success or failure)
  null_area,  ///< cma == NULL or cma->count == 0 (or, ≤6.14, bitmap == NULL)
  zero_count, ///< count == 0
  too_large,  ///< bitmap_count > bitmap_maxno of every range
};

/// One window the search claimed: bits set, alloc_contig_range() called.
struct alloc_attempt {
  unsigned range = 0;         ///< memrange index (always 0 before 6.15)
  bitmap_no_t bitmap_no = 0;  ///< first bit of the window in that range
  pfn_t pfn = 0;              ///< base_pfn + (bitmap_no << order_per_bit)
  int ret = 0;                ///< what the busy oracle (alloc_contig_range) returned
  friend bool operator==(const alloc_attempt&, const alloc_attempt&) = default;
};

struct alloc_result {
  page_count count = 0;
  unsigned align = 0;
  pfn_t pfn = no_pfn;         ///< first page on success, no_pfn otherwise
  int err = 0;                ///< 0 on success, else the kernel's `ret` (-ENOMEM, -EBUSY, …)
  alloc_exit exit = alloc_exit::searched;
  boost::container::small_vector<alloc_attempt, 2> attempts; ///< inline: most calls try one window

  // What the kernel's text shows of this call (profile-dependent).
  bool traced_start = false;      ///< trace_cma_alloc_start emitted
  bool traced_finish = false;     ///< trace_cma_alloc_finish (4.x: trace_cma_alloc) emitted
  pfn_t finish_pfn = no_pfn;      ///< the pfn= the finish event prints
  bool failure_message = false;   ///< "alloc failed, req-size: …" printed (and show_areas after it)
  page_count available_before = 0;///< cma->available_count at call time (6.18 start event)

  bool ok() const noexcept { return err == 0 && pfn != no_pfn; }
  std::size_t busy_retries() const noexcept {
    std::size_t n = 0;
    for (const auto& a : attempts) n += a.ret == ebusy;
    return n;
  }
  friend bool operator==(const alloc_result&, const alloc_result&) = default;
};

/// What one cma_release() call did.
struct release_result {
  bool ok = false;            ///< the kernel's return value
  unsigned range = 0;
  bitmap_no_t bitmap_no = 0;  ///< first bit cleared
  bitmap_no_t bitmap_count = 0; ///< bits cleared (ceil(count / 2^order_per_bit))
  bool overrun = false;       ///< ≤6.14: pfn+count ran past the area, or past 2^64 (VM_BUG_ON only under DEBUG_VM; the kernel returns true); cleared bits clamped
  friend bool operator==(const release_result&, const release_result&) = default;
};

} // namespace cma
