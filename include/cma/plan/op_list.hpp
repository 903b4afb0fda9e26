// cma/plan/op_list.hpp — the operation stream of a replay, compact, for what-if sweeps.
//
// `cmasim plan` replays one input under many configurations (area size, base, kernel
// version, order_per_bit).  The input is parsed and replayed once; what the sweep needs
// of every CMA operation of the original is kept here, 32 bytes an entry:
//   * an allocation: count, align, the original's outcome (ok, or its errno), the
//     windows the original saw busy (absolute pfns, kept aside in op_list::busy), and
//     the line that completed it (input file index, 1-based line);
//   * a release: count, and which allocation it releases — an index into the list,
//     found at build time by the original pfn (the allocation live at that pfn).
// A release of pages the stream never saw allocated (an input that starts mid-stream,
// a release of part of an allocation) has no allocation to follow: it is counted in
// orphan_releases and left out, because under another configuration nothing says where
// those pages would be.
// Built from op_records (report.hpp), e.g. by replay_options::on_op, in replay order;
// unchecked records (the replay's verdict for another area's operations) are skipped,
// and, when the builder is given an area name, records of any other name.
// Invariants: a release's `ref` is the index of an earlier allocation that succeeded in
// the original; each allocation is released at most once; busy spans lie inside `busy`.
// Pure: no I/O.
#pragma once

#include "../replay/report.hpp"
#include "../types.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace cma::plan {

enum class plan_op_kind : std::uint8_t { alloc, release };

struct plan_op {
  page_count count = 0;       ///< pages
  std::uint64_t line = 0;     ///< 1-based line of the input that completed the operation
  std::uint32_t ref = 0;      ///< release: index of its allocation; alloc: first entry in op_list::busy
  std::uint32_t nbusy = 0;    ///< alloc: busy windows the original saw (entries in op_list::busy)
  std::uint32_t file = 0;     ///< input index (replayed_inputs::names)
  plan_op_kind kind = plan_op_kind::alloc;
  std::uint8_t align = 0;     ///< page order, saturated at 255 (the mask saturates long before)
  std::int8_t err = 0;        ///< alloc: 0 when the original succeeded, else its errno (−12, −16, …)
  bool original_ok() const noexcept { return err == 0; }
};
static_assert(sizeof(plan_op) == 32, "plan_op is meant to stay 32 bytes");

struct op_list {
  std::vector<plan_op> ops;
  std::vector<pfn_t> busy;              ///< absolute pfns of busy windows, per allocation (ref, nbusy)
  std::uint64_t allocs = 0, releases = 0;
  std::uint64_t original_failures = 0;  ///< allocations that failed in the original
  std::uint64_t orphan_releases = 0;    ///< releases of pages the stream never saw allocated (left out)
  std::uint64_t other_area = 0;         ///< records of other areas (skipped)
};

/// Builds an op_list from op_records handed over in replay order.
class op_list_builder {
public:
  /// `area`: the name of the area whose operations are kept ("" keeps every checked one:
  /// the replay checks only its own area's).
  explicit op_list_builder(std::string area = {}) : area_(std::move(area)) {}

  void add(const op_record& o) {
    if ((!area_.empty() && o.area != area_) || o.result == verdict::unchecked) {
      ++list_.other_area;
      return;
    }
    plan_op p;
    p.count = o.count;
    p.line = o.where.line;
    p.file = o.where.file;
    const auto index = static_cast<std::uint32_t>(list_.ops.size());
    if (o.kind == op_kind::alloc) {
      p.kind = plan_op_kind::alloc;
      p.align = static_cast<std::uint8_t>(std::min(o.align, 255u));
      const int err = o.observed_ok ? 0 : (o.observed_err ? *o.observed_err : enomem_value);
      p.err = o.observed_ok ? std::int8_t{0} : static_cast<std::int8_t>(std::clamp(err, -128, -1));
      p.ref = static_cast<std::uint32_t>(list_.busy.size());
      p.nbusy = static_cast<std::uint32_t>(o.observed_busy.size());
      list_.busy.insert(list_.busy.end(), o.observed_busy.begin(), o.observed_busy.end());
      ++list_.allocs;
      if (!o.observed_ok) ++list_.original_failures;
      else if (o.observed_pfn) live_[*o.observed_pfn] = index;
    } else {
      const auto it = o.observed_pfn ? live_.find(*o.observed_pfn) : live_.end();
      if (it == live_.end()) {
        ++list_.orphan_releases;
        return;
      }
      p.kind = plan_op_kind::release;
      p.ref = it->second;
      live_.erase(it);
      ++list_.releases;
    }
    list_.ops.push_back(p);
  }

  op_list finish() && { return std::move(list_); }

private:
  static constexpr int enomem_value = -12;
  std::string area_;
  op_list list_;
  std::unordered_map<pfn_t, std::uint32_t> live_; ///< original pfn → allocation live there
};

} // namespace cma::plan
