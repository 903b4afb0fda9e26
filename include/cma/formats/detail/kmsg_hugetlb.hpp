// cma/formats/detail/kmsg_hugetlb.hpp — kmsg.hpp's reader for the "hugetlb_cma: " lines of
// hugetlb_cma_reserve() (mm/hugetlb.c 5.7–6.14, mm/hugetlb_cma.c 6.15+), which declares one
// CMA area "hugetlb<nid>" per node before (6.1, 6.12) or after (6.15+ on arm64) the default one:
//   pr_info  "reserve %lu MiB, up to %lu MiB per node"            → ev::hugetlb_cma_reserve
//            "reserve %lu MiB (%u%%), up to %lu MiB per node"      (7.x hugetlb_cma=N%)
//   pr_info  "reserved %lu MiB on node %d"                        → ev::hugetlb_cma_reserved
//            "reserved %lu MiB (%u%%) on node %d"                  (7.x hugetlb_cma=N%)
//   pr_warn  every line that says an area was not reserved          → ev::hugetlb_cma_rejected:
//            "invalid node %d specified", "cma area [of node %d ]should be at least %lu MiB" (≤ 6.14),
//            "cma area [of node %d ]must be a multiple of %lu MiB" (6.15+), "reservation failed:
//            err %d, node %d", "reserved area spans zones: err %d, node %d" (6.15+), "the option
//            isn't supported by current arch", 7.x "invalid percentage %lu[ for node %d]" and
//            "reservation size rounded down to 0 from %lu MiB (%u%%)[ on node %d]".
// Every "hugetlb_cma:" message is one of these or malformed (with what was expected): a line
// of this prefix is never foreign, so none is dropped unseen.
#pragma once

#include "../parsed.hpp"
#include "scan.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cma::formats::kmsg::detail_ {
using namespace cma::formats::detail;

// The values a printk format's conversions matched, in order ("%d" may be negative).
struct printk_args {
  std::array<std::int64_t, 4> v{};
  unsigned n = 0;
};

// Matches `text` against a printk format whole: "%lu"/"%u" take decimal digits, "%d" an
// optional '-' and digits, "%%" a '%'; everything else must be the same character.
inline bool match_printk(std::string_view fmt, std::string_view text, printk_args& out) {
  out = {};
  while (!fmt.empty()) {
    if (eat(fmt, "%%")) {
      if (!eat(text, "%")) return false;
      continue;
    }
    const bool lu = eat(fmt, "%lu"), u = !lu && eat(fmt, "%u"), d = !lu && !u && eat(fmt, "%d");
    if (lu || u || d) {
      const bool neg = d && eat(text, "-");
      if (text.empty() || text.front() < '0' || text.front() > '9' || out.n == out.v.size()) return false;
      auto x = eat_u64(text);
      if (!x || *x > (1ULL << 62)) return false;
      out.v[out.n++] = neg ? -static_cast<std::int64_t>(*x) : static_cast<std::int64_t>(*x);
      continue;
    }
    if (text.empty() || text.front() != fmt.front()) return false;
    text.remove_prefix(1);
    fmt.remove_prefix(1);
  }
  return text.empty();
}

struct hugetlb_warning {
  std::string_view fmt;
  int mib = -1; ///< which conversion is the MiB the line names (-1: none)
};
inline constexpr std::array<hugetlb_warning, 12> hugetlb_warnings{{
    {"invalid node %d specified", -1},
    {"cma area of node %d should be at least %lu MiB", 1},
    {"cma area should be at least %lu MiB", 0},
    {"cma area of node %d must be a multiple of %lu MiB", 1},
    {"cma area must be a multiple of %lu MiB", 0},
    {"reservation failed: err %d, node %d", -1},
    {"reserved area spans zones: err %d, node %d", -1},
    {"the option isn't supported by current arch", -1},
    {"invalid percentage %lu for node %d", -1},
    {"invalid percentage %lu", -1},
    {"reservation size rounded down to 0 from %lu MiB (%u%%) on node %d", 0},
    {"reservation size rounded down to 0 from %lu MiB (%u%%)", 0},
}};

// The text before a format's first conversion: a line that starts so is that line, cut or garbled.
inline std::string_view printk_head(std::string_view fmt) { return fmt.substr(0, fmt.find('%')); }

// After "hugetlb_cma: ".  Never foreign.
inline parsed_line hugetlb_cma_message(std::string_view r) {
  r = trim(r);
  printk_args a;
  if (match_printk("reserve %lu MiB, up to %lu MiB per node", r, a) ||
      match_printk("reserve %lu MiB (%u%%), up to %lu MiB per node", r, a)) {
    const auto per_node = a.v[a.n - 1];
    return parsed_line::ok(ev::hugetlb_cma_reserve{static_cast<std::uint64_t>(a.v[0]), static_cast<std::uint64_t>(per_node)});
  }
  if (match_printk("reserved %lu MiB on node %d", r, a) || match_printk("reserved %lu MiB (%u%%) on node %d", r, a)) {
    const auto node = a.v[a.n - 1];
    if (node > 0xffff) return parsed_line::bad("hugetlb_cma: reserved: node number out of range");
    return parsed_line::ok(ev::hugetlb_cma_reserved{static_cast<std::uint64_t>(a.v[0]), static_cast<int>(node)});
  }
  if (starts_with(r, "reserved ") && !starts_with(r, "reserved area spans zones"))
    return parsed_line::bad("hugetlb_cma: expected 'reserved <N> MiB on node <K>'");
  if (starts_with(r, "reserve "))
    return parsed_line::bad("hugetlb_cma: expected 'reserve <N> MiB, up to <M> MiB per node'");
  for (const auto& w : hugetlb_warnings) {
    if (!match_printk(w.fmt, r, a)) continue;
    ev::hugetlb_cma_rejected e{std::string(r), std::nullopt};
    if (w.mib >= 0) e.mib = static_cast<std::uint64_t>(a.v[static_cast<unsigned>(w.mib)]);
    return parsed_line::ok(std::move(e));
  }
  for (const auto& w : hugetlb_warnings)
    if (starts_with(r, printk_head(w.fmt)) && printk_head(w.fmt).size() > 8)
      return parsed_line::bad("hugetlb_cma: expected '" + std::string(w.fmt) + "'");
  return parsed_line::bad(
      "hugetlb_cma: expected 'reserve <N> MiB, up to <M> MiB per node', 'reserved <N> MiB on node <K>' "
      "or one of hugetlb_cma_reserve()'s warnings ('cma area must be a multiple of <N> MiB', "
      "'reservation failed: err <E>, node <K>', …)");
}

} // namespace cma::formats::kmsg::detail_
