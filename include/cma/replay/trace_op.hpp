// cma/replay/trace_op.hpp — one ftrace cma event, kept as the trace replay needs it.
//
// A long trace is nearly all cma_alloc_start / _finish / _busy_retry / cma_release
// lines: a trace_op is 56 bytes instead of a 168-byte ev::located.  Area names are
// interned (area_names: a hash map, so a million distinct names cost a million
// look-ups, not a million squared compares); of the hashed page pointer only "was it
// NULL" matters to the replay.  The task's pid (when the trace line shows it) pairs a
// start with its finish when several allocations are in flight (include/trace/events/
// cma.h: start and finish are traced by the task that calls cma_alloc).
#pragma once

#include "../formats/event.hpp"
#include "../formats/detail/scan.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cma::detail {

struct trace_op {
  enum class kind : std::uint8_t { start, finish, busy_retry, release };
  pfn_t pfn = 0;               ///< for a start event: total_count, when has_total
  page_count count = 0;
  std::uint64_t line = 0;
  double time = 0;             ///< seconds, when has_time
  unsigned file = 0;
  int errorno = 0;             ///< when has_errorno (6.3+ finish)
  std::uint32_t name = 0;      ///< 0: no name (or empty); else 1 + index into the interned names
  std::int32_t pid = -1;       ///< the tracing task, -1 when the line does not show it
  kind what = kind::start;
  std::uint8_t align = 0;      ///< the parser bounds it below 64
  bool has_time : 1 = false;
  bool has_errorno : 1 = false;
  bool has_total : 1 = false;
  bool legacy : 1 = false;     ///< the 4.x `cma_alloc:` event
  bool page_null : 1 = false;  ///< page= was 0 (or unreadable): how ≤6.2 says the allocation failed
  ev::source where() const { return {file, line, has_time ? std::optional<double>(time) : std::nullopt}; }
};
static_assert(sizeof(trace_op) <= 56);

/// Area names by number: 0 is "no name", n is the (n-1)th name interned.  Views of a
/// name stay valid while the table lives (a deque never moves its strings).
class area_names {
public:
  std::uint32_t intern(std::string_view name) {
    if (name.empty()) return 0;
    // A trace names one or two areas: the last name looked up is nearly always the next.
    if (last_ != 0 && formats::detail::same(names_[last_ - 1], name)) return last_;
    auto it = index_.find(name);
    if (it == index_.end()) {
      names_.emplace_back(name);
      it = index_.emplace(std::string_view(names_.back()), static_cast<std::uint32_t>(names_.size())).first;
    }
    return last_ = it->second;
  }
  std::string_view operator[](std::uint32_t id) const {
    return id == 0 ? std::string_view() : std::string_view(names_[id - 1]);
  }

private:
  std::deque<std::string> names_;
  std::unordered_map<std::string_view, std::uint32_t> index_; ///< views into names_
  std::uint32_t last_ = 0;
};

/// The trace_op of an ftrace operation event; false for anything else (markers).
inline bool to_trace_op(const ev::event& what, const ev::source& where, area_names& names, trace_op& t) {
  t.line = where.line;
  t.file = where.file;
  t.has_time = where.time.has_value();
  t.time = where.time.value_or(0);
  if (auto s = std::get_if<ev::alloc_start>(&what)) {
    t.what = trace_op::kind::start;
    t.name = names.intern(s->name);
    t.count = s->count;
    t.align = static_cast<std::uint8_t>(s->align);
    t.has_total = s->total.has_value();
    t.pfn = s->total.value_or(0);
    t.pid = s->pid;
  } else if (auto f = std::get_if<ev::alloc_finish>(&what)) {
    t.what = trace_op::kind::finish;
    t.name = f->name ? names.intern(*f->name) : 0;
    t.pfn = f->pfn, t.page_null = f->page == 0, t.count = f->count;
    t.align = static_cast<std::uint8_t>(f->align);
    t.has_errorno = f->errorno.has_value();
    t.errorno = f->errorno.value_or(0);
    t.legacy = f->legacy;
    t.pid = f->pid;
  } else if (auto b = std::get_if<ev::busy_retry>(&what)) {
    t.what = trace_op::kind::busy_retry;
    t.name = names.intern(b->name);
    t.pfn = b->pfn, t.count = b->count;
    t.align = static_cast<std::uint8_t>(b->align);
    t.pid = b->pid;
  } else if (auto r = std::get_if<ev::release>(&what)) {
    t.what = trace_op::kind::release;
    t.name = r->name ? names.intern(*r->name) : 0;
    t.pfn = r->pfn, t.count = r->count;
    t.pid = -1;
  } else {
    return false;
  }
  return true;
}

} // namespace cma::detail
