// cma/replay/report.hpp — what a replay found: the report every command builds on.
//
// A replay_report says which kernel and area were modelled and where they came from,
// the verdict on every operation (counted always; kept as op_records as the options
// say), the state checks, the lines not understood, and the area's final occupancy.
// Invariants:
//   * verdicts[] counts every operation, whether or not its record was kept;
//   * ops holds records in the order the operations were replayed (their `seq`
//     increases), but with replay_options::on_op or keep_matched off only the ones a
//     reader needs (diverged, inferred, unchecked, failed), at most
//     replay_options::max_kept_ops of them — ops_not_kept counts the others;
//   * first_diverged is the first diverged operation, kept even when ops is capped;
//   * unrecognised holds the first replay_options::max_unrecognised lines not
//     understood; unrecognised_total counts them all.
// Pure data: no I/O (sim/cmd_replay.cpp prints it).
#pragma once

#include "../alloc_result.hpp"
#include "../cma_area.hpp"
#include "../formats/event.hpp"
#include "../formats/log_reader.hpp"
#include "../types.hpp"
#include "field_log.hpp"

#include <range/v3/view/filter.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cma {

/// How long after an allocation's traced finish its "alloc failed" line may be stamped (s):
/// mm/cma.c cma_alloc prints it right after (6.1) or just before (6.12+) tracing the finish;
/// 10 ms is slack for a busy console.  The cross-check and diagnose pair lines by it.
inline constexpr double failure_line_after_finish = 0.01;

enum class op_kind { alloc, release };
enum class verdict { matched, diverged, inferred, unchecked };

inline const char* to_string(verdict v) {
  switch (v) {
  case verdict::matched: return "matched";
  case verdict::diverged: return "diverged";
  case verdict::inferred: return "inferred";
  case verdict::unchecked: return "unchecked";
  }
  return "?";
}

struct op_record {
  op_kind kind = op_kind::alloc;
  verdict result = verdict::matched;
  std::uint64_t seq = 0;                 ///< 0-based position among every operation replayed
  ev::source where;                      ///< the line that completed the operation
  std::optional<double> start_time;      ///< when it began (cma_alloc_start / the call line)
  std::optional<ev::source> also_reported; ///< the pr_debug line that reported it too
  std::string area;
  page_count count = 0;
  unsigned align = 0;
  // observed (what the kernel printed) vs predicted (what the model returned)
  std::optional<pfn_t> observed_pfn;     ///< success pfn, or ≤6.14 finish pfn on failure
  bool observed_ok = false;
  std::optional<int> observed_err;
  std::vector<pfn_t> observed_busy;
  pfn_t predicted_pfn = no_pfn;
  bool predicted_ok = false;
  int predicted_err = 0;
  std::vector<pfn_t> predicted_busy;
  std::string note;                      ///< why it diverged / what was inferred
  // for failed allocations (observed_ok false): the state the request met; 0 otherwise
  page_count free_before = 0;
  page_count maxchunk_before = 0;
  alloc_exit exit = alloc_exit::searched;
  std::string failure_reason;            ///< plain words: why the allocation failed
  /// The area's free runs the request met, as cma_debug_show_areas prints them (kept for the
  /// first failures of a single-range area only: judge.hpp's budget).
  std::optional<field_snapshot> state_before;

  /// Worth keeping when nobody asked for every record: not matched, or a failure.
  bool notable() const { return result != verdict::matched || (kind == op_kind::alloc && !observed_ok); }
};

struct state_check {
  std::string what;  ///< "bitmap", "show_areas", "CmaTotal", "cma-reserved", "cross-check …", "total_count"
  bool ok = true;
  ev::source where;
  std::string detail;
};

/// One area of a machine with several (the default area is also the report's `area`).
struct area_report {
  std::string name, source;
  pfn_t base_pfn = 0;
  page_count count = 0;
  unsigned order_per_bit = 0;
  page_count used = 0, free = 0, maxchunk = 0; ///< at the end
  std::array<std::uint64_t, 4> verdicts{};     ///< its operations' verdicts (unchecked ones belong to no area)
  std::uint64_t op_count() const { return verdicts[0] + verdicts[1] + verdicts[2] + verdicts[3]; }
};

struct replay_report {
  static constexpr int schema_version = 1;
  std::string kernel;             ///< series the model ran ("6.1")
  std::string kernel_release;     ///< as the banner printed it, if any
  bool kernel_assumed = false;
  bool area_known = false;
  std::string area_source;        ///< "boot log", "--area", "none"
  std::string area_name;
  pfn_t base_pfn = 0;
  page_count count = 0;
  unsigned order_per_bit = 0;
  bool mid_stream = false;
  bool ops_without_area = false;  ///< the input has operations but no area was known: nothing was replayed
  std::vector<op_record> ops;
  std::uint64_t ops_not_kept = 0;           ///< notable records beyond replay_options::max_kept_ops
  std::optional<op_record> first_diverged;  ///< with its seq
  std::vector<state_check> checks;
  std::vector<formats::unrecognised_line> unrecognised;
  std::uint64_t unrecognised_total = 0;
  std::vector<std::string> notes;
  // final occupancy
  page_count used = 0, free = 0, available_count = 0, maxchunk = 0;
  std::vector<free_run> free_runs;
  std::vector<std::string> show_areas_text;
  std::uint64_t lines = 0, cma_lines = 0;

  std::vector<area_report> areas;          ///< every area replayed, the default one first
  field_report field;                      ///< what the log says beyond operations (field_log.hpp)

  std::array<std::uint64_t, 4> verdicts{}; ///< every operation's verdict, counted (ops may keep fewer)
  std::uint64_t count_of(verdict v) const { return verdicts[static_cast<std::size_t>(v)]; }
  std::uint64_t op_count() const { return verdicts[0] + verdicts[1] + verdicts[2] + verdicts[3]; }
  std::size_t failed_checks() const {
    return static_cast<std::size_t>(std::count_if(checks.begin(), checks.end(), [](const state_check& c) { return !c.ok; }));
  }
  /// Index into ops of the first diverged operation, when it was kept there.
  std::optional<std::size_t> first_divergence() const {
    for (std::size_t i = 0; i < ops.size(); ++i)
      if (ops[i].result == verdict::diverged) return i;
    return std::nullopt;
  }
  /// Lazy view of the kept allocations that failed in the kernel.
  auto failed_allocations() const {
    return ops | ranges::views::filter([](const op_record& o) { return o.kind == op_kind::alloc && !o.observed_ok; });
  }
  bool all_matched() const { return count_of(verdict::diverged) == 0 && failed_checks() == 0; }
  /// A streamed replay met a line it could only have judged against an earlier state (a
  /// later input printed it before operations already replayed, or the log turned out
  /// not to start mid-stream after a verdict assumed it did): this report is incomplete,
  /// and a replay with replay_options::stream = false gives the full one.  replay() and
  /// `cmasim replay` do that themselves.
  bool needs_batch_replay = false;
};

} // namespace cma
