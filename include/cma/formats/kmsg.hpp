// cma/formats/kmsg.hpp — kernel log lines about CMA, in any of the wrappers users paste.
//
// A line is unwrapped first (unwrap()): "<6>" levels, "[ 12.345678]" timestamps,
// `dmesg -T` "[Sun Aug  1 15:03:02 2021]", `dmesg -H` "[Oct23 15:35]" / "[  +0.000009]",
// CONFIG_PRINTK_CALLER "[    T0]", syslog/journal "Mon DD HH:MM:SS host kernel: ",
// "kernel[pid]: ", a markdown quote "> ", Android "[cpu:  comm:  pid]" and MediaTek
// ".(cpu)[pid:comm]" prefixes (LOGS-IN-THE-WILD.md).  Then the message is matched
// against the format strings of mm/cma.c, kernel/dma/contiguous.c and friends
// (KERNEL-FACTS §1.7, §3.1, §5, §6 — every version's variant):
//   cma: cma_alloc(cma %p, count %lu, align %d)          (6.6+: ", name: %s,"; 6.12+: __cma_alloc)
//   cma: cma_alloc(): returned %p
//   cma: cma_alloc(): memory range at [pfn 0x%lx ]%p is busy, retrying
//   cma: cma_release(page %p[, count %lu])  /  cma: cma_pages_valid(page %p, count %lu)
//   cma: cma_alloc: [name: ]alloc failed, req-size: %lu pages, ret: %d
//   cma: number of available pages: …=> %lu free of %lu total pages
//   alloc_contig_range: [%lx, %lx) PFNs busy ; <func>: N callbacks suppressed
//   cma: Reserved %ld MiB at %pa[ on node %d] ; cma: Failed to reserve %ld MiB[ on node %d]
//   Reserved memory: created CMA memory pool at %pa, size %ld MiB
//   Memory: …, %luK cma-reserved… ; CmaTotal: / CmaFree: (meminfo pasted into a log)
//   Linux version … ; Kernel command line: …
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>

namespace cma::formats::kmsg {

struct unwrapped {
  std::string_view message;
  std::optional<double> time;
};

namespace detail_ {
using namespace cma::formats::detail;

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "[ 12.345678]" → seconds; also "[  +0.000009]" (no absolute time).
inline bool eat_bracket(std::string_view& s, std::optional<double>& time) {
  if (s.empty() || s.front() != '[') return false;
  const auto close = s.find(']');
  if (close == std::string_view::npos || close > 40) return false;
  auto inner = trim(s.substr(1, close - 1));
  if (!inner.empty() && is_digit(inner.front()) && inner.find('.') != std::string_view::npos) {
    if (auto t = to_seconds(inner)) time = *t;
    else return false;
  } else if (!(starts_with(inner, "+") || (inner.size() > 1 && inner.front() == 'T' && is_digit(inner[1])) ||
               inner.find(':') != std::string_view::npos || inner.empty())) {
    return false; // not a timestamp/caller/date bracket: leave it (it may be message text)
  }
  s.remove_prefix(close + 1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return true;
}

// syslog "Mon DD HH:MM:SS host kernel: " or journal "host kernel: " / "kernel[123]: " / "kernel: "
inline bool eat_syslog(std::string_view& s) {
  for (std::string_view tag : {" kernel: ", "kernel: "}) {
    auto i = s.find(tag);
    if (i != std::string_view::npos && i < 64 && (tag.front() == ' ' || i == 0)) {
      s.remove_prefix(i + tag.size());
      return true;
    }
  }
  auto i = s.find("kernel[");
  if (i != std::string_view::npos && i < 64) {
    auto rest = s.substr(i);
    auto j = rest.find("]: ");
    if (j != std::string_view::npos && j < 16) {
      s.remove_prefix(i + j + 3);
      return true;
    }
  }
  return false;
}
} // namespace detail_

/// Strips every wrapper in front of the kernel's own message.
inline unwrapped unwrap(std::string_view line) {
  using namespace detail_;
  std::string_view s = line;
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  std::optional<double> time;
  for (int guard = 0; guard < 8; ++guard) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    if (eat(s, "> ") || (s == ">")) continue;
    if (s.size() > 2 && s[0] == '<' && is_digit(s[1]) && (s[2] == '>' || (s.size() > 3 && is_digit(s[2]) && s[3] == '>'))) {
      s.remove_prefix(s[2] == '>' ? 3 : 4);
      continue;
    }
    if (eat_bracket(s, time)) continue;
    if (eat_syslog(s)) continue;
    if (!s.empty() && s.front() == '.' && s.size() > 1 && s[1] == '(') { // MediaTek ".(0)[123:comm]"
      auto j = s.find(']');
      if (j != std::string_view::npos && j < 40) { s.remove_prefix(j + 1); continue; }
    }
    break;
  }
  return {s, time};
}

namespace detail_ {

inline std::optional<std::string_view> token_after(std::string_view s, std::string_view key) {
  auto i = s.find(key);
  if (i == std::string_view::npos) return std::nullopt;
  s.remove_prefix(i + key.size());
  if (starts_with(s, "(____ptrval____)")) return s.substr(0, 16);
  auto end = s.find_first_of(" ,)");
  return s.substr(0, end);
}

inline parsed_line alloc_debug(std::string_view func, std::string_view rest) {
  // rest follows "<func>(" — either "cma %p…" or "): returned %p" / "): memory range at …"
  if (eat(rest, "): returned ")) return parsed_line::ok(ev::alloc_returned{std::string(func), std::string(trim(rest))});
  if (eat(rest, "): memory range at ")) {
    ev::busy_debug e{std::string(func), {}, {}};
    if (eat(rest, "pfn ")) {
      auto sp = rest.find(' ');
      auto pfn = to_u64(rest.substr(0, sp), 16);
      if (!pfn) return parsed_line::bad("busy line: expected 'pfn 0x<hex>'");
      e.pfn = *pfn;
      rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
    }
    auto tok = until(rest, " is busy");
    if (!tok) return parsed_line::bad("busy line: expected '<ptr> is busy, retrying'");
    e.page_token = std::string(*tok);
    return parsed_line::ok(std::move(e));
  }
  if (eat(rest, "cma ")) {
    ev::alloc_call e;
    e.func = std::string(func);
    auto tok = rest.starts_with("(____ptrval____)") ? std::optional<std::string_view>(rest.substr(0, 16)) : std::nullopt;
    if (tok) rest.remove_prefix(16), eat(rest, ",");
    else tok = until(rest, ",");
    if (!tok) return parsed_line::bad("cma_alloc(: expected 'cma <ptr>, count N, align A)'");
    e.cma_token = std::string(*tok);
    rest = trim(rest);
    if (eat(rest, "name: ")) {
      auto name = until(rest, ", ");
      if (!name) return parsed_line::bad("cma_alloc(: expected 'name: <name>, count N'");
      e.name = std::string(*name);
    }
    rest = trim(rest);
    auto count = eat(rest, "count ") ? eat_u64(rest) : std::nullopt;
    auto align = eat(rest, ", align ") ? eat_u64(rest) : std::nullopt;
    if (!count) return parsed_line::bad("cma_alloc(: expected 'count <decimal>'");
    if (!align || *align > 63 || !eat(rest, ")")) return parsed_line::bad("cma_alloc(: expected 'align <order>)'");
    e.count = *count;
    e.align = static_cast<unsigned>(*align);
    return parsed_line::ok(std::move(e));
  }
  return parsed_line::bad(std::string(func) + "(: expected 'cma <ptr>, count …', '): returned <ptr>' or '): memory range at …'");
}

inline parsed_line release_like(bool valid_check, std::string_view rest) {
  // rest follows "cma_release(" / "cma_pages_valid(": "page %p[, count %lu])"
  if (!eat(rest, "page ")) return parsed_line::bad("cma_release(: expected 'page <ptr>'");
  auto close = rest.find(')');
  if (close == std::string_view::npos) return parsed_line::bad("cma_release(: expected ')'");
  auto inner = rest.substr(0, close);
  auto comma = inner.find(", count ");
  std::string tok(inner.substr(0, comma));
  std::optional<page_count> count;
  if (comma != std::string_view::npos) {
    count = to_u64(inner.substr(comma + 8));
    if (!count) return parsed_line::bad("cma_release(: expected 'count <decimal>'");
  }
  if (valid_check) {
    if (!count) return parsed_line::bad("cma_pages_valid(: expected 'count <decimal>'");
    return parsed_line::ok(ev::pages_invalid{std::move(tok), *count});
  }
  return parsed_line::ok(ev::release_debug{std::move(tok), count});
}

inline parsed_line alloc_failed(std::string_view func, std::string_view rest) {
  // rest follows "<func>: ": "[<name>: ]alloc failed, req-size: N pages, ret: R"
  ev::alloc_failed e;
  e.func = std::string(func);
  auto at = rest.find("alloc failed, req-size: ");
  if (at == std::string_view::npos) return parsed_line::foreign();
  if (at > 0) {
    auto name = rest.substr(0, at);
    if (name.size() < 2 || name.substr(name.size() - 2) != ": ") return parsed_line::bad("alloc failed: expected '<name>: alloc failed'");
    e.name = std::string(name.substr(0, name.size() - 2));
  }
  rest.remove_prefix(at + 24);
  auto count = eat_u64(rest);
  if (!count || !eat(rest, " pages, ret: ")) return parsed_line::bad("alloc failed: expected 'req-size: <decimal> pages, ret: <errno>'");
  auto ret = eat_int(rest);
  if (!ret) return parsed_line::bad("alloc failed: expected 'ret: <negative errno>'");
  e.count = *count;
  e.ret = *ret;
  return parsed_line::ok(std::move(e));
}

inline parsed_line show_areas(std::string_view rest) {
  // after "number of available pages: ": "LEN@AT+LEN@AT…=> F free of T total pages"
  ev::show_areas e;
  auto arrow = rest.find("=> ");
  if (arrow == std::string_view::npos) return parsed_line::bad("show_areas: expected '=> N free of M total pages'");
  auto runs = rest.substr(0, arrow);
  while (!runs.empty()) {
    eat(runs, "+");
    auto len = eat_u64(runs);
    if (!len || !eat(runs, "@")) return parsed_line::bad("show_areas: expected '<pages>@<bit>'");
    auto at = eat_u64(runs);
    if (!at) return parsed_line::bad("show_areas: expected '<pages>@<bit>'");
    e.runs.push_back({*len, *at});
  }
  auto tail = rest.substr(arrow + 3);
  auto f = eat_u64(tail);
  if (!f || !eat(tail, " free of ")) return parsed_line::bad("show_areas: expected '<N> free of'");
  auto t = eat_u64(tail);
  if (!t || !eat(tail, " total pages")) return parsed_line::bad("show_areas: expected '<M> total pages'");
  e.free = *f;
  e.total = *t;
  return parsed_line::ok(std::move(e));
}

inline std::optional<int> on_node(std::string_view rest) {
  if (!eat(rest, " on node ")) return std::nullopt;
  return to_int(trim(rest));
}

inline parsed_line cma_message(std::string_view m) {
  // m follows "cma: "
  for (std::string_view func : {"__cma_alloc_frozen", "__cma_alloc", "cma_alloc", "dma_alloc_from_contiguous"}) {
    std::string_view r = m;
    if (eat(r, func)) {
      if (eat(r, "(")) return alloc_debug(func, r);
      if (eat(r, ": ")) return alloc_failed(func, r);
    }
  }
  std::string_view r = m;
  if (eat(r, "cma_release(")) return release_like(false, r);
  if (eat(r, "cma_pages_valid(")) return release_like(true, r);
  if (eat(r, "number of available pages: ")) return show_areas(r);
  if (eat(r, "Reserved ") || eat(r, "CMA: reserved ")) {
    auto mib = eat_u64(r);
    if (!mib || !eat(r, " MiB at ")) return parsed_line::bad("Reserved: expected 'Reserved <N> MiB at 0x<addr>'");
    auto sp = r.find(' ');
    auto base = to_u64(r.substr(0, sp), 16);
    if (!base) return parsed_line::bad("Reserved: expected a hex address after 'at '");
    ev::reserved e{*mib, *base, {}};
    if (sp != std::string_view::npos) e.node = on_node(r.substr(sp));
    return parsed_line::ok(e);
  }
  if (eat(r, "Failed to reserve ")) {
    auto mib = eat_u64(r);
    if (!mib || !eat(r, " MiB")) return parsed_line::bad("Failed to reserve: expected '<N> MiB'");
    return parsed_line::ok(ev::reserve_failed{*mib, on_node(r)});
  }
  for (std::string_view dbg : {"early_cma(", "dma_contiguous_reserve", "cma_declare_contiguous", "Reserved memory",
                               "cma_init_reserved_mem", "Region at", "Size (", "Not enough slots", "Config string",
                               "dma_pernuma_cma_reserve", "cma_activate_area", "cma_init_reserved_areas",
                               "reservation failed", "invalid node", "consider ", "deleted ", "added ", "total size",
                               "created region", "range "})
    if (starts_with(m, dbg)) return parsed_line::ok(ev::boot_debug{std::string(m)});
  return parsed_line::foreign();
}

inline parsed_line meminfo_line(std::string_view m, bool total) {
  std::string_view r = trim(m);
  auto kb = eat_u64(r);
  if (!kb || trim(r) != "kB") return parsed_line::bad(std::string(total ? "CmaTotal" : "CmaFree") + ": expected '<N> kB'");
  return parsed_line::ok(ev::meminfo{total, *kb});
}

} // namespace detail_

/// Parses the message part of a kernel log line (after unwrap()).
inline parsed_line parse_message(std::string_view m) {
  using namespace detail_;
  m = trim(m);
  std::string_view r = m;
  if (eat(r, "cma: ")) {
    auto p = cma_message(r);
    if (p.status != line_status::foreign) return p;
    return parsed_line::bad("cma: message not recognised");
  }
  if (eat(r, "alloc_contig_range: [")) {
    auto a = until(r, ", ");
    auto b = until(r, ") PFNs busy");
    std::optional<std::uint64_t> s, e;
    if (a) s = to_u64(*a, 16);
    if (b) e = to_u64(*b, 16);
    if (!s || !e || *e < *s) return parsed_line::bad("alloc_contig_range: expected '[<hex>, <hex>) PFNs busy'");
    return parsed_line::ok(ev::pfns_busy{*s, *e});
  }
  if (auto i = m.find(": "); i != std::string_view::npos && i < 48 && m.find(" callbacks suppressed") != std::string_view::npos) {
    auto rest = m.substr(i + 2);
    auto n = eat_u64(rest);
    if (n && trim(rest) == "callbacks suppressed") return parsed_line::ok(ev::callbacks_suppressed{std::string(m.substr(0, i)), *n});
  }
  if (eat(r, "Reserved memory: created CMA memory pool at ")) {
    auto a = until(r, ", size ");
    auto base = a ? to_u64(*a, 16) : std::nullopt;
    auto mib = eat_u64(r);
    if (!base || !mib || !eat(r, " MiB")) return parsed_line::bad("Reserved memory: expected 'pool at 0x<addr>, size <N> MiB'");
    return parsed_line::ok(ev::rmem_pool{*base, *mib});
  }
  if (starts_with(m, "Reserved memory: ") && icontains(m, "cma")) return parsed_line::ok(ev::boot_debug{std::string(m)});
  if (eat(r, "Memory: ")) {
    auto i = r.find("K cma-reserved");
    if (i == std::string_view::npos) return icontains(r, "cma") ? parsed_line::bad("Memory: expected '<N>K cma-reserved'") : parsed_line::skip();
    auto j = r.substr(0, i).find_last_of(" ,(");
    auto kb = to_u64(r.substr(j + 1, i - j - 1));
    if (!kb) return parsed_line::bad("Memory: expected '<N>K cma-reserved'");
    ev::memory_line e{*kb, {}};
    std::string_view head = r;
    if (until(head, "K/")) // "98324K/1048576K available"
      if (auto k = until(head, "K available")) e.total_kb = to_u64(*k);
    return parsed_line::ok(std::move(e));
  }
  if (eat(r, "CmaTotal:")) return meminfo_line(r, true);
  if (eat(r, "CmaFree:")) return meminfo_line(r, false);
  if (eat(r, "Linux version ")) {
    auto rel = r.substr(0, r.find(' '));
    auto v = kernel_version::parse(rel);
    if (!v) return parsed_line::bad("Linux version: expected '<major>.<minor>…'");
    return parsed_line::ok(ev::banner{*v, std::string(rel)});
  }
  if (starts_with(m, "CONFIG_") && m.find('=') != std::string_view::npos && icontains(m, "cma")) {
    auto eq = m.find('=');
    return parsed_line::ok(ev::kconfig{std::string(m.substr(0, eq)), std::string(m.substr(eq + 1))});
  }
  if (eat(r, "Kernel command line: ") || eat(r, "Command line: ")) return parsed_line::ok(ev::command_line{std::string(r)});
  return parsed_line::foreign();
}

/// Unwraps and parses one kernel log line.
inline parsed_line parse_line(std::string_view line) {
  auto u = unwrap(line);
  auto p = parse_message(u.message);
  p.time = u.time;
  return p;
}

} // namespace cma::formats::kmsg
