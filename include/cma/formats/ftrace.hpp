// cma/formats/ftrace.hpp — cma trace events as ftrace prints them.
//
// Reads lines of /sys/kernel/tracing/trace, trace_pipe and `trace-cmd report`:
//   "<task>-<pid> [<cpu>] <flags> <secs>.<usecs>: <event>: <fields>"
// (trace-cmd omits or reorders the flags column and pads the event name; only the
// "<secs>.<usecs>: <event>:" part is relied on).  Event formats, from
// include/trace/events/cma.h (KERNEL-FACTS §3):
//   4.x–5.12  cma_alloc: pfn=%lx page=%p count=%u align=%u ; cma_release: pfn=%lx page=%p count=%u
//   5.14+     cma_alloc_start: name=%s count=%lu align=%u
//             cma_alloc_finish: name=%s pfn=0x%lx page=%p count=%lu align=%u[ errorno=%d (6.3+)]
//             cma_alloc_busy_retry: name=%s pfn=0x%lx page=%p count=%lu align=%u
//             cma_release: name=%s pfn=0x%lx page=%p count=%lu
//   6.18+     cma_alloc_start: name=%s request_count=%lu available_count=%lu total_count=%lu align=%u
// plus the recorder's "tracing_mark_write: step N: <cmd>" markers.  Lines starting
// with '#' are the trace header.
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>

namespace cma::formats::ftrace {

namespace detail_ {
using namespace cma::formats::detail;

// Finds "<digits>.<digits>: <event>:" and returns the event name, the fields after it, the time.
struct located_event {
  std::string_view name, fields;
  double time = 0;
};

inline std::optional<located_event> locate(std::string_view line) {
  static constexpr std::string_view names[] = {"cma_alloc_start", "cma_alloc_finish", "cma_alloc_busy_retry",
                                               "cma_release", "cma_alloc", "tracing_mark_write"};
  // Every candidate is "<secs>.<usecs>: " followed by an event name and ':'.
  for (std::size_t colon = line.find(": "); colon != std::string_view::npos; colon = line.find(": ", colon + 1)) {
    std::size_t at = colon + 2;
    while (at < line.size() && line[at] == ' ') ++at;
    const auto rest = line.substr(at);
    if (rest.empty() || (rest[0] != 'c' && rest[0] != 't')) continue;
    std::string_view name;
    for (std::string_view n : names)
      if (rest.size() > n.size() && rest.substr(0, n.size()) == n && rest[n.size()] == ':') {
        name = n;
        break;
      }
    if (name.empty()) continue;
    std::size_t ts_begin = colon;
    while (ts_begin > 0 && ((line[ts_begin - 1] >= '0' && line[ts_begin - 1] <= '9') || line[ts_begin - 1] == '.')) --ts_begin;
    const auto ts = line.substr(ts_begin, colon - ts_begin);
    double t = 0;
    const auto [p, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
    if (ts.find('.') == std::string_view::npos || ec != std::errc{} || p != ts.data() + ts.size()) continue;
    return located_event{name, trim(rest.substr(name.size() + 1)), t};
  }
  return std::nullopt;
}

inline std::optional<std::uint64_t> num(std::string_view fields, std::string_view key, int base) {
  auto v = field(fields, key);
  if (!v) return std::nullopt;
  return to_u64(*v, base);
}
} // namespace detail_

/// Parses one line; `foreign` for anything that is not a cma trace event or marker.
inline parsed_line parse_line(std::string_view line) {
  using namespace detail_;
  const auto t = trim(line);
  if (t.empty()) return parsed_line::foreign();
  if (t.front() == '#') return starts_with(t, "# tracer:") || starts_with(t, "# entries-in-buffer") ||
                                       t.find('|') != std::string_view::npos || t == "#"
                                   ? parsed_line::skip()
                                   : parsed_line::foreign();
  const auto loc = locate(line);
  if (!loc) return parsed_line::foreign();
  const auto f = loc->fields;
  const auto need = [&](std::string_view key, int base) -> std::optional<std::uint64_t> { return num(f, key, base); };
  const auto text = [&](std::string_view key) { auto v = field(f, key); return v ? std::string(*v) : std::string(); };
  // %p prints 16 hex digits (hashed); "(null)" or anything odd counts as 0.
  const auto page = [&] { auto v = field(f, "page"); auto n = v ? to_u64(*v, 16) : std::nullopt; return n.value_or(0); };
  const auto missing = [&](std::string_view what) {
    return parsed_line::bad(std::string(loc->name) + ": expected " + std::string(what));
  };

  if (loc->name == "tracing_mark_write") {
    std::string_view s = f;
    if (!eat(s, "step ")) return parsed_line::skip(); // someone else's marker
    auto n = eat_u64(s);
    if (!n || !eat(s, ":")) return missing("'step N: <cmd>'");
    return parsed_line::ok(ev::step_marker{static_cast<unsigned>(*n), std::string(trim(s))}, loc->time);
  }
  if (loc->name == "cma_alloc_start") {
    ev::alloc_start e;
    e.name = text("name");
    auto count = need("count", 10);
    if (!count) count = need("request_count", 10);
    auto align = need("align", 10);
    if (!count) return missing("count=<decimal> or request_count=<decimal>");
    if (!align || *align > 64) return missing("align=<order 0..64>");
    e.count = *count;
    e.align = static_cast<unsigned>(*align);
    e.available = need("available_count", 10);
    e.total = need("total_count", 10);
    return parsed_line::ok(std::move(e), loc->time);
  }
  // finish / busy_retry / legacy alloc / release share pfn, page, count
  auto pfn = need("pfn", 16);
  auto count = need("count", 10);
  if (!pfn) return missing("pfn=<hex>");
  if (!count) return missing("count=<decimal>");
  const bool has_name = field(f, "name").has_value();
  if (loc->name == "cma_release") {
    ev::release e;
    if (has_name) e.name = text("name");
    e.pfn = *pfn;
    e.page = page();
    e.count = *count;
    return parsed_line::ok(std::move(e), loc->time);
  }
  auto align = need("align", 10);
  if (!align || *align > 64) return missing("align=<order 0..64>");
  if (loc->name == "cma_alloc_busy_retry") {
    return parsed_line::ok(ev::busy_retry{text("name"), *pfn, page(), *count, static_cast<unsigned>(*align)},
                           loc->time);
  }
  ev::alloc_finish e;
  if (has_name) e.name = text("name");
  e.pfn = *pfn;
  e.page = page();
  e.count = *count;
  e.align = static_cast<unsigned>(*align);
  e.legacy = loc->name == "cma_alloc";
  if (auto v = field(f, "errorno")) {
    auto err = to_int(*v);
    if (!err) return missing("errorno=<int>");
    e.errorno = *err;
  }
  return parsed_line::ok(std::move(e), loc->time);
}

} // namespace cma::formats::ftrace
