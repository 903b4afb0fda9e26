// cma/profile.hpp — what differs between kernel versions, as data.
//
// The allocator core (cma_area.hpp) is one algorithm; every place where a
// kernel release behaves differently is a field here, chosen at run time from a
// kernel_version.  Sources: KERNEL-FACTS.md §1–§4 and §7, read against mm/cma.c,
// mm/cma_debug.c and include/trace/events/cma.h of 4.15, 5.10, 6.1, 6.6, 6.12,
// 6.18/6.19 and 7.3 (Debian's linux-source-7.3 7.3.4, whose recordings are in tests/data/recorded).  A field that only changes text (messages, trace formats) is here
// too, because the log parsers and the replay need to know which text a
// version prints.
//
// Invariant: profile::for_version is total — every version maps to the nearest
// modelled series below it (a 6.4 kernel gets the 6.3 rules); a version older
// than 4.15 (2.6, 3.10, 4.14) gets the 4.15 rules, which no one checked against
// it: older_than_modelled() tells, and older_than_modelled_note() is the sentence
// every report prints then, so that such a result is never silently 4.15's.
#pragma once

#include "kernel_version.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace cma {

/// Generations of include/trace/events/cma.h.
enum class trace_format {
  legacy,       ///< 4.x – 5.12: one `cma_alloc: pfn=%lx page=%p count=%u align=%u`
  named,        ///< 5.14 – 6.2: name=, cma_alloc_start / _finish / _busy_retry
  errorno,      ///< 6.3 – 6.17: cma_alloc_finish gains `errorno=%d`
  counts,       ///< 6.18+: cma_alloc_start prints request/available/total counts
};

/// Layouts of cma_debug_show_areas() (mm/cma.c).
enum class show_areas_format {
  bits_v4_15,   ///< 4.15: run lengths and the total in bits ("%u@%lu")
  pages_v5_10,  ///< 5.10 – 6.14: run lengths in pages, '@' a bit index
  ranges_v6_15, ///< 6.15+: one "range N: " group per memrange, total = available_count
};

/// Which number debugfs `used` prints (mm/cma_debug.c).
enum class used_semantics {
  set_bits,        ///< ≤6.14: set bits << order_per_bit
  available_count, ///< 6.15+: count - available_count
};

struct profile {
  kernel_version version;
  std::string_view series; ///< the modelled series this version maps to ("6.1")

  // --- allocation (mm/cma.c: cma_alloc / __cma_alloc / cma_range_alloc) ---
  bool multi_range = false;            ///< 6.15+: struct cma_memrange ranges[], tried in order
  bool available_count_stop = false;   ///< 6.15+: `count > cma->available_count` ends a range's search
  int no_space_errno = -12;            ///< ≤6.14 ret starts at -ENOMEM; 6.15+ cma_range_alloc starts at -EBUSY
  bool too_large_is_reported = false;  ///< 6.15+: bitmap_count > maxno prints the failure line and traces finish
  bool finish_pfn_zero_on_failure = false; ///< 6.15+: finish trace pfn is page_to_pfn(page) or 0
  bool trace_start_before_checks = false;  ///< 6.12–6.14: trace_cma_alloc_start is the first statement

  // --- release (cma_release / cma_pages_valid) ---
  bool release_checks_range_end = false; ///< 6.15+: pfn+count must stay inside one range, count <= area count
  /// 7.0+: the released pages go back as aligned buddy blocks (free_contig_frozen_range →
  /// free_prepared_contig_range, mm/page_alloc.c 7.3: order = min(__ffs(pfn), ilog2(left), 10));
  /// ≤6.19 free_contig_range() frees page by page (order 0).  Decides which pages reach the
  /// order-0 MOVABLE pcp list that alloc_page() draws from (device/cma_test_device.hpp).
  bool release_frees_blocks = false;

  // --- text ---
  std::string_view alloc_func;         ///< __func__ in cma_alloc messages
  bool failure_line_has_name = false;  ///< 5.12+: "%s: %s: alloc failed" with the area name
  bool failure_ratelimited = false;    ///< 5.14+: pr_err_ratelimited
  bool call_debug_has_name = false;    ///< 6.6+: "(cma %p, name: %s, count %lu, align %d)"
  bool busy_line_has_pfn = false;      ///< 6.6+: "memory range at pfn 0x%lx %p is busy"
  bool release_debug_has_count = false;///< 5.11+: "cma_release(page %p, count %lu)"
  bool show_areas_unconditional = false; ///< 6.12+: cma_debug_show_areas without CONFIG_CMA_DEBUG
  bool reserved_line_on_node = false;  ///< 6.6–6.14: "Reserved %ld MiB at %pa on node %d"
  show_areas_format show_areas = show_areas_format::pages_v5_10;
  used_semantics used = used_semantics::set_bits;
  trace_format trace = trace_format::named;
  int default_name_base = 0;           ///< "cma%d": 0-based ≤6.14, 1-based 6.15+

  /// The rules of the modelled series at or below `v`.
  static profile for_version(kernel_version v) noexcept;

  /// The series cmasim models explicitly, oldest first.
  static constexpr std::array<std::string_view, 11> modelled_series() noexcept {
    return {"4.15", "5.10", "5.14", "6.1", "6.3", "6.6", "6.12", "6.15", "6.18", "7.0", "7.3"};
  }

  /// The oldest modelled series (modelled_series().front()).
  static constexpr kernel_version oldest_modelled() noexcept { return {4, 15, 0}; }

  /// True when `v` is older than every modelled series: for_version() then
  /// applies the 4.15 rules, unchecked against that kernel (CMA itself came in 3.5;
  /// mm/cma.c was split out of drivers/base/dma-contiguous.c in 3.17).
  static constexpr bool older_than_modelled(kernel_version v) noexcept { return v < oldest_modelled(); }

  /// "kernel 3.10 is older than every modelled profile (4.15): the 4.15 rules are
  /// used", or nullopt when `v` has a modelled series at or below it.
  static std::optional<std::string> older_than_modelled_note(kernel_version v) {
    if (!older_than_modelled(v)) return std::nullopt;
    const kernel_version o = oldest_modelled();
    return "kernel " + v.str() + " is older than every modelled profile (" + o.str() + "): the " +
           o.str() + " rules are used";
  }
};

inline profile profile::for_version(kernel_version v) noexcept {
  profile p;
  p.version = v;
  const auto at_least = [&](int major, int minor) { return v >= kernel_version{major, minor, 0}; };

  p.series = "4.15";
  p.alloc_func = "cma_alloc";
  p.trace = trace_format::legacy;
  p.show_areas = show_areas_format::bits_v4_15;
  if (at_least(5, 10)) {
    p.series = "5.10";
    p.show_areas = show_areas_format::pages_v5_10;
  }
  if (at_least(5, 11)) p.release_debug_has_count = true;
  if (at_least(5, 12)) p.failure_line_has_name = true;
  if (at_least(5, 14)) { // name= and start/finish/busy_retry (KERNEL-FACTS §3: between 5.12.9 and 5.14-rc5)
    p.series = "5.14";
    p.trace = trace_format::named;
    p.failure_ratelimited = true;
  }
  if (at_least(6, 1)) p.series = "6.1";
  if (at_least(6, 3)) {
    p.series = "6.3";
    p.trace = trace_format::errorno;
  }
  if (at_least(6, 6)) {
    p.series = "6.6";
    p.call_debug_has_name = true;
    p.busy_line_has_pfn = true;
    p.reserved_line_on_node = true;
  }
  if (at_least(6, 12)) {
    p.series = "6.12";
    p.alloc_func = "__cma_alloc";
    p.trace_start_before_checks = true;
    p.show_areas_unconditional = true;
  }
  if (at_least(6, 15)) {
    p.series = "6.15";
    p.multi_range = true;
    p.available_count_stop = true;
    p.no_space_errno = -16;
    p.too_large_is_reported = true;
    p.finish_pfn_zero_on_failure = true;
    p.trace_start_before_checks = false;
    p.release_checks_range_end = true;
    p.reserved_line_on_node = false;
    p.show_areas = show_areas_format::ranges_v6_15;
    p.used = used_semantics::available_count;
    p.default_name_base = 1;
  }
  if (at_least(6, 18)) {
    p.series = "6.18";
    p.trace = trace_format::counts;
  }
  if (at_least(7, 0)) { // the frozen-page rework (mm/cma.c 7.3); checked on Debian's 7.3.4
    p.series = "7.0";
    p.alloc_func = "__cma_alloc_frozen";
    p.release_frees_blocks = true;
  }
  // 7.3: the rules of 7.0, a series of its own because its Debian kernel was recorded and the
  // emulating commands accept a series they list (sim/kernel_choice.hpp)
  if (at_least(7, 3)) p.series = "7.3";
  return p;
}

} // namespace cma
