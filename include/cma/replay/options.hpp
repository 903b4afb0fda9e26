// cma/replay/options.hpp — what the caller decides about a replay.
//
// The area and kernel override what the boot lines say; stream/keep_matched/on_op
// decide what is kept in memory.  Every per-input quantity that could grow with the
// input is bounded here: records kept (max_kept_ops), lines not understood kept
// (max_unrecognised).  A caller that wants every record without holding them (the CLI's
// -v and --json) gives on_op, which receives each record once it is final.
// Areas (`cmasim replay --area`, which may be given more than once): `area` is the default
// one (the first --area: the report's `area`, the area of events that name none) and
// overrides the boot lines' default area whatever its name, as it always did; each of
// `more_areas` declares one more area by its name, or replaces the boot lines' area of that
// name (a hugetlb<N>).  Events go to the area their trace name= (or 6.6+ pr_debug "name:")
// names, as with the areas the boot lines declare.  No two may share a name or a page:
// find_area_conflict() says which two do (the CLI refuses them; the replayer ignores the
// later one, with a note).
#pragma once

#include "../kernel_version.hpp"
#include "report.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cma {

struct area_spec {
  std::string name = "reserved";
  std::uint64_t base = 0;   ///< bytes
  std::uint64_t size = 0;   ///< bytes
  unsigned order_per_bit = 0;
};

struct replay_options {
  std::optional<kernel_version> kernel; ///< overrides the banner
  std::optional<area_spec> area;        ///< the default area: overrides the boot lines' (the first --area)
  std::vector<area_spec> more_areas;    ///< areas beside it, each by its name (--area again)
  bool mid_stream = false;              ///< treat the input as starting mid-stream
  /// Keep every op_record in replay_report::ops (false: only the notable ones).  Ignored
  /// when on_op is set: records then go there and only notable ones are kept.
  bool keep_matched = true;
  /// Every operation's record, in replay order, once nothing will change it.
  std::function<void(const op_record&)> on_op;
  /// Replay trace operations as they arrive once the area and the kernel are known (from
  /// the options or from boot lines read before the trace), keeping nothing per
  /// operation; otherwise — or when this is false — they are kept and replayed by finish().
  bool stream = true;
  std::size_t max_kept_ops = 10000;     ///< notable records kept when not keeping every one
  std::size_t max_unrecognised = 1000;  ///< lines not understood kept (all are counted)
};

/// Do two byte ranges [base, base + size) share a byte?  (An end past 2^64 is taken as 2^64.)
inline bool bytes_overlap(std::uint64_t a_base, std::uint64_t a_size, std::uint64_t b_base, std::uint64_t b_size) {
  const auto end = [](std::uint64_t base, std::uint64_t size) { return size > ~base ? ~std::uint64_t{0} : base + size; };
  return a_size && b_size && a_base < end(b_base, b_size) && b_base < end(a_base, a_size);
}

/// Two area specs that cannot both be areas of one machine: indexes into the list given to
/// find_area_conflict(), first < second.
struct area_conflict {
  std::size_t first = 0, second = 0;
  bool same_name = false; ///< else their pages overlap
};

/// The first pair of specs (in order) that share a name — an area is found by its name
/// (mm/cma.c cma_init_reserved_mem copies it; trace events and 6.6+ pr_debug lines print it)
/// — or share a byte (memblock hands each page to one reservation).
inline std::optional<area_conflict> find_area_conflict(const std::vector<area_spec>& specs) {
  for (std::size_t j = 1; j < specs.size(); ++j)
    for (std::size_t i = 0; i < j; ++i) {
      const auto& a = specs[i];
      const auto& b = specs[j];
      if (a.name == b.name) return area_conflict{i, j, true};
      if (bytes_overlap(a.base, a.size, b.base, b.size)) return area_conflict{i, j, false};
    }
  return std::nullopt;
}

} // namespace cma
