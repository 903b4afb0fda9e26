// cma/boot/hugetlb_cma.hpp — the hugetlb CMA areas (`hugetlb_cma=`) declared at boot.
//
// Models, in our own words:
//  - mm/hugetlb.c cmdline_parse_hugetlb_cma() and hugetlb_cma_reserve(order)
//    (read in Debian 6.1.192 and 6.12.118), and mm/hugetlb_cma.c of 7.3.4
//    (the same functions split out, with percentages and
//    cma_declare_contiguous_multi());
//  - the callers: arm64 bootmem_init() (6.1, 6.12: after arch_numa_init, before
//    dma_pernuma_cma_reserve/kvm_hyp_reserve and sparse_init, i.e. before the
//    memmap and before the global area), arm64 arm64_hugetlb_cma_reserve()
//    (order = PUD_SHIFT - PAGE_SHIFT = 18 with 4 KiB pages: 1 GiB pages), and 7.x
//    mm_core_init_early() (7.3.4: after setup_arch(), so after the global area
//    that bootmem_init reserved, and before sparse_init; arch_hugetlb_cma_order()).
//    x86 calls it after dma_contiguous_reserve() when the CPU has GBPAGES.
// The rules, per version:
//  - parsing (early_param "hugetlb_cma"): `<size>` (memparse) or, from 5.16,
//    `<nid>:<size>[,<nid>:<size>…]` — the node is read as sscanf("%lu%n") does
//    (leading spaces, decimal digits, no sign), a node >= MAX_NUMNODES or a
//    missing ',' stops; an item that is not `<n>:` makes the WHOLE value be read
//    again by memparse from its start (so `0:1G,2G` leaves size memparse("0:…") =
//    0 on ≤ 6.14).  ≤ 6.14 adds node sizes to the total and a plain size only
//    overwrites the total; 7.x resets the other form (and takes `N%`).  A bare
//    `hugetlb_cma` (no '=') dereferences NULL: the boot dies before the console.
//  - sizing (≤ 6.14): nodes not online → "invalid node %d specified"; a node size
//    below the gigantic page → "cma area of node %d should be at least %lu MiB";
//    a total below it → "cma area should be at least %lu MiB", nothing reserved;
//    per node = round_up(DIV_ROUND_UP(total, online nodes), gigantic) printed as
//    "hugetlb_cma: reserve %lu MiB, up to %lu MiB per node" (not with node sizes);
//    each node's size is rounded UP to the gigantic page (1536M → 2048 MiB).
//    7.x: a size that is not a multiple of the gigantic page is refused with
//    "hugetlb_cma: cma area must be a multiple of %lu MiB" (per node: "cma area of
//    node %d must be a multiple of %lu MiB"), nothing is rounded up.
//  - declaration: cma_declare_contiguous_nid(0, size, 0, align, opb, false,
//    "hugetlb%d", nid) with align = the gigantic page (≤ 5.15, and again from
//    6.10: "align cma on allocation order, not demotion order") or PAGE_SIZE <<
//    HUGETLB_PAGE_ORDER = 2 MiB (5.16 – 6.9, the demotion series), and opb 0
//    (≤ 5.15) or HUGETLB_PAGE_ORDER = 9 (5.16+); 6.15+ cma_declare_contiguous_multi
//    (size, gigantic, 9, name, nid).  Lines: the declaration's own, then
//    "hugetlb_cma: reserved %lu MiB on node %d", or on failure
//    "hugetlb_cma: reservation failed: err %d, node %d"; 6.15+ also refuses an
//    area crossing a zone ("hugetlb_cma: reserved area spans zones: err 0, node %d",
//    cma_validate_zones; the memory stays reserved).  The loop stops once the total
//    is reserved.
// Knowingly different / not verified on a tree: the version bounds 5.16 (node
// syntax, opb 9, 2 MiB alignment), 6.10 (gigantic alignment again; the fix was
// posted in April 2024), 6.15 (hugetlb_cma.c, multi-range, hugetlb_cma_only) and
// 7.0 (mm_core_init_early, multiple-of rule, percentages; the consolidation was
// posted in January 2026) are from patch mails, checked only at 6.1, 6.12 and 7.3;
// ≤ 5.15 is taken to print per_node rounded up as 6.1 does, and its failure line
// as 6.1's; 4.15 has no hugetlb_cma (introduced in 5.7); percentages use
// memblock_phys_mem_size(); online nodes are the memblock memory nodes.
// The largest gigantic order an area can ever serve: cma_alloc(count = 2^k,
// align = k) needs a 2^k-page window aligned in absolute pfn terms inside one
// range of the area; an area that is 1 GiB long but only 2 MiB aligned (6.1's
// top-down placement just under the page tables) holds none.
//
// Invariants: every declared area is named hugetlb<nid>; the sum of the reserved
// sizes reaches the total only through whole declarations; parsing never throws.
#pragma once

#include "cma_declare_contiguous.hpp"
#include "early_cma.hpp"
#include "memblock.hpp"
#include "memparse.hpp"
#include "../kernel_version.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma {

inline constexpr unsigned hugetlb_page_order = 9; ///< HUGETLB_PAGE_ORDER, arm64/x86 4 KiB pages

/// What changes between versions.
struct hugetlb_cma_rules {
  bool supported = false;       ///< 5.7+
  bool node_syntax = false;     ///< 5.16+: `<nid>:<size>,…`
  bool percent = false;         ///< 7.0+: `N%`, `<nid>:N%`
  bool only_param = false;      ///< 6.15+: `hugetlb_cma_only`
  bool multiple_of = false;     ///< 7.0+: refuse non-multiples instead of rounding up
  bool align_gigantic = true;   ///< false 5.16 – 6.9: align to 2 MiB only
  unsigned order_per_bit = 0;   ///< 0 ≤ 5.15, HUGETLB_PAGE_ORDER from 5.16
  bool multi_range = false;     ///< 6.15+: cma_declare_contiguous_multi
  bool validate_zones = false;  ///< 6.15+: cma_validate_zones at reservation
  bool from_mm_core_init = false; ///< 7.0+: after setup_arch (after the global area)
};

constexpr hugetlb_cma_rules hugetlb_cma_rules_for(const kernel_version& kv) noexcept {
  hugetlb_cma_rules r;
  r.supported = kv >= kernel_version{5, 7};
  r.node_syntax = kv >= kernel_version{5, 16};
  r.order_per_bit = kv >= kernel_version{5, 16} ? hugetlb_page_order : 0;
  r.align_gigantic = kv < kernel_version{5, 16} || kv >= kernel_version{6, 10};
  r.multi_range = r.validate_zones = r.only_param = kv >= kernel_version{6, 15};
  r.percent = r.multiple_of = r.from_mm_core_init = kv >= kernel_version{7, 0};
  return r;
}

/// The kernel's static variables after every `hugetlb_cma=` of the command line.
struct hugetlb_cma_cmdline {
  bool given = false;                          ///< some `hugetlb_cma` word was seen
  bool null_value = false;                     ///< a bare `hugetlb_cma`: NULL dereference
  std::uint64_t size = 0;                      ///< hugetlb_cma_size (bytes)
  unsigned percent = 0;                        ///< hugetlb_cma_percent (7.x)
  std::map<unsigned, std::uint64_t> size_in_node;   ///< hugetlb_cma_size_in_node[]
  std::map<unsigned, unsigned> percent_in_node;     ///< hugetlb_cma_percent_in_node[] (7.x)
  bool only = false;                           ///< hugetlb_cma_only (6.15+)
  std::string raw;                             ///< the last value as written
  std::vector<std::string> messages;           ///< lines the parser prints
  std::vector<std::string> notes;
};

namespace detail {

/// vsscanf "%lu%n": spaces skipped, then at least one decimal digit (no sign);
/// wraps like simple_strntoull.  {value, characters consumed} or nullopt.
inline std::optional<std::pair<std::uint64_t, std::size_t>> sscanf_lu(std::string_view s) {
  std::size_t i = skip_spaces(s, 0);
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + unsigned(s[i++] - '0');
  return std::pair{v, i};
}

inline void clear_nodes(hugetlb_cma_cmdline& st) {
  st.size_in_node.clear();
  st.percent_in_node.clear();
}

} // namespace detail

/// cmdline_parse_hugetlb_cma(value) applied to `st` (one `hugetlb_cma=` word).
inline void parse_hugetlb_cma_value(hugetlb_cma_cmdline& st, std::string_view p,
                                    const hugetlb_cma_rules& r, unsigned max_numnodes = 64) {
  st.raw = std::string(p);
  if (!r.node_syntax) { // 5.7 – 5.15: memparse only
    st.size = memparse(p).value;
    return;
  }
  std::string_view s = p;
  while (!s.empty()) {
    const auto n = detail::sscanf_lu(s);
    if (!n) break;
    if (detail::char_at(s, n->second) == ':') {
      if (n->first >= max_numnodes) break;
      const auto nid = static_cast<unsigned>(n->first);
      if (r.percent) {
        st.size = 0;
        st.percent = 0;
      }
      s.remove_prefix(n->second + 1);
      const memparse_result m = memparse(s);
      s.remove_prefix(m.consumed);
      if (r.percent && detail::char_at(s, 0) == '%') {
        if (m.value > 100) {
          st.messages.push_back("hugetlb_cma: invalid percentage " + std::to_string(m.value) +
                                " for node " + std::to_string(nid));
          break;
        }
        st.percent_in_node[nid] = static_cast<unsigned>(m.value);
        st.size_in_node[nid] = 0;
        s.remove_prefix(1);
      } else {
        st.size_in_node[nid] = m.value;
        if (r.percent) st.percent_in_node[nid] = 0;
        else st.size += m.value; // ≤ 6.14 adds node sizes to the total
      }
      if (s.empty() || s.front() != ',') break;
      s.remove_prefix(1);
    } else {
      const memparse_result m = memparse(p); // from the start of the value
      if (r.percent && detail::char_at(p, m.consumed) == '%') {
        if (m.value > 100) {
          st.messages.push_back("hugetlb_cma: invalid percentage " + std::to_string(m.value));
        } else {
          st.percent = static_cast<unsigned>(m.value);
          st.size = 0;
          detail::clear_nodes(st);
        }
      } else {
        st.size = m.value;
        if (r.percent) {
          st.percent = 0;
          detail::clear_nodes(st);
        }
      }
      break;
    }
  }
}

/// Every `hugetlb_cma=` / `hugetlb_cma_only` of the command line, in order.
inline hugetlb_cma_cmdline parse_hugetlb_cma_params(std::string_view cmdline, const kernel_version& kv,
                                                    unsigned max_numnodes = 64) {
  const hugetlb_cma_rules r = hugetlb_cma_rules_for(kv);
  hugetlb_cma_cmdline st;
  if (const auto nul = cmdline.find('\0'); nul != std::string_view::npos) cmdline = cmdline.substr(0, nul);
  cmdline = cmdline.substr(0, std::min(cmdline.size(), command_line_max_chars));
  for (const kernel_param& p : split_cmdline(cmdline)) {
    if (detail::parameq(p.name, "hugetlb_cma")) {
      st.given = true;
      if (!r.supported) continue;
      if (!p.value) {
        st.null_value = true;
        continue;
      }
      parse_hugetlb_cma_value(st, *p.value, r, max_numnodes);
    } else if (detail::parameq(p.name, "hugetlb_cma_only")) {
      if (!r.only_param) {
        st.notes.push_back("hugetlb_cma_only is not a parameter of " + kv.str() +
                           ": \"Unknown kernel command line parameters\" names it");
        continue;
      }
      // kstrtobool: y/Y/t/T/1/on → true, n/N/f/F/0/off → false.
      const std::string v = p.value.value_or("");
      if (!v.empty()) {
        const char c = v[0];
        if (c == 'y' || c == 'Y' || c == 't' || c == 'T' || c == '1' || v == "on" || v == "On" || v == "ON")
          st.only = true;
        else if (c == 'n' || c == 'N' || c == 'f' || c == 'F' || c == '0' || v.rfind("of", 0) == 0 ||
                 v.rfind("Of", 0) == 0 || v.rfind("OF", 0) == 0)
          st.only = false;
      }
    }
  }
  if (st.given && !r.supported)
    st.notes.push_back("hugetlb_cma= has no effect on " + kv.str() + " (introduced in 5.7)");
  if (st.only)
    st.notes.push_back("hugetlb_cma_only: gigantic pages come only from the hugetlb areas (no "
                       "effect on where they are placed)");
  return st;
}

/// One hugetlb area as declared (or not), with what it can serve.
struct hugetlb_cma_area {
  int nid = 0;
  phys_addr_t size = 0;                ///< requested (after the version's rounding)
  cma_declare_outcome decl;
  bool spans_zones = false;            ///< 6.15+: refused by cma_validate_zones
  unsigned gigantic_order = 18;        ///< order of the gigantic page (1 GiB: 18)
  /// The largest order k <= gigantic_order with a 2^k-page window aligned to
  /// 2^k pages inside one range (what cma_alloc(2^k, k) can ever find), or -1.
  int max_alloc_order = -1;
  std::uint64_t max_gigantic_pages = 0; ///< disjoint aligned gigantic windows
};

/// The whole hugetlb_cma_reserve() call.
struct hugetlb_cma_result {
  std::vector<std::string> lines;      ///< kernel lines, in order (with the declarations')
  std::vector<hugetlb_cma_area> areas; ///< one per declaration attempt
  std::vector<std::string> notes;
  bool ran = false;                    ///< something was asked for
};

namespace detail {

/// The largest order k ≤ max_order such that an aligned 2^k-page window lies in
/// [base, base + size); -1 if none (not even one page).
constexpr int max_aligned_order(phys_addr_t base, phys_addr_t size, unsigned max_order) noexcept {
  for (int k = static_cast<int>(max_order); k >= 0; --k) {
    const phys_addr_t w = page_size << k;
    const phys_addr_t start = round_up(base, w);
    if (start >= base && start + w <= base + size && start + w > start) return k;
  }
  return -1;
}

constexpr std::uint64_t aligned_windows(phys_addr_t base, phys_addr_t size, unsigned order) noexcept {
  const phys_addr_t w = page_size << order;
  const phys_addr_t lo = round_up(base, w), hi = round_down(base + size, w);
  return hi > lo ? (hi - lo) / w : 0;
}

inline void fill_capacity(hugetlb_cma_area& a) {
  a.max_alloc_order = -1;
  a.max_gigantic_pages = 0;
  for (const auto& [b, s] : a.decl.ranges) {
    a.max_alloc_order = std::max(a.max_alloc_order, max_aligned_order(b, s, a.gigantic_order));
    a.max_gigantic_pages += aligned_windows(b, s, a.gigantic_order);
  }
}

inline std::string mib_of(std::uint64_t bytes) { return std::to_string(bytes / sz_1m); }

} // namespace detail

/// hugetlb_cma_reserve(order) against the memblock state at its moment.
/// `zone_boundaries` are the zone limits a 6.15+ area must not cross.
inline hugetlb_cma_result hugetlb_cma_reserve(memblock& mb, hugetlb_cma_cmdline st,
                                              const kernel_version& kv, unsigned order,
                                              const cma_declare_config& cfg,
                                              unsigned& areas_declared,
                                              const std::vector<phys_addr_t>& zone_boundaries = {}) {
  const hugetlb_cma_rules r = hugetlb_cma_rules_for(kv);
  hugetlb_cma_result out;
  if (!r.supported || !st.given || st.null_value) return out;
  const phys_addr_t gigantic = page_size << order;
  const std::string gig_mib = detail::mib_of(gigantic);
  std::vector<int> online;
  for (const auto& m : mb.memory())
    if (m.nid >= 0 && std::find(online.begin(), online.end(), m.nid) == online.end())
      online.push_back(m.nid);
  std::sort(online.begin(), online.end());
  auto is_online = [&](unsigned nid) {
    return std::find(online.begin(), online.end(), int(nid)) != online.end();
  };
  std::uint64_t total = st.size;
  bool node_specific = false;
  if (r.percent) {
    bool has_node_param = false;
    for (const auto& [nid, v] : st.size_in_node) has_node_param |= v != 0;
    for (const auto& [nid, v] : st.percent_in_node) has_node_param |= v != 0;
    if (has_node_param) {
      total = 0;
      for (auto& [nid, v] : st.size_in_node) {
        const unsigned pct = st.percent_in_node.count(nid) ? st.percent_in_node[nid] : 0;
        if (pct) {
          phys_addr_t node_mem = 0;
          for (const auto& m : mb.memory())
            if (m.nid == int(nid)) node_mem += m.size;
          v = node_mem * pct / 100;
        }
        total += v;
      }
    } else if (st.percent) {
      total = mb.phys_mem_size() * st.percent / 100;
    }
    if (!total) return out;
    out.ran = true;
    if (st.percent) {
      const std::uint64_t orig = total;
      total = round_down(total, gigantic);
      if (orig && !total)
        out.lines.push_back("hugetlb_cma: reservation size rounded down to 0 from " +
                            detail::mib_of(orig) + " MiB (" + std::to_string(st.percent) + "%)");
    } else if (has_node_param) {
      total = 0;
      for (auto& [nid, v] : st.size_in_node) {
        const unsigned pct = st.percent_in_node.count(nid) ? st.percent_in_node[nid] : 0;
        if (pct) {
          const std::uint64_t orig = v;
          v = round_down(v, gigantic);
          if (orig && !v)
            out.lines.push_back("hugetlb_cma: reservation size rounded down to 0 from " +
                                detail::mib_of(orig) + " MiB (" + std::to_string(pct) +
                                "%) on node " + std::to_string(nid));
        }
        total += v;
      }
    }
    for (auto& [nid, v] : st.size_in_node) {
      if (!v) continue;
      if (!is_online(nid)) {
        out.lines.push_back("hugetlb_cma: invalid node " + std::to_string(nid) + " specified");
      } else if (v % gigantic) {
        out.lines.push_back("hugetlb_cma: cma area of node " + std::to_string(nid) +
                            " must be a multiple of " + gig_mib + " MiB");
      } else {
        node_specific = true;
        continue;
      }
      total -= v;
      v = 0;
    }
    if (!total) return out;
    if (total % gigantic) {
      out.lines.push_back("hugetlb_cma: cma area must be a multiple of " + gig_mib + " MiB");
      return out;
    }
  } else {
    if (!total) return out;
    out.ran = true;
    for (auto& [nid, v] : st.size_in_node) {
      if (!v) continue;
      if (!is_online(nid)) {
        out.lines.push_back("hugetlb_cma: invalid node " + std::to_string(nid) + " specified");
        total -= v;
        v = 0;
        continue;
      }
      if (v < gigantic) {
        out.lines.push_back("hugetlb_cma: cma area of node " + std::to_string(nid) +
                            " should be at least " + gig_mib + " MiB");
        total -= v;
        v = 0;
      } else {
        node_specific = true;
      }
    }
    if (!total) return out;
    if (total < gigantic) {
      out.lines.push_back("hugetlb_cma: cma area should be at least " + gig_mib + " MiB");
      return out;
    }
  }
  std::uint64_t per_node = 0;
  if (!node_specific) {
    if (online.empty()) return out;
    per_node = (total + online.size() - 1) / online.size();
    per_node = round_up(per_node, gigantic);
    if (r.percent && st.percent)
      out.lines.push_back("hugetlb_cma: reserve " + detail::mib_of(total) + " MiB (" +
                          std::to_string(st.percent) + "%), up to " + detail::mib_of(per_node) +
                          " MiB per node");
    else
      out.lines.push_back("hugetlb_cma: reserve " + detail::mib_of(total) + " MiB, up to " +
                          detail::mib_of(per_node) + " MiB per node");
  }
  const phys_addr_t align = r.align_gigantic ? gigantic : page_size << hugetlb_page_order;
  std::uint64_t reserved = 0;
  for (int nid : online) {
    std::uint64_t size = 0;
    if (node_specific) {
      const auto it = st.size_in_node.find(static_cast<unsigned>(nid));
      if (it == st.size_in_node.end() || it->second == 0) continue;
      size = it->second;
    } else {
      size = std::min(per_node, total - reserved);
    }
    if (!r.multiple_of) size = round_up(size, gigantic);
    hugetlb_cma_area a;
    a.nid = nid;
    a.size = size;
    a.gigantic_order = order;
    const std::string name = "hugetlb" + std::to_string(nid);
    if (r.multi_range) {
      a.decl = cma_declare_contiguous_multi(mb, size, gigantic, r.order_per_bit, name, nid, kv, cfg,
                                            areas_declared);
    } else {
      cma_declare_request rq;
      rq.size = size;
      rq.alignment = align;
      rq.order_per_bit = r.order_per_bit;
      rq.name = name;
      rq.nid = nid;
      a.decl = cma_declare_contiguous_nid(mb, rq, kv, cfg, areas_declared);
    }
    out.lines.insert(out.lines.end(), a.decl.lines.begin(), a.decl.lines.end());
    if (a.decl.ok()) ++areas_declared;
    if (a.decl.ok() && r.validate_zones)
      for (const auto& [b, s] : a.decl.ranges)
        for (phys_addr_t z : zone_boundaries)
          if (b < z && b + s > z) a.spans_zones = true;
    const std::string node = ", node " + std::to_string(nid);
    if (!a.decl.ok()) {
      out.lines.push_back("hugetlb_cma: reservation failed: err " + std::to_string(a.decl.ret) + node);
    } else if (a.spans_zones) {
      out.lines.push_back("hugetlb_cma: reserved area spans zones: err 0" + node);
    } else {
      reserved += size;
      const auto pct = st.percent_in_node.find(static_cast<unsigned>(nid));
      if (r.percent && pct != st.percent_in_node.end() && pct->second)
        out.lines.push_back("hugetlb_cma: reserved " + detail::mib_of(size) + " MiB (" +
                            std::to_string(pct->second) + "%) on node " + std::to_string(nid));
      else
        out.lines.push_back("hugetlb_cma: reserved " + detail::mib_of(size) + " MiB on node " +
                            std::to_string(nid));
    }
    if (a.decl.ok()) detail::fill_capacity(a);
    out.areas.push_back(std::move(a));
    if (reserved >= total) break;
  }
  return out;
}

} // namespace cma
