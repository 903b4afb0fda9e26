// cma/replay/cross_check.hpp — mm/cma.c's pr_debug lines checked against the trace events.
//
// When a log has both the cma trace events and the pr_debug lines of the same calls,
// the trace is the operation stream (it carries PFNs) and the pr_debug lines only
// cross-check it:
//   * "cma_alloc(… count N, align A)" lines pair with the traced allocations, and
//     "cma_release(page %p[, count N])" lines with the traced releases, from the end:
//     a wrapped dmesg loses its oldest lines, not its newest;
//   * "alloc failed, req-size: N pages, ret: E" lines are a subsequence of the failed
//     allocations (__GFP_NOWARN silences some, 5.14+ rate-limits them): each pairs with
//     the next failed allocation of N pages that began no later than the line, and
//     gives it the errno the trace did not print (≤ 6.2 has no errorno=).
// Bounded memory: the lines are kept compactly (they come from a kernel log buffer,
// itself bounded by log_buf_len); of the operations only the last as many as there
// are lines (two rings), and failures are paired as they happen.  All lines must be
// known before the operations are replayed (the replayer sees to it: a line that
// arrives later makes the streamed report incomplete, and the batch replay knows all).
#pragma once

#include "../formats/event.hpp"
#include "report.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cma::replay_detail {

class cross_check {
public:
  /// Takes a pr_debug operation line; false for any other event.
  bool add_line(const ev::located& e) {
    if (auto c = std::get_if<ev::alloc_call>(&e.what)) calls_.push_back({c->count, c->align, e.where});
    else if (auto f = std::get_if<ev::alloc_failed>(&e.what)) failures_.push_back({f->count, f->ret, e.where});
    else if (auto r = std::get_if<ev::release_debug>(&e.what)) releases_.push_back({r->count, e.where});
    else return false;
    return true;
  }
  bool empty() const { return calls_.empty() && failures_.empty() && releases_.empty(); }
  std::size_t lines() const { return calls_.size() + failures_.size() + releases_.size(); }

  /// A traced allocation, in replay order (its record's errno and also_reported may be
  /// set here: call before the record is final).
  void on_alloc(op_record& o) {
    remember(allocs_, {o.count, o.align, o.where, o.seq}, calls_.size());
    ++alloc_total_;
    if (!o.observed_ok) on_failed(o);
  }
  void on_release(const op_record& o) {
    remember(releases_seen_, {o.count, 0, o.where, o.seq}, releases_.size());
    ++release_total_;
  }

  /// After the last operation: the checks and notes, in the order the report lists
  /// them; `annotate(seq, where)` marks an operation as also reported by that line.
  void finish(std::vector<state_check>& checks, std::vector<std::string>& notes,
              const std::function<void(std::uint64_t, const ev::source&)>& annotate) const {
    if (empty()) return;
    pair_back(calls_, allocs_, alloc_total_, "cma_alloc", checks, notes, annotate,
              [](const call_line& l, const op_brief& o) { return l.count == o.count && l.align == o.align; });
    for (const auto& c : failure_checks_) checks.push_back(c);
    if (f_next_ < failures_.size()) {
      const auto& l = failures_[f_next_];
      checks.push_back({"cross-check alloc failed", false, l.where,
                        "no failed allocation of " + std::to_string(l.count) + " pages in the trace matches this line"});
    }
    if (!failures_.empty() && f_matched_ == failures_.size())
      checks.push_back({"cross-check alloc failed", true, failures_.back().where,
                        std::to_string(f_matched_) + " failure lines match failed allocations (" + std::to_string(failed_total_) +
                            " failed)"});
    pair_back(releases_, releases_seen_, release_total_, "cma_release", checks, notes, annotate,
              [](const release_line& l, const op_brief& o) { return !l.count || *l.count == o.count; });
  }

private:
  struct call_line { page_count count = 0; unsigned align = 0; ev::source where; };
  struct failure_line { page_count count = 0; int ret = 0; ev::source where; };
  struct release_line { std::optional<page_count> count; ev::source where; };
  struct op_brief { page_count count = 0; unsigned align = 0; ev::source where; std::uint64_t seq = 0; };

  static void remember(std::deque<op_brief>& ring, op_brief b, std::size_t keep) {
    if (keep == 0) return;
    ring.push_back(b);
    if (ring.size() > keep) ring.pop_front();
  }

  // The next failure line pairs with this failed allocation if it is of the same size
  // and printed while the allocation ran: no earlier than it began (6.12+ prints the failure
  // before tracing the finish: compare with the start) and no later than just after its
  // finish (6.1 prints right after it, mm/cma.c cma_alloc).  A failure that printed nothing
  // (__GFP_NOWARN) must not take the line of the next failure of its size: it shifted every
  // pairing after it by one (a real 6.12 recording, tests/data/field/nowarn-6.12-cma48M).
  void on_failed(op_record& o) {
    ++failed_total_;
    if (f_next_ >= failures_.size()) return;
    const auto& l = failures_[f_next_];
    const auto began = o.start_time ? o.start_time : o.where.time;
    const bool before = !began || !l.where.time || *began <= *l.where.time + 1e-6;
    const bool printed_by_it = !o.where.time || !l.where.time || *l.where.time <= *o.where.time + failure_line_after_finish;
    if (!before || !printed_by_it || o.count != l.count) return;
    ++f_next_;
    o.observed_err = l.ret;
    o.also_reported = l.where;
    if (l.ret != o.predicted_err)
      failure_checks_.push_back({"cross-check alloc failed", false, l.where,
                                 "ret " + std::to_string(l.ret) + " but the model returns " + std::to_string(o.predicted_err)});
    else
      ++f_matched_;
  }

  template <class Line, class Same>
  static void pair_back(const std::vector<Line>& lines, const std::deque<op_brief>& ops, std::uint64_t ops_total,
                        const char* what, std::vector<state_check>& checks, std::vector<std::string>& notes,
                        const std::function<void(std::uint64_t, const ev::source&)>& annotate, Same same) {
    if (lines.empty() && ops_total == 0) return;
    const std::size_t n = std::min(lines.size(), ops.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& l = lines[lines.size() - 1 - i];
      const auto& o = ops[ops.size() - 1 - i];
      if (same(l, o)) annotate(o.seq, l.where);
      else if (bad++ == 0)
        checks.push_back({std::string("cross-check ") + what, false, l.where,
                          "pr_debug line disagrees with the trace event at line " + std::to_string(o.where.line)});
    }
    if (bad == 0 && n > 0)
      checks.push_back({std::string("cross-check ") + what, true, lines.back().where,
                        std::to_string(n) + " pr_debug lines agree with the trace events"});
    if (lines.size() != ops_total)
      notes.push_back(std::string("cross-check ") + what + ": " + std::to_string(lines.size()) + " pr_debug lines, " +
                      std::to_string(ops_total) + " trace events (the shorter log lost its oldest lines)");
  }

  std::vector<call_line> calls_;
  std::vector<failure_line> failures_;
  std::vector<release_line> releases_;
  std::deque<op_brief> allocs_, releases_seen_; ///< the last as many as there are lines
  std::uint64_t alloc_total_ = 0, release_total_ = 0, failed_total_ = 0;
  std::size_t f_next_ = 0, f_matched_ = 0;
  std::vector<state_check> failure_checks_;
};

} // namespace cma::replay_detail
