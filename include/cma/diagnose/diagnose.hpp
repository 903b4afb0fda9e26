// cma/diagnose/diagnose.hpp — from a replay's report to findings: why each CMA allocation or
// reservation failed, whether it matters, and what to change.
//
// Input: the replay_report (cma/replay/report.hpp), chiefly its field part (field_log.hpp):
// the areas the log declares, the failure lines with their neighbours, busy bursts,
// reservation lines.  Output: the areas (name, base, size, where they came from) and the
// findings, each with one cause of cause.hpp, its evidence (input file index and line),
// a plain-words explanation and advice.  Identical failures (area, count, errno, cause) are
// one finding with their number and first/last time.  Reservation findings and
// cmdline-overrides-dt come first.
//
// What is computed and what is assumed: when a show_areas state follows a failure, the
// cause and the numbers (largest aligned window, free pages, how much larger the area
// would have had to be) come from the model's search on that state (show_areas_state.hpp);
// the alignment is the logged one or the DMA layer's for that size, and the finding says
// which.  Without a state the cause is no-window (-ENOMEM) and the advice says how to
// capture the occupancy next time.
// Pure: no I/O.
#pragma once

#include "../boot/boot.hpp"
#include "../cma_init_reserved_mem.hpp"
#include "../profile.hpp"
#include "../replay/report.hpp"
#include "cause.hpp"
#include "show_areas_state.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cma::diagnose {

struct evidence {
  unsigned file = 0;
  std::uint64_t line = 0;
  std::optional<double> time;
};

struct finding {
  cause c = cause::no_window;
  std::optional<reservation_why> why;
  std::string area;
  std::optional<page_count> count;
  std::optional<int> err;
  std::uint64_t occurrences = 0;
  std::uint64_t suppressed = 0;             ///< "callbacks suppressed": at least this many more not printed
  std::optional<double> first, last;        ///< seconds since boot
  std::vector<evidence> ev;                 ///< the first max_evidence lines
  std::string explanation, advice;
  std::string fallback = "unknown from the log"; ///< the page allocator fallback: "tried and failed" / unknown
  std::optional<bool> during_boot;          ///< before init ran (the log's "Run /init" line); nullopt: unknown
  std::optional<unsigned> align;            ///< the alignment searched (order)
  std::string align_source;                 ///< "logged" / "assumed: DMA layer for this size"
};

struct diagnosed_area {
  std::string name;
  std::optional<std::uint64_t> base, size; ///< bytes
  std::string source;
};

struct diagnosis {
  std::vector<diagnosed_area> areas;
  std::vector<finding> findings;
  std::vector<std::string> notes;
  std::uint64_t traced_failures = 0;   ///< failed allocations of the trace (kept records)
  std::uint64_t traced_unreported = 0; ///< of them, those no failure line reports
  bool failures() const {
    return std::any_of(findings.begin(), findings.end(), [](const finding& f) { return is_failure(f.c); });
  }
};

inline constexpr std::size_t max_evidence = 20;

namespace detail_diag {

inline std::string mib(page_count pages) { // pages → "72 MiB" (rounded up)
  return std::to_string((pages + 255) / 256) + " MiB";
}
inline evidence at(const ev::source& s) { return {s.file, s.line, s.time}; }

/// A busy burst in words: how many windows, the first ones, the stride between them.
inline std::string burst_text(const field_burst& b) {
  const auto hx = [](std::uint64_t v) { return cma::detail::hex(v).substr(2); }; // PFNs busy prints %lx
  std::string out = std::to_string(b.n) + " busy window(s)";
  if (b.windows.empty()) return out;
  out += ": ";
  for (std::size_t i = 0; i < b.windows.size() && i < 4; ++i)
    out += (i ? ", " : "") + std::string("[") + hx(b.windows[i].start) + ", " + hx(b.windows[i].end) + ")";
  if (b.n > 4) out += ", …";
  if (b.windows.size() >= 2) {
    const auto stride = b.windows[1].start - b.windows[0].start;
    bool same = true;
    for (std::size_t i = 2; i < b.windows.size(); ++i)
      same = same && b.windows[i].start - b.windows[i - 1].start == stride;
    out += same ? "; stride 0x" + hx(stride) + " pages" : "; the windows do not step evenly";
  }
  return out;
}

// Before the log's "Run /init" line: by line in the same file, by time across files (a
// trace's failure against the dmesg's line).
inline std::optional<bool> during_boot(const field_report& r, const ev::source& w) {
  if (!r.boot_done) return std::nullopt;
  if (r.boot_done->file == w.file) return w.line < r.boot_done->line;
  if (r.boot_done->time && w.time) return *w.time < *r.boot_done->time;
  return std::nullopt;
}

inline const field_area* area_of(const field_report& r, const std::string& name) {
  for (const auto& a : r.areas)
    if (a.name == name) return &a;
  return nullptr;
}

inline const char* capture_advice() {
  return "To see the occupancy next time, capture the cma trace events and mm/cma.c's debug lines: boot with "
         "`trace_event=cma:* dyndbg=\"file mm/cma.c +p\"`, or at run time `echo 1 > "
         "/sys/kernel/tracing/events/cma/enable` and `echo 'file mm/cma.c +p' > "
         "/sys/kernel/debug/dynamic_debug/control`, then save /sys/kernel/tracing/trace with dmesg; kernels "
         "from 6.12 print the free runs (show_areas) after every failure by themselves.";
}

/// Where a failure came from: a failure line of the log, or a failed allocation of the trace
/// that no failure line reports (≤6.14 too-large, __GFP_NOWARN callers such as hugetlb,
/// a log that lost its lines).  For a traced one the state is the model's replay of the
/// trace just before the request, and the alignment the traced one.
struct failure_origin {
  bool traced = false;        ///< the finding's first evidence is the trace's line
  bool state_replayed = false; ///< f.state is the model's replay, not a show_areas line
  bool busy_retried = false;  ///< the trace shows cma_alloc_busy_retry for it
};

/// The kernel parameter that sizes an area, as advice writes it: hugetlb<N> from hugetlb_cma=,
/// the per-node DMA areas (kernel/dma/contiguous.c) pernuma<N> from cma_pernuma= and numa<N>
/// from numa_cma=N:<size> (7.x: also cma_pernuma=), every other area from cma=.
inline std::string size_param(const std::string& area) {
  if (area.rfind("hugetlb", 0) == 0) return "hugetlb_cma=";
  if (area.rfind("pernuma", 0) == 0) return "cma_pernuma=";
  if (area.rfind("numa", 0) == 0 && area.size() > 4) return "numa_cma=" + area.substr(4) + ":<size>";
  return "cma=";
}

/// A node's DMA area is tried first and is not the last word: dma_alloc_contiguous() goes on
/// to the default area when it fails (kernel/dma/contiguous.c 6.1, 7.3.4; the numa-* recordings
/// show it: 29 of 37 pernuma1 failures on 6.1 served by `reserved`).
inline bool is_node_area(const std::string& area) {
  return area.rfind("pernuma", 0) == 0 || (area.rfind("numa", 0) == 0 && area.size() > 4);
}

inline finding of_failure_in_area(const field_report& r, const field_failure& f, const profile& p, const failure_origin& org);

/// One failure → a finding (before grouping).
inline finding of_failure(const field_report& r, const field_failure& f, const profile& p, const failure_origin& org = {}) {
  finding out = of_failure_in_area(r, f, p, org);
  if (is_node_area(f.area))
    out.explanation += "; " + f.area + " is a node's area: dma_alloc_contiguous() then tries the default area, so the "
                       "buffer may still have been served from there (a failure there would follow this one)";
  return out;
}

inline finding of_failure_in_area(const field_report& r, const field_failure& f, const profile& p, const failure_origin& org) {
  finding out;
  out.area = f.area;
  out.count = f.count;
  out.err = f.err;
  out.occurrences = 1;
  out.first = out.last = f.where.time;
  out.during_boot = during_boot(r, f.where);
  out.ev.push_back(at(f.where));
  if (f.state && !org.state_replayed) out.ev.push_back(at(f.state->where));
  if (f.burst && *f.burst < r.bursts.size()) out.ev.push_back(at(r.bursts[*f.burst].first));
  for (const auto& d : f.drivers) out.ev.push_back(at(d.where));
  if (f.fallback_failed) out.fallback = "tried and failed (a page allocation failure follows)";
  const field_area* a = area_of(r, f.area);
  std::optional<page_count> total;
  if (f.state) total = f.state->total;
  else if (a && a->count) total = *a->count;
  out.align = f.logged_align ? *f.logged_align : dma_align_for(f.count);
  out.align_source = org.traced      ? "traced (cma_alloc_start)"
                     : f.logged_align ? "logged (the pr_debug call line)"
                                      : "assumed: the DMA layer's alignment for this size";
  const std::string state_words = org.state_replayed ? " (the area's state: the model's replay of the trace up to this request)" : "";
  const std::string param = size_param(f.area);
  std::string drivers;
  for (const auto& d : f.drivers) drivers += (drivers.empty() ? "" : ", ") + d.driver;
  const std::string who = drivers.empty() ? "" : " (asked by " + drivers + ")";

  if (total && f.count > *total) {
    out.c = cause::too_large;
    out.explanation = "the request of " + std::to_string(f.count) + " pages" + who + " is larger than the whole area (" +
                      std::to_string(*total) + " pages): no occupancy could serve it";
    if (org.traced && !p.too_large_is_reported)
      out.explanation += "; this kernel (≤6.14) prints no failure line for it: only the trace's cma_alloc_start, "
                         "with no cma_alloc_finish, shows it";
    out.advice = param + " of at least " + mib(f.count) + " (plus what else the area holds), or a smaller buffer";
    return out;
  }
  // Smaller than the area, but no window of it at this alignment fits in the area even empty:
  // the base is not aligned enough (6.1 arm64 puts its 1 GiB hugetlb area at a base that is
  // not 1 GiB aligned, so a 1 GiB page never fits).  The model's search on an empty area says so.
  if (total && a && a->base && f.count <= *total) {
    const pfn_t b = *a->base >> page_shift;
    const field_snapshot empty{{{*total, 0}}, *total, *total, f.where};
    if (!search(empty, f.count, *out.align, b, p).fits) {
      out.c = cause::too_large;
      out.explanation = "no window of " + std::to_string(f.count) + " pages" + who + " aligned to " +
                        std::to_string(page_count{1} << std::min(*out.align, 63u)) + " pages fits in the area (" +
                        std::to_string(*total) + " pages from pfn " + cma::detail::hex(b) +
                        ") even with every page free: its base is not aligned enough for this request";
      out.advice = "place the area on a " + mib(page_count{1} << std::min(*out.align, 40u)) +
                   " boundary, or make it larger by the misalignment; a different occupancy will not help";
      return out;
    }
  }
  // 6.15+ starts cma_range_alloc's ret at -EBUSY: a search that found no window also ends in
  // -EBUSY (profile::no_space_errno).  There, -EBUSY alone is busy only if the state shows a
  // window the search could have taken, or busy retries were seen.
  const pfn_t base0 = a && a->base ? *a->base >> page_shift : 0;
  bool busy = f.err == ebusy || (f.burst && !f.state);
  const bool busy_ambiguous = f.err == ebusy && p.no_space_errno == ebusy && !f.burst && !org.busy_retried;
  if (busy_ambiguous && f.state && !search(*f.state, f.count, *out.align, base0, p).fits) busy = false;
  if (busy && busy_ambiguous && !f.state) busy = false;
  if (busy) {
    out.c = cause::busy;
    out.explanation = "-EBUSY: a window of " + std::to_string(f.count) + " pages" + who +
                      " was found, but pages in every window tried could not be migrated or isolated";
    if (f.burst && *f.burst < r.bursts.size()) out.explanation += "; " + burst_text(r.bursts[*f.burst]);
    if (f.state && total && f.state->free + f.count >= *total)
      out.explanation += "; the area was otherwise free: the size is not the problem";
    out.advice = "not a size problem: look for pinned or unmovable pages in the area (get_user_pages pins, "
                 "drivers holding pages, page cache under writeback); a larger cma= will not help";
    return out;
  }
  if (!f.state) {
    out.c = cause::no_window;
    out.explanation = "-ENOMEM for " + std::to_string(f.count) + " pages" + who +
                      ", and the log does not show the area's occupancy at that moment";
    if (total) out.explanation += "; the area has " + std::to_string(*total) + " pages (" + mib(*total) + ")";
    if (r.cma_free_kb) out.explanation += "; a meminfo line says CmaFree " + std::to_string(*r.cma_free_kb) + " kB";
    if (f.err == ebusy && p.no_space_errno == ebusy)
      out.explanation += "; on 6.15+ -EBUSY is also what a search that found no window returns, so this is not "
                         "necessarily a busy page";
    out.advice = capture_advice();
    return out;
  }
  const pfn_t base = a && a->base ? *a->base >> page_shift : 0;
  const auto v = search(*f.state, f.count, *out.align, base, p);
  const std::string where_base = a && a->base ? "" : " (the area's base is not in the log: an aligned base assumed)";
  // 6.15+ ends a search that found no window in -EBUSY (profile::no_space_errno).
  const std::string no_space = f.err == ebusy ? "-EBUSY (6.15+'s no-space errno)" : "-ENOMEM";
  if (v.free < f.count) {
    out.c = cause::exhausted;
    out.explanation = no_space + ": " + std::to_string(v.free) + " pages free for a request of " + std::to_string(f.count) +
                      who + ": the area was full";
  } else {
    out.c = cause::fragmented;
    out.explanation = no_space + " with " + std::to_string(v.free) + " pages free, but the largest free run is " +
                      std::to_string(v.largest_run) + " pages and the largest window at order " + std::to_string(*out.align) +
                      " alignment " + std::to_string(v.largest_aligned) + " pages, for a request of " +
                      std::to_string(f.count) + who + ": fragmented, not full";
    if (v.fits)
      out.explanation += " (the model's search on this state finds a window: the state was printed after the "
                         "failure and may already differ)";
  }
  out.explanation += where_base + state_words;
  out.advice = param + " of at least " + mib(*total + v.grow_by) + " (the area " + std::to_string(v.grow_by) +
               " pages larger at its end) would have served this request at that moment";
  if (out.c == cause::fragmented)
    out.advice += "; or allocate the large buffers first / free in the reverse order of allocation";
  return out;
}

inline reservation_why why_of(const field_report& r, const field_reservation& x) {
  using K = field_reservation::kind;
  if (x.what == K::boundary) return reservation_why::boundary;
  if (x.what == K::incorrect_alignment) return reservation_why::alignment;
  // A boundary or alignment line just before a "Failed to reserve" says why it failed.
  for (const auto& o : r.reservations) {
    if (&o == &x) break;
    if (o.where.file == x.where.file && x.where.line >= o.where.line && x.where.line - o.where.line <= 3) {
      if (o.what == K::boundary) return reservation_why::boundary;
      if (o.what == K::incorrect_alignment) return reservation_why::alignment;
    }
  }
  if (r.ram_kb && x.mib && *x.mib * 1024 >= *r.ram_kb) return reservation_why::too_large;
  return reservation_why::unknown;
}

/// The boot model's verdict on the log's own boot (its command line, RAM, version), when the
/// log gives all three: the default area's failure, in reservation_why's words.
struct boot_check {
  reservation_why why = reservation_why::unknown;
  std::string detail;                  ///< the boot model's warning
  std::optional<std::string> accepted; ///< a cma= the model accepts on the same machine
};

inline std::optional<boot_report> boot_of(const field_report& r, const std::string& cma_value) {
  if (!r.cmdline || !r.ram_kb || !r.version) return std::nullopt;
  boot_config c;
  c.kernel = *r.version;
  c.ram_size = *r.ram_kb * 1024;
  std::string cmd;
  for (const auto& w : split_cmdline(*r.cmdline))
    if (w.name != "cma") cmd += (cmd.empty() ? "" : " ") + w.name + (w.value ? "=" + *w.value : std::string());
  c.cmdline = cmd + " cma=" + cma_value;
  return simulate_boot(c);
}

inline std::optional<boot_check> cross_check_boot(const field_report& r) {
  if (!r.cmdline || !r.ram_kb || !r.version) return std::nullopt;
  std::optional<std::string> cma;
  for (const auto& w : split_cmdline(*r.cmdline))
    if (w.name == "cma" && w.value) cma = *w.value;
  if (!cma) return std::nullopt;
  const auto rep = boot_of(r, *cma);
  if (!rep || rep->error) return std::nullopt;
  for (const auto& a : rep->areas) {
    if (!a.is_default || a.decl.ok()) continue;
    boot_check b;
    std::string w = a.warnings.empty() ? std::string() : a.warnings.front();
    b.detail = w;
    std::string lines;
    for (const auto& l : a.decl.lines) lines += l + "\n";
    const std::uint64_t ram_end = (rep->a == arch::arm64 ? 0x40000000ULL : 0) + rep->ram_size;
    if (lines.find("exceeds limit") != std::string::npos) {
      b.why = a.decl.requested_base >= ram_end ? reservation_why::outside_ram : reservation_why::limit;
      if (w.empty()) b.detail = lines.substr(0, lines.find('\n'));
      if (b.why == reservation_why::outside_ram) b.detail += " (the base lies above the end of RAM)";
    } else if (w.find("overlaps") != std::string::npos) b.why = reservation_why::overlap;
    else if (w.find("boundary") != std::string::npos) b.why = reservation_why::boundary;
    else if (w.find("no free") != std::string::npos) b.why = reservation_why::too_large;
    else if (w.find("limit") != std::string::npos) b.why = reservation_why::limit;
    else if (w.find("RAM") != std::string::npos || w.find("outside") != std::string::npos) b.why = reservation_why::outside_ram;
    else if (a.decl.ret == einval) b.why = reservation_why::alignment;
    // What the same machine accepts: the size without its fixed base, then halving it.
    const auto at = cma->find('@');
    std::vector<std::string> tries;
    if (at != std::string::npos) tries.push_back(cma->substr(0, at));
    const auto mb = memparse(cma->substr(0, at));
    for (std::uint64_t m = (mb.value >> 20) / 2; m >= 4 && tries.size() < 12; m /= 2) tries.push_back(std::to_string(m) + "M");
    for (const auto& t : tries) {
      const auto ok = boot_of(r, t);
      if (!ok) break;
      for (const auto& x : ok->areas)
        if (x.is_default && x.decl.ok() && x.activated) {
          b.accepted = "cma=" + t;
          break;
        }
      if (b.accepted) break;
    }
    return b;
  }
  return std::nullopt;
}

/// A "hugetlb_cma: …" warning: the hugetlb area (of that node) was not reserved.  The words
/// are mm/hugetlb.c's (≤6.14) and mm/hugetlb_cma.c's (6.15+); the size rules differ: 6.1 and
/// 6.12 ask for "at least" the gigantic page size and round a larger size up, 7.x asks for a
/// multiple of it (checked on Debian's 6.1, 6.12 and 7.3: tests/data/boot/hugetlb/).
inline finding of_hugetlb_rejection(const field_reservation& x, finding f) {
  f.c = cause::reservation_failed;
  const auto has = [&](const char* w) { return x.text.find(w) != std::string::npos; };
  const std::string size = x.mib ? std::to_string(*x.mib) + " MiB" : std::string("the gigantic page size");
  f.explanation = "no hugetlb CMA area" + (x.node ? " on node " + std::to_string(*x.node) : std::string()) +
                  ": the kernel said \"" + x.text + "\"";
  if (has("multiple of")) {
    f.why = reservation_why::alignment;
    f.advice = "give hugetlb_cma= a multiple of " + size + " (the largest gigantic page: 1 GiB with 4 KiB pages), "
               "e.g. hugetlb_cma=" + (x.mib ? std::to_string(*x.mib) + "M" : std::string("1G"));
  } else if (has("at least")) {
    f.why = reservation_why::limit;
    f.advice = "give hugetlb_cma= at least " + size + "; this kernel rounds a larger size up to a multiple of it";
  } else if (has("spans zones")) {
    f.why = reservation_why::boundary;
    f.advice = "the area would cross a zone boundary (ZONE_DMA32/ZONE_NORMAL): a smaller hugetlb_cma=, or more RAM "
               "above 4 GiB so it lands wholly in one zone";
  } else if (has("reservation failed")) {
    f.why = reservation_why::too_large;
    f.advice = "memblock found no aligned free range that large on the node: a smaller hugetlb_cma= (or more RAM); "
               "`cmasim boot --kernel <version> --mem <RAM> --cmdline 'hugetlb_cma=…'` shows what fits";
  } else if (has("invalid node")) {
    f.why = reservation_why::outside_ram;
    f.advice = "name only nodes the machine has in hugetlb_cma=<node>:<size>,…";
  } else {
    f.why = reservation_why::unknown;
    f.advice = "see mm/hugetlb_cma.c (6.15+) or mm/hugetlb.c for this message";
  }
  return f;
}

inline finding of_reservation(const field_report& r, const field_reservation& x) {
  using K = field_reservation::kind;
  finding f;
  f.occurrences = 1;
  f.ev.push_back(at(x.where));
  f.first = f.last = x.where.time;
  f.area = x.name.empty() ? "reserved" : x.name;
  switch (x.what) {
  case K::bypass_dt:
    f.c = cause::cmdline_overrides_dt;
    f.area = "linux,cma";
    f.explanation = "the command line's cma= bypassed the device tree's linux,cma node: the DT pool is not used";
    f.advice = "remove cma= from the kernel command line to use the DT pool, or set the size you want in cma=";
    return f;
  case K::matching_fail:
  case K::node_alloc_failed:
    f.c = cause::reservation_failed;
    f.why = x.what == K::matching_fail ? reservation_why::unknown : reservation_why::overlap;
    f.explanation = x.what == K::matching_fail
                        ? "the reserved-memory node " + x.name + " matched no driver: it is not a CMA area"
                        : "the kernel could not allocate memory for the reserved-memory node " + x.name;
    f.advice = "check the node's compatible (shared-dma-pool), size, alignment and alloc-ranges against the RAM map";
    return f;
  case K::hugetlb_rejected: return of_hugetlb_rejection(x, std::move(f));
  case K::incompatible:
    f.c = cause::reservation_failed;
    f.why = reservation_why::unknown;
    f.explanation = "a range of area " + x.name + " was skipped as incompatible for a request (6.15+)";
    f.advice = "a multi-range area serves a request only from one range that fits it";
    return f;
  default: break;
  }
  f.c = cause::reservation_failed;
  f.why = why_of(r, x);
  std::optional<boot_check> bc;
  if (x.what == K::failed) bc = cross_check_boot(r);
  if (bc && *f.why == reservation_why::unknown) f.why = bc->why;
  if (x.what == K::boundary) {
    f.explanation = "the kernel rejected the area at " + cma::detail::hex(x.base.value_or(0)) +
                    " because it lies across the low/high memory boundary at " + cma::detail::hex(x.boundary.value_or(0));
    f.advice = "place it wholly below (cma=SIZE@BASE with BASE + SIZE <= " + cma::detail::hex(x.boundary.value_or(0)) +
               ") or wholly above the boundary, or let the kernel place it (no @BASE)";
  } else if (x.what == K::incorrect_alignment) {
    f.explanation = "the reserved-memory CMA region is not aligned as CMA needs (pageblock / MAX_ORDER)";
    f.advice = "align the node's base and size to 4 MiB (≤ 5.18) or to the pageblock size (5.19+)";
  } else {
    f.explanation = "the kernel could not reserve " + (x.mib ? std::to_string(*x.mib) + " MiB" : std::string("the area")) +
                    (x.node ? " on node " + std::to_string(*x.node) : std::string());
    const field_reservation* bl = nullptr; // the boundary line printed just before (4.x/5.x 32-bit)
    for (const auto& o : r.reservations)
      if (o.what == K::boundary && o.where.file == x.where.file && o.where.line < x.where.line &&
          x.where.line - o.where.line <= 3)
        bl = &o;
    switch (*f.why) {
    case reservation_why::boundary:
      f.explanation += ": it crosses the low/high memory boundary";
      if (bl) {
        f.explanation += " at " + cma::detail::hex(bl->boundary.value_or(0)) + " (region at " + cma::detail::hex(bl->base.value_or(0)) + ")";
        f.advice = "place it wholly below (cma=SIZE@BASE with BASE + SIZE <= " + cma::detail::hex(bl->boundary.value_or(0)) +
                   ") or wholly above the boundary, or let the kernel place it (no @BASE); ";
      }
      break;
    case reservation_why::alignment: f.explanation += ": its alignment is wrong"; break;
    case reservation_why::too_large:
      f.explanation += ": that is as much as or more than all RAM (" + std::to_string(*r.ram_kb / 1024) + " MiB)";
      break;
    default:
      f.explanation += bc && !bc->detail.empty() ? "" : ": the log does not say why";
      break;
    }
    if (bc && !bc->detail.empty())
      f.explanation += "; the boot model, on this log's command line and RAM: " + bc->detail;
    if (bc && bc->accepted) f.advice += bc->accepted.value() + " is accepted on this machine (boot model); ";
    f.advice += "`cmasim boot --kernel <version> --mem <RAM> --cmdline '<your command line>'` shows where the "
                "kernel would place it and which sizes and bases it accepts";
  }
  return f;
}

/// The reservation record of `what` within 3 lines after record i, if any.
inline const field_reservation* next_near(const field_report& r, std::size_t i, field_reservation::kind what) {
  const auto& x = r.reservations[i];
  for (std::size_t j = i + 1; j < r.reservations.size(); ++j) {
    const auto& y = r.reservations[j];
    if (y.where.file != x.where.file || y.where.line > x.where.line + 3) break;
    if (y.what == what) return &y;
  }
  return nullptr;
}
inline const field_reservation* prev_near(const field_report& r, std::size_t i) {
  if (i == 0) return nullptr;
  const auto& x = r.reservations[i];
  const auto& y = r.reservations[i - 1];
  return y.where.file == x.where.file && x.where.line <= y.where.line + 3 ? &y : nullptr;
}
/// A line that only reports the consequence of another one, which carries the finding:
/// a boundary/alignment line followed by its "Failed to reserve" (the failure says why);
/// a "compatible matching fail" after "bypass" (cmdline wins: rmem_cma_setup returns
/// -EBUSY) or after "incorrect alignment" (-EINVAL).
inline bool is_consequence(const field_report& r, std::size_t i) {
  using K = field_reservation::kind;
  const auto& x = r.reservations[i];
  if ((x.what == K::boundary || x.what == K::incorrect_alignment) && next_near(r, i, K::failed)) return true;
  if (x.what == K::matching_fail)
    if (const auto* p = prev_near(r, i); p && (p->what == K::bypass_dt || p->what == K::incorrect_alignment)) return true;
  // hugetlb_cma_reserve: cma_declare_contiguous_nid's "Failed to reserve N MiB on node K", then
  // "hugetlb_cma: reservation failed: err -12, node K" — one failure, the hugetlb area's.
  if (x.what == K::failed)
    if (const auto* h = next_near(r, i, K::hugetlb_rejected); h && h->text.find("reservation failed") != std::string::npos)
      return true;
  return false;
}

inline bool same_group(const finding& a, const finding& b) {
  return a.c == b.c && a.area == b.area && a.count == b.count && a.err == b.err && a.why == b.why;
}

inline void add(std::vector<finding>& out, finding f) {
  for (auto& g : out)
    if (same_group(g, f)) {
      g.occurrences += f.occurrences;
      if (f.first && (!g.first || *f.first < *g.first)) g.first = f.first;
      if (f.last && (!g.last || *f.last > *g.last)) g.last = f.last;
      for (auto& e : f.ev)
        if (g.ev.size() < max_evidence) g.ev.push_back(e);
      if (f.fallback != g.fallback && f.fallback.rfind("tried", 0) == 0) g.fallback = f.fallback;
      return;
    }
  out.push_back(std::move(f));
}

/// Does the failure line `f` report the traced failed allocation `o`?  The same area (a
/// failure line without a name, ≤5.11, is the default area's) and count, printed between the
/// allocation's start and just after its finish (6.12+ prints it before tracing the finish,
/// 6.1 right after: mm/cma.c cma_alloc).
inline bool reports(const field_failure& f, const op_record& o) {
  if (f.count != o.count || (!f.area.empty() && !o.area.empty() && f.area != o.area)) return false;
  // The replay paired them already (cross_check.hpp, kmsg_replay.hpp): that line and no other.
  if (o.also_reported && o.also_reported->file == f.where.file && o.also_reported->line == f.where.line) return true;
  if (!f.where.time || !o.where.time) return true;
  const double began = o.start_time.value_or(*o.where.time);
  return *f.where.time + 1e-6 >= began && *f.where.time <= *o.where.time + failure_line_after_finish;
}

/// The log's failure lines, and the trace's failed allocations no line reports, each with
/// where it came from.  A line that reports a traced failure takes, when it has no
/// show_areas state of its own, the model's state before that allocation.
inline std::vector<std::pair<field_failure, failure_origin>> failures_with_trace(const replay_report& rep,
                                                                                 const field_report& r, diagnosis& d) {
  std::vector<std::pair<field_failure, failure_origin>> out;
  for (const auto& f : r.failures) out.push_back({f, {}});
  std::size_t next = 0; // lines and traced failures come in the same order
  for (const auto& o : rep.failed_allocations()) {
    ++d.traced_failures;
    if (o.result == verdict::diverged) continue; // the model's state is not the kernel's
    std::size_t i = next;
    while (i < r.failures.size() && !reports(r.failures[i], o)) ++i;
    failure_origin org;
    org.busy_retried = !o.observed_busy.empty();
    if (i < r.failures.size()) {
      next = i + 1;
      auto& [f, fo] = out[i];
      fo.busy_retried = org.busy_retried;
      if (!f.logged_align) f.logged_align = o.align;
      if (!f.state && o.state_before) f.state = o.state_before, fo.state_replayed = true;
      continue;
    }
    field_failure f;
    f.area = o.area;
    f.count = o.count;
    f.err = o.observed_err.value_or(o.predicted_err);
    f.where = o.where;
    f.logged_align = o.align;
    f.state = o.state_before;
    ++d.traced_unreported;
    org.traced = true;
    org.state_replayed = f.state.has_value();
    out.push_back({std::move(f), org});
  }
  return out;
}

} // namespace detail_diag

/// The findings of one replay's report.
inline diagnosis diagnose(const replay_report& rep) {
  using namespace detail_diag;
  diagnosis d;
  const kernel_version kv =
      rep.field.version ? *rep.field.version : kernel_version::parse(rep.kernel).value_or(kernel_version{6, 1, 0});
  field_report r = rep.field; // the version the replay settled on when no banner gave one
  if (!r.version) {
    r.version = kv;
    if (!r.reservations.empty()) d.notes.push_back("no kernel banner: the boot model assumed " + kv.str());
  }
  const profile p = profile::for_version(kv);
  if (r.version)
    if (auto n = profile::older_than_modelled_note(*r.version)) d.notes.push_back(*n);
  for (const auto& a : r.areas)
    d.areas.push_back({a.name, a.base, a.count ? std::optional<std::uint64_t>(*a.count << page_shift) : std::nullopt,
                       a.source});
  if (d.areas.empty() && r.memory_cma_reserved_kb)
    d.areas.push_back({"(all areas)", std::nullopt, *r.memory_cma_reserved_kb * 1024, "Memory: … cma-reserved"});
  else if (d.areas.empty() && r.cma_total_kb)
    d.areas.push_back({"(all areas)", std::nullopt, *r.cma_total_kb * 1024, "CmaTotal"});

  std::vector<finding> first, rest;
  for (std::size_t i = 0; i < r.reservations.size(); ++i) {
    const auto& x = r.reservations[i];
    if (is_consequence(r, i)) continue;
    if (x.what == field_reservation::kind::incompatible) { // 6.15+: context for a failure, not a failure
      d.notes.push_back("area " + x.name + ": a range at " + cma::detail::hex(x.base.value_or(0)) +
                        " was skipped as incompatible for an allocation (6.15+ multi-range areas)");
      continue;
    }
    auto f = of_reservation(r, x);
    // DT: "incorrect alignment of CMA region" is followed by the node's "compatible matching
    // fail" (rmem_cma_setup returned -EINVAL): one finding, on that node.
    if (x.what == field_reservation::kind::incorrect_alignment)
      if (const auto* n = next_near(r, i, field_reservation::kind::matching_fail)) f.area = n->name;
    add(first, std::move(f));
  }
  for (const auto& [f, org] : failures_with_trace(rep, r, d)) add(rest, of_failure(r, f, p, org));
  if (rep.count_of(verdict::diverged))
    d.notes.push_back(std::to_string(rep.count_of(verdict::diverged)) +
                      " traced operations diverged from the model: failures among them are diagnosed from the log's "
                      "lines only (`cmasim replay` shows where)");
  if (rep.ops_not_kept)
    d.notes.push_back(std::to_string(rep.ops_not_kept) + " traced operations beyond the replay's record limit were "
                      "counted, not diagnosed");
  if (r.failures_total > r.failures.size())
    d.notes.push_back(std::to_string(r.failures_total - r.failures.size()) + " more failure lines were counted, not kept");
  // "N callbacks suppressed": at least N failures more, spread over the failure findings.
  if (r.suppressed_failures) {
    bool given = false;
    for (auto& f : rest)
      if (is_failure(f.c) && !given) f.suppressed = r.suppressed_failures, given = true;
    if (!given) d.notes.push_back("cma_alloc: " + std::to_string(r.suppressed_failures) + " callbacks suppressed");
  }
  // Busy bursts no failure followed: the allocation moved past them.
  finding retries;
  retries.c = cause::busy_retries;
  std::string first_burst;
  for (const auto& b : r.bursts) {
    if (b.followed_by_failure) continue;
    if (first_burst.empty()) first_burst = burst_text(b);
    retries.occurrences += 1;
    if (!retries.first) retries.first = b.first.time;
    retries.last = b.last.time;
    if (retries.ev.size() < max_evidence) retries.ev.push_back(at(b.first));
  }
  if (retries.occurrences) {
    retries.area = r.areas.empty() ? "" : r.areas.front().name;
    retries.suppressed = r.suppressed_busy;
    retries.explanation = std::to_string(retries.occurrences) + " burst(s) of busy windows (PFNs busy) with no failure "
                          "after them: the allocation moved past the pages it could not migrate (first: " + first_burst + ")";
    retries.advice = "noise unless a failure or a latency complaint comes with it";
    rest.push_back(std::move(retries));
  }
  for (const auto& dl : r.drivers) {
    finding f;
    f.c = cause::driver_failure;
    f.area = dl.driver;
    f.occurrences = 1;
    f.first = f.last = dl.where.time;
    f.ev.push_back(at(dl.where));
    if (dl.bytes) f.count = (*dl.bytes + 4095) / 4096;
    f.explanation = dl.driver + " reports a failed contiguous allocation" +
                    (dl.bytes ? " of " + std::to_string(*dl.bytes) + " bytes" : std::string()) +
                    " and no CMA failure line is beside it";
    f.advice = "the buffer may not have been asked of CMA (no area for the device, a size the DMA layer serves "
               "elsewhere), or the CMA line was rate-limited or filtered out of this log";
    add(rest, std::move(f));
  }
  // After the reservations, in the order they first appear in the input: by time when
  // every finding has one (a dmesg and a trace side by side), else by file and line.
  const bool all_timed = std::all_of(rest.begin(), rest.end(), [](const finding& f) { return f.first.has_value(); });
  std::stable_sort(rest.begin(), rest.end(), [all_timed](const finding& a, const finding& b) {
    if (all_timed) return *a.first < *b.first;
    const auto key = [](const finding& f) {
      return f.ev.empty() ? std::pair<unsigned, std::uint64_t>{~0u, 0} : std::pair{f.ev.front().file, f.ev.front().line};
    };
    return key(a) < key(b);
  });
  d.findings = std::move(first);
  for (auto& f : rest) d.findings.push_back(std::move(f));
  return d;
}

} // namespace cma::diagnose
