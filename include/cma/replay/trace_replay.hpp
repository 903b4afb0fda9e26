// cma/replay/trace_replay.hpp — the replay of the cma trace events, one at a time, in trace order.
//
// include/trace/events/cma.h: cma_alloc_start opens an allocation, cma_alloc_busy_retry
// names each window alloc_contig_range could not migrate, cma_alloc_finish closes it with
// the pfn (or the failure), cma_release frees; 4.x has a single cma_alloc event.
//   * A start pairs with the finish of the same area (name=) and the same task (the
//     trace's comm-pid): mm/cma.c traces both from the caller, so allocations in flight
//     on two areas or two CPUs at once are told apart.  A start with no finish (≤6.14
//     traces none for a request larger than the area) is judged when its task starts
//     again, or at the end.
//   * Each operation is judged against the model (judge.hpp) and, when pr_debug lines
//     are there to pair with, shown to the cross-check (cross_check.hpp).
//   * A long trace is millions of successes the model reproduces: when nobody reads their
//     records (judge::records_all false) they are counted without building one.
#pragma once

#include "cross_check.hpp"
#include "judge.hpp"
#include "trace_op.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace cma::replay_detail {

class trace_replay {
public:
  trace_replay(judge& j, cross_check& cc, const detail::area_names& names) : j_(j), cc_(cc), names_(names) {}

  /// Starts with no finish, judged in the order they began; call after the last step.
  void end() {
    std::sort(pending_.begin(), pending_.end(), [](const slot& a, const slot& b) { return a.order < b.order; });
    for (auto& s : pending_)
      if (s.open) unfinished(s.p);
    pending_.clear();
  }

  // One trace operation, in trace order.
  void step(const detail::trace_op& t) {
    using trace_op = detail::trace_op;
    fast_ = !j_.records_all();
    switch (t.what) {
    case trace_op::kind::start: {
      if (auto* s = find_pending(t)) unfinished(s->p), s->open = false;
      start_pending(t);
      if (t.has_total && j_.ours(names_[t.name]) && t.pfn != j_.area().count())
        j_.check("total_count", false, t.where(), "trace says total_count=" + std::to_string(t.pfn) +
                                                          ", the area has " + std::to_string(j_.area().count()));
      break;
    }
    case trace_op::kind::busy_retry:
      if (auto* s = find_pending(t)) s->p.busy.push_back(t.pfn);
      break;
    case trace_op::kind::finish: {
      auto* s = t.legacy ? nullptr : find_pending(t);
      if (!s) s = &start_pending(t);
      s->open = false;
      s->p.where = t.where();
      finish_alloc(s->p, t);
      break;
    }
    case trace_op::kind::release:
      release(t);
      break;
    }
  }

private:
  // The allocations begun and not yet finished, per area and task.  Slots are reused:
  // building a fresh pending_alloc per operation zeroed 150 bytes with `rep stos`, a
  // tenth of the replay's own time.
  struct slot {
    pending_alloc p;
    std::uint32_t name = 0;
    std::uint64_t order = 0; ///< when it was begun (unfinished ones are judged in that order)
    bool open = false;
  };
  slot* find_pending(const detail::trace_op& t) {
    for (auto& s : pending_)
      if (s.open && s.name == t.name && (s.p.pid == t.pid || s.p.pid < 0 || t.pid < 0)) return &s;
    return nullptr;
  }
  slot& start_pending(const detail::trace_op& t) {
    auto it = std::find_if(pending_.begin(), pending_.end(), [](const slot& s) { return !s.open; });
    slot& s = it != pending_.end() ? *it : pending_.emplace_back();
    auto& p = s.p;
    p.where = t.where();
    p.start_time = p.where.time;
    p.name = names_[t.name];
    p.count = t.count;
    p.align = t.align;
    p.pid = t.pid;
    p.busy.clear();
    p.busy_lines = 0;
    p.failed_ret.reset();
    p.failed_where.reset();
    s.name = t.name;
    s.order = started_++;
    s.open = true;
    return s;
  }

  // a start event with no finish: ≤6.14 too-large requests (or a trace cut short)
  void unfinished(const pending_alloc& p) {
    op_record o = j_.base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    const bool mine = j_.ours(p.name);
    j_.note_state_before(o); // observed_ok is false: no finish event
    // The pr_debug "cma_alloc(… count N, align A)" line is printed before the size check
    // (mm/cma.c ≤6.14), so the cross-check pairs it with this start as with any other.
    if (!mine) {
      cc_.on_alloc(o);
      return j_.unchecked(std::move(o), "another area");
    }
    const auto r = j_.area().alloc(p.count, p.align, judge::observed_oracle(p));
    judge::fill_predicted(o, r);
    o.observed_ok = false;
    if (!r.traced_finish) {
      o.result = verdict::matched;
      o.note = "no finish event, as the model predicts (" + judge::exit_words(r.exit) + ")";
    } else {
      o.result = verdict::diverged;
      o.note = "the kernel traced no cma_alloc_finish for this start; the model would have traced one (it " +
               std::string(r.ok() ? "succeeds" : "fails after searching") + ")";
      j_.undo(r);
    }
    j_.explain_failure(o, r);
    cc_.on_alloc(o);
    j_.record(std::move(o));
  }

  // A long trace is millions of successes the model reproduces; when nobody keeps their
  // records they are counted without building one.  Anything else — or a success that
  // does not match — takes judge_alloc.
  void finish_alloc(const pending_alloc& p, const detail::trace_op& f) {
    const bool observed_ok = f.has_errorno ? f.errorno == 0 : !f.page_null;
    if (!fast_ || !observed_ok || !j_.ours(p.name)) return judge_alloc(p, f, std::nullopt);
    j_.apply_timed_before(p.where); // side events printed before it see the state before it
    auto r = j_.area().alloc(p.count, p.align, judge::observed_oracle(p));
    if (!plain_match(p, f, r)) return judge_alloc(p, f, std::move(r));
    if (!cc_.empty()) {
      op_record brief;
      brief.seq = j_.next_seq(), brief.where = p.where, brief.count = p.count, brief.align = p.align;
      brief.observed_ok = true;
      cc_.on_alloc(brief);
    }
    j_.count_matched();
  }

  // judge_alloc's verdict for a success, when it is "matched": the same pfn, the same
  // busy retries, the same request.
  static bool plain_match(const pending_alloc& p, const detail::trace_op& f, const alloc_result& r) {
    if (!r.ok() || r.finish_pfn != f.pfn || r.count != f.count || r.align != f.align) return false;
    std::size_t busy = 0;
    for (const auto& a : r.attempts)
      if (a.ret == ebusy && (busy >= p.busy.size() || p.busy[busy++] != a.pfn)) return false;
    return busy == p.busy.size();
  }

  // `done`: the model's answer when finish_alloc already asked for it.
  void judge_alloc(const pending_alloc& p, const detail::trace_op& f, std::optional<alloc_result> done) {
    op_record o = j_.base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    o.start_time = p.start_time;
    o.observed_busy = p.busy;
    o.observed_ok = f.has_errorno ? f.errorno == 0 : !f.page_null;
    o.observed_pfn = f.pfn;
    if (f.has_errorno && f.errorno != 0) o.observed_err = f.errorno;
    const bool mine = j_.ours(p.name);
    j_.note_state_before(o);
    if (!mine) {
      cc_.on_alloc(o); // the cross-check counts it: it was traced
      return j_.unchecked(std::move(o), "another area");
    }
    const auto r = done ? std::move(*done) : j_.area().alloc(p.count, p.align, judge::observed_oracle(p));
    judge::fill_predicted(o, r);
    std::string why;
    if (o.observed_ok != o.predicted_ok) why = o.observed_ok ? "the kernel succeeded, the model failed" : "the kernel failed, the model succeeded";
    else if (r.finish_pfn != f.pfn) why = "pfn differs";
    else if (o.observed_err && *o.observed_err != r.err) why = "error code differs";
    else if (o.predicted_busy != o.observed_busy) why = "busy retries differ";
    else if (r.count != f.count || r.align != f.align) why = "count/align differ between start and finish";
    j_.verdict_for(o, why);
    if (o.result != verdict::matched) j_.resync_alloc(r, o.observed_ok ? std::optional<pfn_t>(f.pfn) : std::nullopt, p.count);
    j_.explain_failure(o, r);
    cc_.on_alloc(o); // after the verdict: a failure line's errno annotates, it does not judge
    j_.record(std::move(o));
  }

  // As finish_alloc: a release of pages the model has allocated, when nobody keeps its
  // record, is counted without building one.
  void release(const detail::trace_op& r) {
    if (fast_ && j_.ours(names_[r.name])) {
      j_.apply_timed_before(r.where());
      const bool was_used = j_.area().all_used(r.pfn, r.count);
      const auto res = j_.area().release(r.pfn, r.count);
      if (!res.ok || !was_used) return judge_release(r, std::pair{was_used, res});
      if (!cc_.empty()) {
        op_record brief;
        brief.kind = op_kind::release, brief.seq = j_.next_seq(), brief.where = r.where(), brief.count = r.count;
        cc_.on_release(brief);
      }
      j_.count_matched();
      return;
    }
    judge_release(r, std::nullopt);
  }

  // `done`: was_used and the model's answer, when release already released.
  void judge_release(const detail::trace_op& r, std::optional<std::pair<bool, release_result>> done) {
    op_record o = j_.base_op(op_kind::release, r.where(), names_[r.name], r.count, 0);
    o.observed_pfn = r.pfn;
    o.observed_ok = true; // cma_release is traced only after it validated the pages
    cc_.on_release(o);
    if (!j_.ours(names_[r.name])) return j_.unchecked(std::move(o), "another area");
    j_.apply_release(o, r.pfn, r.count, done);
    j_.record(std::move(o));
  }


private:
  judge& j_;
  cross_check& cc_;
  const detail::area_names& names_;
  std::vector<slot> pending_;
  std::uint64_t started_ = 0;
  bool fast_ = false; ///< nobody reads matched records: count them only
};

} // namespace cma::replay_detail
