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
// A trace is millions of such lines, so an event in the kernel's own field layout is
// read front to back (parse_canonical, no key search, no allocation); any other layout —
// reordered, extra or odd fields — by key (parse_general).  Same answers either way.
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cma::formats::ftrace {

namespace detail_ {
using namespace cma::formats::detail;

// The events this parser reads, in the order of `names` below.
enum class event_kind { alloc_start, alloc_finish, busy_retry, release, legacy_alloc, mark };
inline constexpr std::string_view names[] = {"cma_alloc_start", "cma_alloc_finish", "cma_alloc_busy_retry",
                                             "cma_release", "cma_alloc", "tracing_mark_write"};

// Finds "<digits>.<digits>: <event>:" and returns the event, the fields after it, the time.
struct located_event {
  event_kind kind = event_kind::mark;
  std::string_view name, fields;
  double time = 0;
};

// The "<secs>.<usecs>" that ends at `colon`: the longest run of digits and dots before it,
// which must hold a '.' and read whole as a number.  The usual one-dot, few-digit stamp is
// read in the same backward scan that finds its start (exactly: see to_seconds); anything
// else goes to to_seconds.  False when there is none.  (An out parameter: an
// optional<double> comes back through memory, and reading it stalled the line's parse;
// and whether there is a stamp is known before the division that gives its value.)
inline bool timestamp_before(std::string_view line, std::size_t colon, double& seconds) {
  // What ftrace prints ("%5llu.%06lu", up to 9 digits of seconds) without a loop over the
  // fraction: the same number, seconds * 10^6 + micros, and the same one division.
  if (colon >= 8 && line[colon - 7] == '.') {
    std::uint64_t micros = 0;
    bool digits_only = true;
    for (std::size_t i = colon - 6; i < colon; ++i) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(line[i]) - '0');
      digits_only &= d < 10;
      micros = micros * 10 + d;
    }
    std::uint64_t secs = 0, scale = 1;
    std::size_t begin = colon - 7, digits = 0;
    for (; digits_only && begin > 0 && digits <= 9 && line[begin - 1] >= '0' && line[begin - 1] <= '9'; --begin, ++digits)
      secs += static_cast<std::uint64_t>(line[begin - 1] - '0') * scale, scale *= 10;
    if (digits_only && digits > 0 && digits <= 9 && (begin == 0 || line[begin - 1] != '.')) {
      seconds = static_cast<double>(secs * 1000000 + micros) / 1e6;
      return true;
    }
  }
  constexpr double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  std::uint64_t n = 0, scale = 1;
  std::size_t begin = colon, digits = 0, dots = 0, frac = 0;
  for (; begin > 0; --begin) {
    const char c = line[begin - 1];
    if (c == '.') {
      ++dots, frac = digits;
    } else if (c >= '0' && c <= '9') {
      if (digits++ < 15) n += static_cast<std::uint64_t>(c - '0') * scale, scale *= 10;
    } else {
      break;
    }
  }
  if (dots == 0) return false;
  if (dots == 1 && digits > 0 && digits <= 15) {
    seconds = static_cast<double>(n) / pow10[frac];
    return true;
  }
  const auto t = to_seconds(line.substr(begin, colon - begin));
  if (t) seconds = *t;
  return t.has_value();
}

// Which of `names` starts the `n` bytes at `p`, followed by ':'; std::size(names) if
// none.  The candidates are told apart by one byte, then compared once.
// (Hot code of the trace reader, written for GCC: pointers and lengths as scalars, and
// results stored field by field — a string_view or struct built on the stack and read
// back whole stalls store forwarding, which was a fifth of the time of the whole line.)
inline std::size_t event_at(const char* p, std::size_t n) {
  constexpr std::size_t none = std::size(names);
  const auto is = [p, n](std::size_t k) {
    const std::size_t len = names[k].size();
    return n > len && p[len] == ':' && same({p, len}, names[k]) ? k : none;
  };
  if (n < 8) return none;
  if (p[0] == 't') return is(5);
  if (!same({p, 4}, "cma_")) return none;
  if (p[4] == 'r') return is(3);
  if (n < 11) return is(4);
  switch (p[10]) {
  case 's': return is(0);
  case 'f': return is(1);
  case 'b': return is(2);
  default: return is(4);
  }
}

inline std::optional<located_event> locate(std::string_view line) {
  std::optional<located_event> out; // the caller's: filled in place
  // Every candidate is "<secs>.<usecs>: " followed by an event name and ':'.
  // (find(':') and a look at the next byte: find(": ") would add a memcmp call per ':')
  const char* const text = line.data();
  const std::size_t size = line.size();
  for (std::size_t colon = line.find(':'); colon != std::string_view::npos; colon = line.find(':', colon + 1)) {
    if (colon + 1 >= size || text[colon + 1] != ' ') continue;
    std::size_t at = colon + 2;
    while (at < size && text[at] == ' ') ++at;
    const std::size_t kind = event_at(text + at, size - at);
    if (kind == std::size(names)) continue;
    double t = 0;
    if (!timestamp_before(line, colon, t)) continue;
    auto& e = out.emplace();
    e.kind = static_cast<event_kind>(kind);
    e.name = names[kind];
    const std::size_t fields = at + e.name.size() + 1;
    e.fields = trim({text + fields, size - fields});
    e.time = t;
    return out;
  }
  return out;
}

// Builds alternative E of out's event in place (no moves), with the line's time.
template <class E>
E& emplace_event(parsed_line& out, double time) {
  out.status = line_status::event;
  out.time = time;
  return std::get<E>(out.event.emplace(std::in_place_type<E>));
}

// The kernel's own layouts (TP_printk of 5.14–6.17, and 6.3+'s errorno), read front
// to back into `out`; false for any other layout or value, which parse_general then
// reads — so this only ever gives parse_general's answer, without its key search.
inline bool parse_canonical(const located_event& loc, parsed_line& out) {
  field_cursor c(loc.fields);
  switch (loc.kind) {
  case event_kind::alloc_start: {
    const auto name = c.text("name");
    const auto count = c.number<10>("count"), align = c.number<10>("align");
    if (!c.done() || align > 63) return false;
    auto& e = emplace_event<ev::alloc_start>(out, loc.time);
    e.name = name, e.count = count, e.align = static_cast<unsigned>(align);
    return true;
  }
  case event_kind::alloc_finish:
  case event_kind::busy_retry: {
    const auto name = c.text("name");
    const auto pfn = c.number<16>("pfn"), page = c.number<16>("page"), count = c.number<10>("count");
    const auto align = c.number<10>("align");
    // (no optional<int> here: its engaged byte, stored and read back whole, stalled)
    const bool has_err = loc.kind == event_kind::alloc_finish && !c.at_end();
    int err = 0;
    if (has_err) {
      const auto v = to_int(c.text("errorno"));
      if (!v) return false;
      err = *v;
    }
    if (!c.done() || align > 63) return false;
    if (loc.kind == event_kind::busy_retry) {
      auto& e = emplace_event<ev::busy_retry>(out, loc.time);
      e.name = name, e.pfn = pfn, e.page = page, e.count = count, e.align = static_cast<unsigned>(align);
      return true;
    }
    auto& e = emplace_event<ev::alloc_finish>(out, loc.time);
    e.name.emplace(name), e.pfn = pfn, e.page = page, e.count = count, e.align = static_cast<unsigned>(align);
    if (has_err) e.errorno = err;
    return true;
  }
  case event_kind::release: {
    const auto name = c.text("name");
    const auto pfn = c.number<16>("pfn"), page = c.number<16>("page"), count = c.number<10>("count");
    if (!c.done()) return false;
    auto& e = emplace_event<ev::release>(out, loc.time);
    e.name.emplace(name), e.pfn = pfn, e.page = page, e.count = count;
    return true;
  }
  default:
    return false; // the 4.x event and markers: parse_general
  }
}

inline std::optional<std::uint64_t> num(const key_values& fields, std::string_view key, int base) {
  auto v = fields.get(key);
  if (!v) return std::nullopt;
  return to_u64(*v, base);
}
} // namespace detail_

namespace detail_ {
// Any layout: the fields split once (key_values), each looked up by key.
inline parsed_line parse_general(const located_event& located) {
  const auto* loc = &located;
  const key_values f(loc->fields);
  const auto need = [&](std::string_view key, int base) -> std::optional<std::uint64_t> { return num(f, key, base); };
  const auto text = [&](std::string_view key) { auto v = f.get(key); return v ? std::string(*v) : std::string(); };
  // %p prints 16 hex digits (hashed); "(null)" or anything odd counts as 0.
  const auto page = [&] { auto v = f.get("page"); auto n = v ? to_u64(*v, 16) : std::nullopt; return n.value_or(0); };
  const auto missing = [&](std::string_view what) {
    return parsed_line::bad(std::string(loc->name) + ": expected " + std::string(what));
  };

  if (loc->kind == event_kind::mark) {
    std::string_view s = loc->fields;
    if (!eat(s, "step ")) return parsed_line::skip(); // someone else's marker
    auto n = eat_u64(s);
    if (!n || !eat(s, ":")) return missing("'step N: <cmd>'");
    return parsed_line::ok(ev::step_marker{static_cast<unsigned>(*n), std::string(trim(s))}, loc->time);
  }
  if (loc->kind == event_kind::alloc_start) {
    ev::alloc_start e;
    e.name = text("name");
    auto count = need("count", 10);
    if (!count) count = need("request_count", 10);
    auto align = need("align", 10);
    if (!count) return missing("count=<decimal> or request_count=<decimal>");
    if (!align || *align > 63) return missing("align=<order 0..63>");
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
  const bool has_name = f.get("name").has_value();
  if (loc->kind == event_kind::release) {
    ev::release e;
    if (has_name) e.name = text("name");
    e.pfn = *pfn;
    e.page = page();
    e.count = *count;
    return parsed_line::ok(std::move(e), loc->time);
  }
  auto align = need("align", 10);
  if (!align || *align > 63) return missing("align=<order 0..63>");
  if (loc->kind == event_kind::busy_retry) {
    return parsed_line::ok(ev::busy_retry{text("name"), *pfn, page(), *count, static_cast<unsigned>(*align)},
                           loc->time);
  }
  ev::alloc_finish e;
  if (has_name) e.name = text("name");
  e.pfn = *pfn;
  e.page = page();
  e.count = *count;
  e.align = static_cast<unsigned>(*align);
  e.legacy = loc->kind == event_kind::legacy_alloc;
  if (auto v = f.get("errorno")) {
    auto err = to_int(*v);
    if (!err) return missing("errorno=<int>");
    e.errorno = *err;
  }
  return parsed_line::ok(std::move(e), loc->time);
}
} // namespace detail_

namespace detail_ {
// The pid of "<comm>-<pid> [<cpu>]" (trace, trace_pipe, trace-cmd report): the digits
// after the last '-' before the first '['; -1 when the line has no such prefix.
inline int task_pid(std::string_view line) {
  const auto bracket = line.find('[');
  if (bracket == std::string_view::npos || bracket > 64) return -1;
  std::size_t end = bracket;
  while (end > 0 && line[end - 1] == ' ') --end;
  std::size_t begin = end;
  while (begin > 0 && line[begin - 1] >= '0' && line[begin - 1] <= '9' && end - begin < 9) --begin;
  if (begin == end || begin == 0 || line[begin - 1] != '-') return -1;
  int pid = 0;
  for (std::size_t i = begin; i < end; ++i) pid = pid * 10 + (line[i] - '0');
  return pid;
}

// The operation events say which task traced them: start and finish of one cma_alloc
// come from the same task (mm/cma.c traces both in the caller's context).
inline void set_task(parsed_line& p, std::string_view line) {
  if (auto* s = std::get_if<ev::alloc_start>(&*p.event)) s->pid = task_pid(line);
  else if (auto* f = std::get_if<ev::alloc_finish>(&*p.event)) f->pid = task_pid(line);
  else if (auto* b = std::get_if<ev::busy_retry>(&*p.event)) b->pid = task_pid(line);
}
} // namespace detail_

/// Parses one line; `foreign` for anything that is not a cma trace event or marker.
/// (Every path returns `p`: built in the caller's slot, never moved.)
inline parsed_line parse_line(std::string_view line) {
  using namespace detail_;
  parsed_line p; // foreign (a blank line too: locate finds nothing in it)
  if (starts_with_hash(line)) {
    const auto t = trim(line);
    if (starts_with(t, "# tracer:") || starts_with(t, "# entries-in-buffer") || t.find('|') != std::string_view::npos ||
        t == "#")
      p.status = line_status::skip;
    return p;
  }
  const auto loc = locate(line);
  if (loc && !parse_canonical(*loc, p)) p = parse_general(*loc);
  if (p.status == line_status::event) set_task(p, line);
  return p;
}

} // namespace cma::formats::ftrace
