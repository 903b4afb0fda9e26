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
//   7.x: cma: __cma_release_frozen(page %p, count %lu)  (as cma_release's line)
//   7.x: cma: find_cma_memrange(page %p, count %lu[, no cma range matches the page range])
//   cma: cma_alloc: [name: ]alloc failed, req-size: %lu pages, ret: %d
//   cma: number of available pages: …=> %lu free of %lu total pages
//   alloc_contig_range: [%lx, %lx) PFNs busy ; <func>: N callbacks suppressed
//   cma: Reserved %ld MiB at %pa[ on node %d] ; cma: Failed to reserve %ld MiB[ on node %d]
//   6.15+ cma: Reserved %lu MiB in %d range%s (cma_declare_contiguous_multi: no address;
//     "range" for 1, "ranges" for more — str_plural())
//   hugetlb_cma: … (hugetlb_cma_reserve's pr_info/pr_warn lines: detail/kmsg_hugetlb.hpp)
//   Reserved memory: created CMA memory pool at %pa, size %ld MiB
//   Memory: …, %luK cma-reserved… ; CmaTotal: / CmaFree: (meminfo pasted into a log)
//   Linux version … ; Kernel command line: …
// and the lines around them that users paste from the field (LOGS-IN-THE-WILD.md):
//   6.15+ show_areas split over lines: "cma: number of available pages: " / "cma: range N: runs" /
//     "cma: " / "=> F free of T total pages" ; 3.x "alloc_contig_range test_pages_isolated(%lx, %lx) failed"
//   6.15+ "cma: __cma_alloc: <name>: skipping incompatible area [0x%lx-0x%lx]"
//   "cma: Region at %pa defined on low/high memory boundary (%pa)"
//   "OF: reserved mem: %pa..%pa (N KiB) map reusable <name>" / "initialized node <name>, compatible id <id>" /
//     "node <name> compatible matching fail" / "failed to allocate memory for node '<name>'"
//   "Reserved memory: bypass <name> node, …" / "incorrect alignment of CMA region" / "created DMA memory pool …"
//   driver lines (vc4, nvgpu, videobuf2 dma_alloc_coherent) and the page allocator's
//   "page allocation failure: order:N" / "WARNING: … at mm/page_alloc.c:N"
#pragma once

#include "detail/kmsg_field.hpp"
#include "detail/kmsg_hugetlb.hpp"
#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cma::formats::kmsg {

struct unwrapped {
  std::string_view message;
  std::optional<double> time;
};

namespace detail_ {
using namespace cma::formats::detail;

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A date/time or Android "cpu:  comm:  pid" bracket: its first ':' follows a digit
// ("15:03:02", "Oct23 15:35", "1:  swapper/0:  1") — unlike message text such as
// "[drm:vc4_bo_create [vc4]]", which must stay.
inline bool colon_after_digit(std::string_view inner) {
  const auto c = inner.find(':');
  return c != std::string_view::npos && c > 0 && is_digit(inner[c - 1]);
}

// "[ 12.345678]" → seconds; also "[  +0.000009]" (no absolute time), "[    T0]" / "[  C1]"
// (CONFIG_PRINTK_CALLER), dmesg -T/-H dates and Android "[cpu:  comm:  pid]".
inline bool eat_bracket(std::string_view& s, std::optional<double>& time) {
  if (s.empty() || s.front() != '[') return false;
  const auto close = s.find(']');
  if (close == std::string_view::npos || close > 40) return false;
  auto inner = trim(s.substr(1, close - 1));
  if (!inner.empty() && is_digit(inner.front()) && inner.find('.') != std::string_view::npos) {
    if (auto t = to_seconds(inner)) time = *t;
    else if (!colon_after_digit(inner)) return false; // Android "[5:composer@2.3-se:  712]": a caller, no time
  } else if (!(starts_with(inner, "+") ||
               (inner.size() > 1 && (inner.front() == 'T' || inner.front() == 'C') && is_digit(inner[1])) ||
               colon_after_digit(inner) || inner.empty())) {
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
    // MediaTek ".(0)[123:comm]" (also seen without the dot), glued to the message
    if (s.size() > 3 && (starts_with(s, ".(") || (s[0] == '(' && is_digit(s[1])))) {
      const auto close = s.find(")[");
      auto j = s.find(']');
      if (close != std::string_view::npos && close < 8 && j != std::string_view::npos && j < 40) {
        s.remove_prefix(j + 1);
        continue;
      }
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

inline parsed_line release_like(bool valid_check, std::string_view rest, std::string_view func = "cma_release") {
  // rest follows "cma_release(" / "cma_pages_valid(" / 7.x "__cma_release_frozen(": "page %p[, count %lu])"
  const std::string f(func);
  if (!eat(rest, "page ")) return parsed_line::bad(f + "(: expected 'page <ptr>'");
  auto close = rest.find(')', starts_with(rest, "(____ptrval____)") ? 16 : 0);
  if (close == std::string_view::npos || !trim(rest.substr(close + 1)).empty()) return parsed_line::bad(f + "(: expected ')' at the end");
  auto inner = rest.substr(0, close);
  auto comma = inner.find(", count ");
  std::string tok(inner.substr(0, comma));
  if (tok.empty()) return parsed_line::bad(f + "(: expected 'page <ptr>'");
  std::optional<page_count> count;
  if (comma != std::string_view::npos) {
    count = to_u64(inner.substr(comma + 8));
    if (!count) return parsed_line::bad(f + "(: expected 'count <decimal>'");
  }
  if (valid_check || func != "cma_release") {
    if (!count) return parsed_line::bad(f + "(: expected 'count <decimal>'");
  }
  if (valid_check) return parsed_line::ok(ev::pages_invalid{std::move(tok), *count});
  return parsed_line::ok(ev::release_debug{std::move(tok), count});
}

// 7.x find_cma_memrange(): "page %p, count %lu)" on entry, "page %p, count %lu, no cma range
// matches the page range)" when the pages are in none of the area's ranges (after "find_cma_memrange(").
inline parsed_line memrange_lookup(std::string_view rest) {
  constexpr std::string_view expected =
      "find_cma_memrange(: expected 'page <ptr>, count <decimal>[, no cma range matches the page range])'";
  ev::memrange_lookup e;
  if (!eat(rest, "page ")) return parsed_line::bad(std::string(expected));
  auto tok = until(rest, ", count ");
  if (!tok || tok->empty() || tok->find_first_of(" ,") != std::string_view::npos) return parsed_line::bad(std::string(expected));
  auto count = eat_u64(rest);
  if (!count) return parsed_line::bad(std::string(expected));
  rest = trim(rest);
  if (eat(rest, ", no cma range matches the page range)")) e.matched = false;
  else if (!eat(rest, ")")) return parsed_line::bad(std::string(expected));
  if (!rest.empty()) return parsed_line::bad(std::string(expected));
  e.page_token = std::string(*tok);
  e.count = *count;
  return parsed_line::ok(std::move(e));
}

inline parsed_line alloc_failed(std::string_view func, std::string_view rest) {
  // rest follows "<func>: ": "[<name>: ]alloc failed, req-size: N pages, ret: R"
  if (auto k = rest.find(": skipping incompatible area ["); k != std::string_view::npos) {
    // 6.15+ pr_warn_ratelimited("%s: %s: skipping incompatible area [0x%lx-0x%lx]", …)
    ev::incompatible_area e{std::string(func), std::string(rest.substr(0, k)), 0, 0};
    rest.remove_prefix(k + 30);
    auto a = until(rest, "-");
    auto b = until(rest, "]");
    std::optional<std::uint64_t> lo, hi;
    if (a) lo = to_u64(*a, 16);
    if (b) hi = to_u64(*b, 16);
    if (e.name.empty() || !lo || !hi || *hi < *lo || !trim(rest).empty())
      return parsed_line::bad("skipping incompatible area: expected '<name>: skipping incompatible area [0x<start>-0x<end>]'");
    e.start = *lo;
    e.end = *hi;
    return parsed_line::ok(std::move(e));
  }
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

// "LEN@AT+LEN@AT…" (a '+' before any run; 6.15+ puts one before the first run too when
// it does not start at bit 0).  False on anything else.
inline bool show_runs(std::string_view runs, std::vector<ev::show_areas::run>& out) {
  runs = trim(runs);
  while (!runs.empty()) {
    eat(runs, "+");
    auto len = eat_u64(runs);
    if (!len || !eat(runs, "@")) return false;
    auto at = eat_u64(runs);
    if (!at) return false;
    out.push_back({*len, *at});
  }
  return true;
}

// "F free of T total pages" (after "=> ").
inline bool show_total(std::string_view tail, std::uint64_t& free, std::uint64_t& total) {
  auto f = eat_u64(tail);
  if (!f || !eat(tail, " free of ")) return false;
  auto t = eat_u64(tail);
  if (!t || trim(tail) != "total pages") return false;
  free = *f;
  total = *t;
  return true;
}

inline parsed_line show_areas(std::string_view rest) {
  // after "number of available pages: ": "LEN@AT+LEN@AT…=> F free of T total pages"
  ev::show_areas e;
  auto arrow = rest.find("=> ");
  if (arrow == std::string_view::npos) return parsed_line::bad("show_areas: expected '=> N free of M total pages'");
  if (!show_runs(rest.substr(0, arrow), e.runs)) return parsed_line::bad("show_areas: expected '<pages>@<bit>'");
  if (!show_total(rest.substr(arrow + 3), e.free, e.total))
    return parsed_line::bad("show_areas: expected '=> <N> free of <M> total pages'");
  return parsed_line::ok(std::move(e));
}

// 6.15+ "=> F free of T total pages" on a line of its own (pr_cont after pr_info("\n")).
inline parsed_line show_areas_total(std::string_view tail) {
  ev::show_areas_total e;
  if (!show_total(tail, e.free, e.total)) return parsed_line::bad("show_areas: expected '=> <N> free of <M> total pages'");
  return parsed_line::ok(e);
}

// 6.15+ "range N: LEN@AT+…" (after "range "); foreign when the text after "range N: " is
// no run list at all (other "range …" debug lines).
inline parsed_line show_areas_range(std::string_view r) {
  auto n = eat_u64(r);
  if (!n || !(eat(r, ":"))) return parsed_line::foreign();
  ev::show_areas_range e;
  if (!show_runs(r, e.runs)) {
    if (r.find('@') != std::string_view::npos || r.find("=>") != std::string_view::npos)
      return parsed_line::bad("show_areas range: expected 'range <n>: <pages>@<bit>[+<pages>@<bit>…]'");
    return parsed_line::foreign();
  }
  if (*n > 0xffffffffu) return parsed_line::bad("show_areas range: range number out of range");
  e.range = static_cast<unsigned>(*n);
  return parsed_line::ok(std::move(e));
}

// "Region at %pa defined on low/high memory boundary (%pa)" (4.x+; 3.x: %08lx), after "Region at ".
inline parsed_line reserve_boundary(std::string_view r) {
  r = trim(r);
  auto a = until(r, " defined on low/high memory boundary (");
  auto b = until(r, ")");
  std::optional<std::uint64_t> base, limit;
  if (a) base = to_u64(*a, 16);
  if (b) limit = to_u64(*b, 16);
  if (!base || !limit || !r.empty())
    return parsed_line::bad("Region at: expected '0x<base> defined on low/high memory boundary (0x<boundary>)'");
  return parsed_line::ok(ev::reserve_boundary{*base, *limit});
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
  if (eat(r, "__cma_release_frozen(")) return release_like(false, r, "__cma_release_frozen");
  if (eat(r, "find_cma_memrange(")) return memrange_lookup(r);
  if (eat(r, "cma_pages_valid(")) return release_like(true, r);
  if (trim(r) == "number of available pages:") return parsed_line::skip(); // 6.15+: the ranges follow
  if (eat(r, "number of available pages: ")) return show_areas(r);
  if (eat(r, "=> ")) return show_areas_total(r); // 6.15+, should the continuation keep the prefix
  if (eat(r, "range ")) {
    auto p = show_areas_range(r);
    if (p.status != line_status::foreign) return p;
  }
  r = m;
  if (eat(r, "Region at ") && r.find(" defined on low/high memory boundary") != std::string_view::npos)
    return reserve_boundary(r);
  r = m;
  if (eat(r, "Reserved ") || eat(r, "CMA: reserved ")) {
    auto mib = eat_u64(r);
    if (mib && eat(r, " MiB in ")) { // 6.15+ cma_declare_contiguous_multi: "in %d range%s"
      auto n = eat_u64(r);
      const bool plural = eat(r, " ranges"), singular = !plural && eat(r, " range");
      if (!n || *n == 0 || *n > 0xffffffffu || !(plural || singular) || !trim(r).empty() || (*n == 1) != singular)
        return parsed_line::bad("Reserved … in: expected 'Reserved <N> MiB in 1 range' or '… in <R> ranges' (R > 1)");
      return parsed_line::ok(ev::reserved_ranges{*mib, static_cast<unsigned>(*n)});
    }
    if (!mib || !eat(r, " MiB at ")) return parsed_line::bad("Reserved: expected 'Reserved <N> MiB at 0x<addr>' or '… in <R> range[s]'");
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
  if (m == "cma:") return parsed_line::skip(); // 6.15+ show_areas: pr_info("\n") before the total
  if (eat(r, "hugetlb_cma: ") || m == "hugetlb_cma:") return hugetlb_cma_message(r);
  // mm/hugetlb.c's pr_warn_once when hugetlb_cma= is set: gigantic pages come from the areas instead
  if (m == "HugeTLB: hugetlb_cma is enabled, skip boot time allocation") return parsed_line::skip();
  if (eat(r, "=> ")) { // 6.15+ show_areas: the pr_cont total, on a line of its own
    if (r.find(" free of ") == std::string_view::npos) return parsed_line::foreign();
    return show_areas_total(r);
  }
  r = m;
  if (eat(r, "CMA: reserved ")) return cma_message(m); // 3.x, should the "cma: " prefix be missing
  if (eat(r, "alloc_contig_range test_pages_isolated(")) { // 3.x
    auto a = until(r, ", ");
    auto b = until(r, ") failed");
    std::optional<std::uint64_t> s, e;
    if (a) s = to_u64(*a, 16);
    if (b) e = to_u64(*b, 16);
    if (!s || !e || *e < *s || !trim(r).empty())
      return parsed_line::bad("alloc_contig_range: expected 'test_pages_isolated(<hex>, <hex>) failed'");
    return parsed_line::ok(ev::isolation_failed{*s, *e});
  }
  r = m;
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
  if (eat(r, "Reserved memory: ")) {
    auto p = reserved_memory(r);
    if (p.status != line_status::foreign) return p;
    if (icontains(m, "cma")) return parsed_line::ok(ev::boot_debug{std::string(m)});
  }
  r = m;
  if (eat(r, "OF: reserved mem: ")) {
    auto p = of_reserved_mem(r);
    if (p.status != line_status::foreign) return p;
  }
  r = m;
  if (auto p = page_alloc_line(m); p.status != line_status::foreign) return p;
  if (auto p = driver_line(m); p.status != line_status::foreign) return p;
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
  // A parameter no built-in code claimed (init/main.c print_unknown_bootoptions, 5.15+): e.g.
  // cma_pernuma= / numa_cma= on a kernel built without CONFIG_DMA_NUMA_CMA (Debian's 6.12).
  // unknown_bootoption then hands it to init, whose arguments and environment
  // run_init_process lists indented by four spaces, one a line
  r = m;
  if (eat(r, "Unknown kernel command line parameters \"")) {
    auto words = until(r, "\", will be passed to user space.");
    if (!words) return parsed_line::bad("Unknown kernel command line parameters: expected '\"…\", will be passed to user space.'");
    return parsed_line::ok(ev::unknown_params{std::string(*words)});
  }
  // (unwrap() has taken the indent): one lower-case `name=value` word alone on its line.
  // (A value is a parameter's: no brackets or quotes, which documentation's `cma=nn[MG]@…` has.)
  if (const auto eq = m.find('='); eq != std::string_view::npos && eq > 0 && m.find(' ') == std::string_view::npos &&
      m.substr(0, eq).find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string_view::npos &&
      m.substr(eq + 1).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,:@-/+") ==
          std::string_view::npos)
    return parsed_line::ok(ev::init_env{std::string(m)});
  // The end of the boot (init/main.c kernel_init): "Run %s as init process", after
  // free_initmem's "Freeing unused kernel memory: …" (arm64, x86: "… image (initmem) memory").
  r = m;
  if ((eat(r, "Run /") && r.find(" as init process") != std::string_view::npos) ||
      starts_with(m, "Freeing unused kernel memory") || starts_with(m, "Freeing unused kernel image"))
    return parsed_line::ok(ev::boot_done{});
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
