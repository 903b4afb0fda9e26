// cma/replay/judge.hpp — an operation the kernel reported, against the model's answer.
//
// Both replays (the trace-driven one in replayer.hpp, the pr_debug-driven one in
// kmsg_replay.hpp) hand each operation here: judge holds the area, the report and the
// state lines waiting for their moment, and
//   * compares what the kernel printed with what the model returns, giving the verdict
//     (after a divergence the model adopts the kernel's result, so every later operation
//     is still checked; a log that starts mid-stream marks what it had to assume as
//     inferred);
//   * says in plain words why a failed allocation failed;
//   * applies each state line (state_checks.hpp) just before the first operation
//     printed after it (ftrace and printk share local_clock);
//   * records the verdict: every one counted, each record numbered (seq) and, as
//     replay_options say, handed to on_op once final, kept, or only counted.
// Several areas (the default one, hugetlb<N>, …): each operation names its area (trace
// name=, 6.6+ pr_debug name:) and ours(name) makes that area the current one; an operation
// of an area the log did not declare is unchecked.  A show_areas line is checked against
// the area of its size (it follows that area's failure; 6.15+: the dump's range lines are
// held until its "=> F free of T total pages" line, which names the size), CmaTotal and
// cma-reserved against the sum of every area.
// Records are final when the cross-check (cross_check.hpp) can no longer annotate them:
// with pr_debug lines to pair, the last as many records as there are lines wait in a
// window (at most hold_limit) before they go to on_op.
#pragma once

#include "../allocator.hpp"
#include "options.hpp"
#include "report.hpp"
#include "state_checks.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cma::replay_detail {

/// An allocation the kernel began and the replay has not yet seen end.
struct pending_alloc {
  ev::source where;
  std::optional<double> start_time;
  std::string_view name;       ///< into the replayer's interned names or events: both outlive the replay
  page_count count = 0;
  unsigned align = 0;
  int pid = -1;                ///< the task that began it (trace), -1 when unknown
  std::vector<pfn_t> busy;     ///< observed busy pfns (trace, or 6.6+ debug lines)
  std::size_t busy_lines = 0;  ///< busy debug lines without a pfn
  std::optional<int> failed_ret;
  std::optional<ev::source> failed_where;
};

class judge {
public:
  static constexpr std::size_t hold_limit = std::size_t{1} << 16;

  judge(const replay_options& opt, replay_report& rep) : opt_(opt), rep_(rep) {}

  /// The default area (the report's `area`); add_area() adds the others.
  void set_area(allocator a) {
    areas_.clear();
    sources_.clear();
    verdicts_.clear();
    add_area(std::move(a), "");
  }
  void add_area(allocator a, std::string source) {
    areas_.push_back(std::move(a));
    sources_.push_back(std::move(source));
    verdicts_.push_back({});
    area_ = &areas_.front(), cur_ = 0;
  }
  bool has_area() const { return !areas_.empty(); }
  allocator& area() { return *area_; }
  const allocator& area() const { return *area_; }
  const std::deque<allocator>& areas() const { return areas_; }
  /// Makes the area `name` names current (no name: the default area); false when the log
  /// declared no such area.
  bool ours(std::string_view name) {
    if (areas_.empty()) return false;
    if (name.empty()) return area_ = &areas_.front(), cur_ = 0, true;
    if (formats::detail::same(name, area_->name())) return true;
    for (std::size_t i = 0; i < areas_.size(); ++i)
      if (formats::detail::same(name, areas_[i].name())) return area_ = &areas_[i], cur_ = i, true;
    return false;
  }
  /// Does every operation get a record (someone reads them all)?
  bool records_all() const { return bool(opt_.on_op) || opt_.keep_matched; }
  /// Records wait until `n` later ones have come (the cross-check may annotate them).
  void hold_back(std::size_t n) { hold_ = std::min(n, hold_limit); }
  std::uint64_t next_seq() const { return seq_; }
  bool mid_stream_read() const { return mid_stream_read_; }

  // ------------------------------------------------------------ state lines
  void add_timed(const ev::located* e) { timed_.push_back(e); }
  void add_untimed(const ev::located* e) { untimed_.push_back(e); }
  void sort_timed() {
    std::stable_sort(timed_.begin(), timed_.end(),
                     [](const ev::located* a, const ev::located* b) { return *a->where.time < *b->where.time; });
  }
  /// A timed line that arrives during a streamed replay, placed where the batch puts it.
  void insert_timed(const ev::located* e) {
    const auto by_time = [](const ev::located* a, const ev::located* b) { return *a->where.time < *b->where.time; };
    timed_.insert(std::upper_bound(timed_.begin() + static_cast<std::ptrdiff_t>(timed_pos_), timed_.end(), e, by_time), e);
  }
  /// Latest time an operation was replayed at.
  double frontier() const { return frontier_; }

  // Applies the side events printed before an operation at `next_op` (by timestamp).
  void apply_timed_before(const ev::source& next_op) {
    if (!next_op.time) return;
    frontier_ = std::max(frontier_, *next_op.time);
    while (timed_pos_ < timed_.size() && *timed_[timed_pos_]->where.time < *next_op.time) side_event(*timed_[timed_pos_++]);
  }
  void side_event(const ev::located& e) {
    if (auto r = std::get_if<ev::show_areas_range>(&e.what)) { // 6.15+: held until the dump's total line
      if (auto n = dump_.add(*r, e.where)) rep_.notes.push_back(std::move(*n));
      return;
    }
    if (auto t = std::get_if<ev::show_areas_total>(&e.what)) return rep_.checks.push_back(dump_.close(area_of_line(e), *t, e.where));
    if (auto c = state_check_for(area_of_line(e), e, total_pages())) rep_.checks.push_back(std::move(*c));
  }
  void check(std::string what, bool ok, const ev::source& where, std::string detail) {
    rep_.checks.push_back({std::move(what), ok, where, std::move(detail)});
  }

  // ------------------------------------------------------------ records
  op_record base_op(op_kind k, const ev::source& where, std::string_view name, page_count count, unsigned align) {
    op_record o;
    o.kind = k;
    o.seq = seq_;
    o.where = where;
    o.area = name.empty() ? (area_ ? area_->name() : "") : std::string(name);
    o.count = count;
    o.align = align;
    apply_timed_before(where);
    return o;
  }

  /// A matched operation nobody keeps a record of: counted only.
  void count_matched() {
    ++rep_.verdicts[static_cast<std::size_t>(verdict::matched)];
    ++verdicts_[current()][static_cast<std::size_t>(verdict::matched)];
    ++seq_;
  }

  void record(op_record o) {
    ++rep_.verdicts[static_cast<std::size_t>(o.result)];
    if (o.result != verdict::unchecked) ++verdicts_[current()][static_cast<std::size_t>(o.result)];
    ++seq_;
    if (o.result == verdict::diverged && !rep_.first_diverged) rep_.first_diverged = o;
    if (!opt_.on_op) return keep(std::move(o));
    held_.push_back(std::move(o));
    while (held_.size() > hold_) release_front();
  }

  /// The record `seq`, if it is still held or kept (for the cross-check's annotations).
  op_record* find(std::uint64_t seq) {
    if (!held_.empty() && seq >= held_.front().seq) {
      auto& o = held_[seq - held_.front().seq];
      return o.seq == seq ? &o : nullptr;
    }
    const auto it = std::lower_bound(rep_.ops.begin(), rep_.ops.end(), seq,
                                     [](const op_record& o, std::uint64_t s) { return o.seq < s; });
    return it != rep_.ops.end() && it->seq == seq ? &*it : nullptr;
  }

  /// Every held record to on_op: the replay is over.
  void flush() {
    while (!held_.empty()) release_front();
  }

  void unchecked(op_record o, const std::string& why) {
    o.result = verdict::unchecked;
    o.note = why;
    record(std::move(o));
  }

  // ------------------------------------------------------------ verdicts
  // The state a failed allocation met, for its failure_reason.  Only failures need it
  // (maxchunk is a search of the area: not done for the millions that succeed).
  // With it, the free runs (as cma_debug_show_areas would print them) for diagnose's
  // window search, while a budget of runs lasts: a long trace of failures in a fragmented
  // area must not keep a copy of the bitmap per failure.
  void note_state_before(op_record& o) {
    if (o.observed_ok) return;
    o.free_before = area_->free_pages();
    o.maxchunk_before = area_->maxchunk();
    if (!formats::detail::same(o.area, area_->name()) || area_->ranges().size() != 1 || snapshot_runs_left_ == 0) return;
    field_snapshot s;
    s.total = area_->count(), s.free = o.free_before, s.where = o.where;
    for (const auto& r : area_->free_runs()) {
      if (s.runs.size() == snapshot_runs_left_) return;
      s.runs.push_back({r.pages, r.pfn - area_->base_pfn()});
    }
    snapshot_runs_left_ -= s.runs.size();
    o.state_before = std::move(s);
  }

  static busy_oracle observed_oracle(const pending_alloc& p) {
    if (p.busy.empty()) return {};
    auto set = std::make_shared<std::set<pfn_t>>(p.busy.begin(), p.busy.end());
    return [set](pfn_t pfn, page_count) { return set->count(pfn) ? ebusy : 0; };
  }

  static void fill_predicted(op_record& o, const alloc_result& r) {
    o.predicted_ok = r.ok();
    o.predicted_pfn = r.ok() ? r.pfn : r.finish_pfn;
    o.predicted_err = r.err;
    o.exit = r.exit;
    for (const auto& a : r.attempts)
      if (a.ret == ebusy) o.predicted_busy.push_back(a.pfn);
  }

  void verdict_for(op_record& o, const std::string& why) {
    if (why.empty()) return;
    mid_stream_read_ = true;
    o.result = rep_.mid_stream && o.kind == op_kind::alloc && o.observed_ok ? verdict::inferred : verdict::diverged;
    o.note = why + (o.result == verdict::inferred ? " (mid-stream log: the kernel's result adopted)" : "");
  }

  void undo(const alloc_result& r) {
    if (r.ok()) area_->release(r.pfn, r.count);
  }
  // After a divergence the model takes the kernel's result so later ops stay comparable.
  void resync_alloc(const alloc_result& r, std::optional<pfn_t> observed, page_count count) {
    undo(r);
    if (observed && area_->contains(*observed)) area_->mark_allocated(*observed, count);
  }

  /// A release the kernel made (of pages it had validated), against the model.
  /// `done`: was_used and the model's answer, when the caller already released.
  void apply_release(op_record& o, pfn_t pfn, page_count count,
                     std::optional<std::pair<bool, release_result>> done = std::nullopt) {
    const bool was_used = done ? done->first : area_->all_used(pfn, count);
    const auto res = done ? done->second : area_->release(pfn, count);
    o.predicted_ok = res.ok;
    o.predicted_pfn = pfn;
    std::string why;
    if (!res.ok) why = "the model rejects this release (outside the area)";
    if (why.empty() && !was_used) {
      mid_stream_read_ = true;
      if (rep_.mid_stream) {
        o.result = verdict::inferred;
        o.note = "release of pages the log never showed allocated";
      } else {
        why = "release of pages the model has free (never allocated, or released twice)";
      }
    }
    if (o.result != verdict::inferred) verdict_for(o, why);
  }

  static std::string exit_words(alloc_exit e) {
    switch (e) {
    case alloc_exit::searched: return "searched";
    case alloc_exit::null_area: return "no area";
    case alloc_exit::zero_count: return "count 0";
    case alloc_exit::too_large: return "larger than the area";
    }
    return "?";
  }

  void explain_failure(op_record& o, const alloc_result& r) const {
    if (o.observed_ok) return;
    const bool ebusy_is_no_space = area_->prof().no_space_errno == ebusy; // 6.15+
    if (r.exit == alloc_exit::too_large)
      o.failure_reason = "larger than the area: " + std::to_string(o.count) + " pages > " + std::to_string(area_->count());
    else if (r.busy_retries() > 0 || (r.err == ebusy && !ebusy_is_no_space))
      o.failure_reason = "busy: " + std::to_string(r.busy_retries()) + " window(s) found but their pages could not be migrated";
    else if (ebusy_is_no_space && o.count > o.free_before)
      // 6.15+ cma_alloc gives up before searching when count > cma->available_count, and its
      // ret starts at -EBUSY (mm/cma.c 6.15, cma_range_alloc): no page was busy.
      o.failure_reason = "no space: " + std::to_string(o.count) + " pages asked, " + std::to_string(o.free_before) +
                         " free in the area; 6.15+ stops before searching and reports -EBUSY, no page was busy";
    else {
      o.failure_reason = no_window_reason(o);
      if (r.err == ebusy) o.failure_reason += "; -EBUSY is 6.15+'s no-space errno here, no page was busy";
    }
  }

  // The search ran and found no window: never (the area's placement) or not now (its occupancy).
  std::string no_window_reason(const op_record& o) const {
    const std::string aligned = std::to_string(page_count{1} << std::min(o.align, 63u));
    if (!area_->can_ever_hold(o.count, o.align))
      return "this area can never hold it: no window of " + std::to_string(o.count) + " pages aligned to " + aligned +
             " pages fits between its base pfn " + detail::hex(area_->base_pfn()) + " and its end " +
             detail::hex(area_->base_pfn() + area_->count()) + ", even with every page free";
    return "no free window of " + std::to_string(o.count) + " pages aligned to " + aligned + " pages, although " +
           std::to_string(o.free_before) + " pages were free (largest free run " + std::to_string(o.maxchunk_before) +
           " pages)";
  }

  // ------------------------------------------------------------ the end
  void finish_report() {
    while (timed_pos_ < timed_.size()) side_event(*timed_[timed_pos_++]); // after the last operation
    for (const auto* e : untimed_) side_event(*e);
    if (auto n = dump_.unfinished()) rep_.notes.push_back(std::move(*n));
    rep_.used = area_->used_bits_pages();
    rep_.free = area_->free_pages();
    rep_.available_count = area_->available_count();
    rep_.maxchunk = area_->maxchunk();
    rep_.free_runs = area_->free_runs();
    rep_.show_areas_text = cma_debug_show_areas(*area_);
    rep_.areas.clear();
    for (std::size_t i = 0; i < areas_.size(); ++i) {
      const auto& a = areas_[i];
      area_report r;
      r.name = a.name(), r.source = sources_[i];
      r.base_pfn = a.base_pfn(), r.count = a.count(), r.order_per_bit = a.order_per_bit();
      r.used = a.used_bits_pages(), r.free = a.free_pages(), r.maxchunk = a.maxchunk();
      r.verdicts = verdicts_[i];
      rep_.areas.push_back(std::move(r));
    }
  }

private:
  std::size_t current() const { return cur_; }
  page_count total_pages() const {
    page_count n = 0;
    for (const auto& a : areas_) n += a.count();
    return n;
  }
  // show_areas prints "… of T total pages" right after its area's failure: the area of T
  // pages (the current one when several have that size).
  const allocator& area_of_line(const ev::located& e) const {
    std::optional<std::uint64_t> total;
    if (const auto* sa = std::get_if<ev::show_areas>(&e.what)) total = sa->total;
    else if (const auto* st = std::get_if<ev::show_areas_total>(&e.what)) total = st->total; // 6.15+: the dump's last line
    if (!total || area_->count() == *total) return *area_;
    for (const auto& a : areas_)
      if (a.count() == *total) return a;
    return *area_;
  }

  void keep(op_record o) {
    const bool keep_all = !opt_.on_op && opt_.keep_matched;
    if (!keep_all && !o.notable()) return;
    if (!keep_all && rep_.ops.size() >= opt_.max_kept_ops) {
      ++rep_.ops_not_kept;
      return;
    }
    rep_.ops.push_back(std::move(o));
  }
  void release_front() {
    opt_.on_op(held_.front());
    keep(std::move(held_.front()));
    held_.pop_front();
  }

  const replay_options& opt_;
  replay_report& rep_;
  std::deque<allocator> areas_;         ///< the default area first (stable addresses)
  std::vector<std::string> sources_;    ///< where each came from ("" for the default: rep_.area_source)
  std::vector<std::array<std::uint64_t, 4>> verdicts_; ///< per area, as rep_.verdicts
  allocator* area_ = nullptr;           ///< the current area
  std::size_t cur_ = 0;                 ///< its index in areas_
  std::vector<const ev::located*> timed_, untimed_;
  std::size_t timed_pos_ = 0;
  double frontier_ = -1e300;
  std::uint64_t seq_ = 0;
  std::size_t hold_ = 0;
  std::size_t snapshot_runs_left_ = std::size_t{1} << 16; ///< free runs kept in op_record::state_before, all failures together (1 MiB)
  std::deque<op_record> held_;   ///< records the cross-check may still annotate (on_op only)
  show_areas_dump dump_;         ///< 6.15+: the range lines of the show_areas dump being printed
  bool mid_stream_read_ = false; ///< a verdict depended on whether the log starts mid-stream
};

} // namespace cma::replay_detail
