// cma/dma/cma_log.hpp — the kernel log lines one cma_alloc()/cma_release() prints, as strings.
//
// Models the pr_debug / pr_err lines of mm/cma.c (KERNEL-FACTS §1.7, §2, §3.1) for the DMA
// layer's calls, in the order the kernel prints them, with the "cma: " pr_fmt prefix and no
// timestamp:
//   cma_alloc   [debug] "<func>(cma %p, count %lu, align %d)"  (6.6+: "cma %p, name: %s, count …")
//               [debug] "<func>(): memory range at %p is busy, retrying" per -EBUSY window
//                       (6.6+: "memory range at pfn 0x%lx %p is busy, retrying")
//               [warn]  "<func>: alloc failed, req-size: %lu pages, ret: %d" (5.12+: "<func>: <name>: …")
//                       unless __GFP_NOWARN, then cma_debug_show_areas() (≤6.11 only with
//                       CONFIG_CMA_DEBUG, always from 6.12)
//               [debug] "<func>(): returned %p"  (not after an early exit)
//   cma_release [debug] "cma_release(page %p[, count %lu])" / "cma_pages_valid(page %p, count %lu)"
//                       placed per dma_rules::release_log; 7.0+ "find_cma_memrange(…)" and
//                       "__cma_release_frozen(…)" (mm/cma.c 7.3), one lookup line more for the
//                       NULL per-node area that dma_free_contiguous() asks first under DMA_NUMA_CMA.
// `<func>` is profile::alloc_func (cma_alloc, __cma_alloc from 6.12, __cma_alloc_frozen from 7.0).
//
// Knowingly different: %p is a per-boot keyed hash in the kernel; here it is a fixed,
// deterministic stand-in (hashed_pointer) — "00000000" + 8 hex digits, as the kernel prints a
// hashed pointer on 64-bit, and 16 zeros for NULL — so that a page pointer printed by "returned"
// is the same string cma_release prints for that page, as on the real machine.  The 5.14+
// rate limit of the failure line (pr_err_ratelimited) is modelled when the caller keeps a
// printk_ratelimit and passes the time (the library has no clock); show_areas is not limited.
//
// Invariant: pure — the lines depend only on the arguments.
#pragma once

#include "../alloc_result.hpp"
#include "../allocator.hpp"
#include "../cma_debug_show_areas.hpp"
#include "../profile.hpp"
#include "dma_rules.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cma::dma {

/// lib/ratelimit.c ___ratelimit() with DEFAULT_RATELIMIT_INTERVAL (5 s) and
/// DEFAULT_RATELIMIT_BURST (10): the state behind pr_err_ratelimited (the failure line, 5.14+).
/// The model has no clock: the caller passes the time of each message.
struct printk_ratelimit {
  std::uint64_t interval_ns = 5'000'000'000ULL;
  unsigned burst = 10;
  std::optional<std::uint64_t> begin; ///< start of the current interval (rs->begin; nullopt: 0)
  unsigned printed = 0;
  unsigned missed = 0;

  /// Whether a message at `now_ns` is printed.  When a new interval starts after suppressed
  /// messages, `report` is set to the count ("%s: %d callbacks suppressed", no pr_fmt prefix).
  bool allow(std::uint64_t now_ns, std::optional<unsigned>& report) {
    report.reset();
    if (!begin) begin = now_ns;
    if (now_ns > *begin + interval_ns) { // time_is_before_jiffies(begin + interval)
      if (missed != 0) report = missed;
      missed = 0;
      begin = now_ns;
      printed = 0;
    }
    if (burst > printed) {
      ++printed;
      return true;
    }
    ++missed;
    return false;
  }
};

/// Which of mm/cma.c's optional lines the kernel prints.
struct log_options {
  bool config_cma_debug = false; ///< CONFIG_CMA_DEBUG=y: pr_debug on (≤6.11) and show_areas after a failure
  bool dyndbg = false;           ///< dynamic debug "file mm/cma.c +p" (the recordings' cmdline)
  /// 5.14+ rate-limits the failure line; with a state here (owned by the caller, one per boot)
  /// and the time of the call, suppressed lines are left out as the kernel leaves them out.
  /// nullptr: every failure line is printed.
  printk_ratelimit* failure_ratelimit = nullptr;
  std::uint64_t now_ns = 0;      ///< the time of the call, for failure_ratelimit

  bool debug_lines(const profile& p) const noexcept {
    return dyndbg || (config_cma_debug && p.version < kernel_version{6, 12, 0});
  }
  bool show_areas(const profile& p) const noexcept { return config_cma_debug || p.show_areas_unconditional; }
};

namespace detail {
/// Lower-case hex without leading zeros (the kernel's %lx).
inline std::string hex_lower(std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), hex[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return s;
}
} // namespace detail

/// A stand-in for the kernel's hashed %p: "00000000" + 8 hex digits of a mix of `key`
/// (nonzero), or 16 zeros for NULL (key 0).
inline std::string hashed_pointer(std::uint64_t key) {
  if (key == 0) return std::string(16, '0');
  std::uint64_t z = key + 0x9e3779b97f4a7c15ULL; // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  std::uint32_t h = static_cast<std::uint32_t>(z);
  if (h == 0) h = 1;
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 8; --i, h >>= 4) s[static_cast<std::size_t>(i)] = hex[h & 0xf];
  return s;
}
/// The pointer a page prints as (struct page *, keyed by its pfn; pfn 0 is never a CMA page here).
inline std::string page_pointer(pfn_t pfn) { return hashed_pointer(pfn | (std::uint64_t{1} << 63)); }
/// The pointer an area prints as (struct cma *, keyed by its base).
inline std::string area_pointer(const allocator& a) { return hashed_pointer(a.base_pfn() ^ 0x636d61ULL); }

/// Lines of one cma_alloc(area, count, align, no_warn) whose outcome is `r`; `area` is in its
/// state right after the call (show_areas prints the bitmap as the failure left it).
inline std::vector<std::string> cma_alloc_lines(const allocator& area, const alloc_result& r, bool no_warn,
                                                const log_options& o) {
  std::vector<std::string> out;
  const profile& p = area.prof();
  if (r.exit == alloc_exit::null_area) return out; // returns before its first pr_debug
  const std::string func(p.alloc_func);
  const bool dbg = o.debug_lines(p);
  if (dbg)
    out.push_back("cma: " + func + "(cma " + area_pointer(area) + (p.call_debug_has_name ? ", name: " + area.name() : "") +
                  ", count " + std::to_string(r.count) + ", align " + std::to_string(r.align) + ")");
  const bool searched = r.exit == alloc_exit::searched || (r.exit == alloc_exit::too_large && p.too_large_is_reported);
  if (!searched) return out; // count == 0 or too large (≤6.14): `goto out`, nothing more
  if (dbg)
    for (const auto& a : r.attempts)
      if (a.ret == ebusy)
        out.push_back("cma: " + func + "(): memory range at " +
                      (p.busy_line_has_pfn ? "pfn 0x" + detail::hex_lower(a.pfn) + " " : std::string()) + page_pointer(a.pfn) +
                      " is busy, retrying");
  if (r.err != 0 && !no_warn) {
    std::optional<unsigned> suppressed;
    const bool print = !p.failure_ratelimited || !o.failure_ratelimit || o.failure_ratelimit->allow(o.now_ns, suppressed);
    if (suppressed) out.push_back(func + ": " + std::to_string(*suppressed) + " callbacks suppressed");
    if (print)
      out.push_back("cma: " + func + ": " + (p.failure_line_has_name ? area.name() + ": " : std::string()) +
                  "alloc failed, req-size: " + std::to_string(r.count) + " pages, ret: " + std::to_string(r.err));
    if (o.show_areas(p))
      for (auto& l : cma_debug_show_areas(area)) out.push_back(std::move(l));
  }
  if (dbg) out.push_back("cma: " + func + "(): returned " + (r.ok() ? page_pointer(r.pfn) : hashed_pointer(0)));
  return out;
}

/// Lines of one cma_release(area, page at pfn, count) whose answer was `released`.
/// `null_area_first`: dma_free_contiguous() asked the (NULL) per-node area before this one
/// (dma_rules::numa_cma() and a device without its own area); only the 6.15+ texts print for it.
inline std::vector<std::string> cma_release_lines(const dma_rules& rules, const allocator& area, pfn_t pfn,
                                                  page_count count, bool released, const log_options& o,
                                                  bool null_area_first = false) {
  std::vector<std::string> out;
  const profile& p = area.prof();
  if (!o.debug_lines(p)) return out;
  const std::string ptr = page_pointer(pfn);
  const std::string args = "(page " + ptr + ", count " + std::to_string(count);
  const std::string release = "cma: cma_release(page " + ptr +
                              (p.release_debug_has_count ? ", count " + std::to_string(count) : std::string()) + ")";
  const std::string invalid = "cma: cma_pages_valid" + args + ")";
  switch (rules.release_log) {
  case release_debug::before_check: out.push_back(release); break;
  case release_debug::after_pages_valid: out.push_back(released ? release : invalid); break;
  case release_debug::both_before:
    if (null_area_first) out.push_back(release); // cma_release(NULL, …) prints, then cma_pages_valid says no
    out.push_back(release);
    if (!released) out.push_back(invalid);
    break;
  case release_debug::find_range: {
    const std::string lookup = "cma: find_cma_memrange" + args + ")";
    if (null_area_first) out.push_back(lookup); // !cma: NULL without a second line
    out.push_back(lookup);
    if (released)
      out.push_back("cma: __cma_release_frozen" + args + ")");
    else if (count <= area.count()) // count > cma->count returns before the range search, silently
      out.push_back("cma: find_cma_memrange" + args + ", no cma range matches the page range)");
    break;
  }
  }
  return out;
}

} // namespace cma::dma
