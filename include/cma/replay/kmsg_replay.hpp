// cma/replay/kmsg_replay.hpp — the replay of a log without trace events: mm/cma.c's pr_debug lines.
//
// With CONFIG_CMA_DEBUG or dynamic debug on mm/cma.c the kernel prints, per call,
//   "cma_alloc(cma %p, count N, align A)"          (6.6+ with the area's name, 6.12+ __cma_alloc)
//   "memory range at [pfn 0x…] %p is busy, retrying" (each -EBUSY window; the pfn from 6.6)
//   "cma_alloc(): returned %p"                      (NULL: failed)
//   "cma_release(page %p[, count N])"
// No PFN is printed, so what is compared is success or failure, the errno of a failure
// line, and the busy retries; the hashed %p of "returned" pairs an allocation with its
// release (4.15/5.10 print no count there: the allocation's is used).  Other lines are
// state lines, checked where they fall.
// Several areas: mm/cma.c's release lines (cma_release, 5.16–6.14 cma_pages_valid, 7.x
// find_cma_memrange / __cma_release_frozen) name no area, but within one boot a page prints
// the same hashed %p, so a release goes to the area of the allocation whose "returned" line
// printed its page.  The allocation's area is its call line's "name: %s" (6.6+); before
// 6.6 the call line has only "cma %p", which tells areas apart but names none, so every
// allocation and release is the default area's.
#pragma once

#include "judge.hpp"

#include <map>
#include <memory>
#include <string>

namespace cma::replay_detail {

class kmsg_replay {
public:
  explicit kmsg_replay(judge& j, std::vector<std::string>& notes) : j_(j), notes_(notes) {}

  template <class Events>
  void run(const Events& events) {
    for (const auto& item : events) step(item);
  }

private:
  void step(const ev::located& e) {
    if (auto c = std::get_if<ev::alloc_call>(&e.what)) {
      if (pending_) notes_.push_back("line " + std::to_string(pending_->where.line) + ": cma_alloc call without 'returned' line");
      const std::string_view name = c->name ? std::string_view(*c->name) : std::string_view(j_.areas().front().name());
      pending_ = pending_alloc{};
      pending_->where = e.where, pending_->start_time = e.where.time, pending_->name = name;
      pending_->count = c->count, pending_->align = c->align;
    } else if (auto b = std::get_if<ev::busy_debug>(&e.what)) {
      if (!pending_) return;
      if (b->pfn) pending_->busy.push_back(*b->pfn);
      else ++pending_->busy_lines;
    } else if (auto f = std::get_if<ev::alloc_failed>(&e.what)) {
      if (pending_) pending_->failed_ret = f->ret, pending_->failed_where = e.where;
    } else if (auto r = std::get_if<ev::alloc_returned>(&e.what)) {
      if (!pending_) {
        notes_.push_back("line " + std::to_string(e.where.line) + ": 'returned' with no cma_alloc call before it (log starts mid-call)");
        return;
      }
      pending_->where = e.where;
      finish_alloc(*pending_, *r);
      pending_.reset();
    } else if (auto rel = std::get_if<ev::release_debug>(&e.what)) {
      release(*rel, e.where);
    } else {
      j_.side_event(e);
    }
  }

  void finish_alloc(const pending_alloc& p, const ev::alloc_returned& ret) {
    op_record o = j_.base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    o.observed_ok = !ret.null();
    o.observed_busy = p.busy;
    if (p.failed_ret) o.observed_err = *p.failed_ret;
    if (p.failed_where) o.also_reported = *p.failed_where; // the failure line that reported it
    o.start_time = p.start_time;
    const bool mine = j_.ours(p.name);
    j_.note_state_before(o);
    if (!mine) return j_.unchecked(std::move(o), "another area");
    // Busy lines without a pfn (≤6.5): the kernel retried that many windows.
    busy_oracle oracle = judge::observed_oracle(p);
    if (p.busy.empty() && p.busy_lines > 0) {
      auto left = std::make_shared<std::size_t>(p.busy_lines);
      oracle = [left](pfn_t, page_count) { return *left > 0 ? (--*left, ebusy) : 0; };
    }
    const auto r = j_.area().alloc(p.count, p.align, oracle);
    judge::fill_predicted(o, r);
    if (p.busy.empty() && p.busy_lines > 0) {
      o.observed_busy.clear();
      o.predicted_busy.clear(); // only the number of retries is known
    }
    std::string why;
    if (o.observed_ok != o.predicted_ok) why = o.observed_ok ? "the kernel succeeded, the model failed" : "the kernel failed, the model succeeded";
    else if (o.observed_err && *o.observed_err != r.err) why = "error code differs";
    else if (r.busy_retries() != p.busy.size() + p.busy_lines) why = "number of busy retries differs";
    else if (!p.busy.empty() && o.predicted_busy != o.observed_busy) why = "busy retries differ";
    j_.verdict_for(o, why);
    if (o.result == verdict::matched) o.note = "no pfn in the log: success/failure and retries compared";
    if (o.observed_ok && r.ok() && ret.page_token != "(____ptrval____)") by_token_[ret.page_token] = {std::string(p.name), r.pfn, p.count};
    if (o.result != verdict::matched && r.ok() && !o.observed_ok) j_.undo(r);
    j_.explain_failure(o, r);
    j_.record(std::move(o));
  }

  void release(const ev::release_debug& rel, const ev::source& where) {
    const auto it = by_token_.find(rel.page_token);
    // the area of the allocation that returned this page (none known: the default area)
    const std::string name = it != by_token_.end() ? it->second.name : j_.areas().front().name();
    const bool mine = j_.ours(name); // (its verdict is counted for that area)
    op_record o = j_.base_op(op_kind::release, where, name, rel.count.value_or(0), 0);
    o.observed_ok = true;
    if (it == by_token_.end()) {
      o.result = verdict::inferred;
      o.note = "release of " + rel.page_token + ", an allocation the log never showed: not applied";
      j_.record(std::move(o));
      return;
    }
    const pfn_t pfn = it->second.pfn;
    const page_count count = it->second.count;
    by_token_.erase(it);
    if (!mine) return j_.unchecked(std::move(o), "another area");
    o.count = rel.count.value_or(count); // 4.15/5.10 print no count: the allocation's
    o.observed_pfn = pfn;
    j_.apply_release(o, pfn, o.count);
    j_.record(std::move(o));
  }

  judge& j_;
  std::vector<std::string>& notes_;
  std::optional<pending_alloc> pending_;
  struct live {
    std::string name; ///< its area
    pfn_t pfn = 0;
    page_count count = 0;
  };
  std::map<std::string, live> by_token_; ///< live allocations by hashed page
};

} // namespace cma::replay_detail
