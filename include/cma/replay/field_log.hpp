// cma/replay/field_log.hpp — what a field log says about CMA, gathered line by line.
//
// The logs users paste (../shared/LOGS-IN-THE-WILD.md) rarely have trace events: they have
// failure lines, show_areas dumps, `PFNs busy` bursts, boot reservation lines and driver
// lines.  field_log collects them from the replay's events (every event the replayer
// takes passes here first) into a field_report: every area the log declares, each failed
// allocation with what the lines around it say (the show_areas state printed after it,
// the pr_debug call line before it, a page-allocator WARN after it, the driver line that
// names it), the busy bursts, the rate limiter's "callbacks suppressed", and the boot's
// reservation problems.  cma/diagnose/ turns the report into causes; this file only reads.
//
// Pairing rules (lines of the same input file, in order; "near" = within `near_lines`):
//   * show_areas after a failure of the same area belongs to it (unrelated lines can
//     interleave: LOGS-IN-THE-WILD #26); 6.15+'s per-range lines are joined first;
//   * a call line `cma_alloc(cma …, count N, align A)` before a failure of count N gives
//     the alignment that was asked (exact, not assumed);
//   * a `page allocation failure` / page_alloc WARNING after a failure: the DMA layer's
//     fallback to the page allocator was tried and failed;
//   * a driver line near a failure whose byte size rounds up to its req-size (or that
//     gives no size) names its caller; one with no failure near is kept on its own;
//   * PFNs busy / test_pages_isolated lines close together form one attempt (a burst); a
//     failure right after a burst was caused by it.
// Area names (as failure lines and trace events name them): a "cma: Reserved N MiB at …"
// line (or 6.15+ "Reserved N MiB in R range[s]", no base) whose next event is
// "hugetlb_cma: reserved N MiB on node K" declared the area hugetlb<K> (hugetlb_cma_reserve
// declares, then prints) — never the default area, whichever comes first (6.1 and 6.12
// print the hugetlb area's line before the default one's, 6.15+ arm64 after).  Any other
// plain "… at …" line is the default area ("reserved") or a node's area (pernuma<N> /
// numa<N>), as node_areas.hpp names them from the lines' order once the whole log is read;
// a "… in R range[s]" line no hugetlb line claims is "(multi-range area)".
// Bounds: at most max_failures failures and max_bursts bursts are kept (all are counted),
// each burst keeps its first max_windows windows: memory does not grow with the log.
// Pure: no I/O.
#pragma once

#include "../formats/event.hpp"
#include "../kernel_version.hpp"
#include "node_areas.hpp"
#include "../types.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cma {

/// An area as the log declares it.
struct field_area {
  std::string name;                  ///< as failure lines name it ("reserved", "linux,cma", …)
  std::optional<std::uint64_t> base; ///< physical address
  std::optional<page_count> count;   ///< pages
  std::string source;                ///< the line kind it came from, in words
  ev::source where;
  bool is_default = false;           ///< the area failure lines without a name belong to (≤ 5.11)
};

/// The free runs cma_debug_show_areas printed (pages@bit, as the kernel prints them).
struct field_snapshot {
  std::vector<ev::show_areas::run> runs;
  std::uint64_t free = 0, total = 0;
  ev::source where;
};

struct field_driver_line {
  std::string driver;
  std::optional<std::uint64_t> bytes;
  ev::source where;
};

/// One `alloc failed, req-size: N pages, ret: E` line and its neighbours.
struct field_failure {
  std::string area;
  page_count count = 0;
  int err = 0;
  ev::source where;
  std::optional<field_snapshot> state;          ///< show_areas printed after it
  std::optional<unsigned> logged_align;         ///< from the pr_debug call line before it
  bool fallback_failed = false;                 ///< a page-allocator failure/WARN followed it
  std::vector<field_driver_line> drivers;       ///< driver lines that name it
  std::optional<std::size_t> burst;             ///< index into field_report::bursts
};

/// PFNs busy (or 3.x isolation failed) lines close together: one allocation attempt.
struct field_burst {
  struct window {
    pfn_t start = 0, end = 0;
  };
  std::vector<window> windows;  ///< the first max_windows
  std::uint64_t n = 0;          ///< all of them
  ev::source first, last;
  bool followed_by_failure = false;
  bool isolation = false;       ///< 3.x test_pages_isolated lines
};

struct field_reservation {
  enum class kind {
    failed, boundary, incorrect_alignment, bypass_dt, matching_fail, node_alloc_failed, incompatible,
    hugetlb_rejected, ///< a "hugetlb_cma: " warning: no hugetlb area (on that node) was reserved
  };
  kind what = kind::failed;
  std::optional<std::uint64_t> mib, base, boundary;
  std::optional<int> node;
  std::string name;  ///< the area or DT node ("hugetlb<K>" when a hugetlb line names the node, else "hugetlb")
  std::string text;  ///< hugetlb_rejected: the kernel's words after "hugetlb_cma: "
  ev::source where;
};

struct field_report {
  std::vector<field_area> areas;
  std::vector<field_failure> failures;
  std::uint64_t failures_total = 0;             ///< lines seen (failures keeps the first max_failures)
  std::vector<field_burst> bursts;
  std::uint64_t bursts_total = 0;
  std::vector<field_reservation> reservations;
  std::vector<field_driver_line> drivers;       ///< driver lines no failure claimed
  std::uint64_t suppressed_failures = 0;        ///< "cma_alloc: N callbacks suppressed", summed
  std::uint64_t suppressed_busy = 0;            ///< "alloc_contig_range: N callbacks suppressed", summed
  std::vector<ev::source> suppressed_where;
  std::optional<std::uint64_t> cma_total_kb, cma_free_kb, memory_cma_reserved_kb, ram_kb;
  std::optional<std::string> cmdline;
  std::optional<ev::source> boot_done;          ///< the first "Run /init" / "Freeing unused kernel memory" line
  std::optional<kernel_version> version;
  std::vector<field_snapshot> lone_snapshots;   ///< show_areas with no failure before it
  bool has_trace = false;                       ///< the input had trace events too
};

class field_log {
public:
  static constexpr std::size_t max_failures = 10000, max_bursts = 1000, max_windows = 64;
  static constexpr std::uint64_t near_lines = 20;

  /// A kmsg/recorder event (trace events only say there was a trace: saw_trace()).
  void on(const ev::event& e, const ev::source& where) {
    // A Reserved line waits for the next event: "hugetlb_cma: reserved … on node K" names it.
    // (cma_declare_contiguous's pr_debug lines may come between: they do not end the wait.)
    if (pending_reserved_ && !std::holds_alternative<ev::hugetlb_cma_reserved>(e) &&
        !std::holds_alternative<ev::boot_debug>(e))
      commit_reserved();
    std::visit([&](const auto& x) { see(x, where); }, e);
  }
  void saw_trace() noexcept { r_.has_trace = true; }

  field_report result() && {
    commit_reserved();
    name_plain_lines();
    close_ranges();
    return std::move(r_);
  }
  const field_report& report() const noexcept { return r_; }

private:
  // ---- areas
  field_area& area(const std::string& name, const std::string& source, const ev::source& w) {
    for (auto& a : r_.areas)
      if (a.name == name) return a;
    r_.areas.push_back({name, std::nullopt, std::nullopt, source, w, false});
    return r_.areas.back();
  }
  field_area& default_area(const std::string& source, const ev::source& w) {
    for (auto& a : r_.areas)
      if (a.is_default) return a;
    // A DT default pool is "linux,cma"; the cmdline/Kconfig one "reserved".  Until a line
    // says which, the default area is "reserved".
    auto& a = area("reserved", source, w);
    a.is_default = true;
    return a;
  }

  // A Reserved line, until the event after it says whose area it declared.
  struct reserved_line {
    std::uint64_t mib = 0;
    std::optional<std::uint64_t> base; ///< none in the 6.15+ "in R range[s]" form
    std::optional<int> node;
    unsigned ranges = 0;               ///< the "in R range[s]" form (0: "at <base>")
    ev::source where;
  };
  void see(const ev::reserved& x, const ev::source& w) {
    commit_reserved();
    pending_reserved_ = reserved_line{x.mib, x.base, x.node, 0, w};
  }
  std::vector<reserved_line> plain_; ///< committed plain Reserved lines, named at the end
  void see(const ev::reserved_ranges& x, const ev::source& w) {
    commit_reserved();
    pending_reserved_ = reserved_line{x.mib, std::nullopt, std::nullopt, x.ranges, w};
  }
  void see(const ev::hugetlb_cma_reserved& x, const ev::source& w) {
    const std::string name = "hugetlb" + std::to_string(x.node);
    if (pending_reserved_ && pending_reserved_->where.file == w.file) {
      auto& a = area(name, "cma: Reserved line + hugetlb_cma: reserved", pending_reserved_->where);
      a.base = pending_reserved_->base;
      a.count = pending_reserved_->mib * 256;
      a.source = pending_reserved_->ranges ? "cma: Reserved … in range line + hugetlb_cma: reserved"
                                           : "cma: Reserved line + hugetlb_cma: reserved";
      a.where = pending_reserved_->where;
      a.is_default = false;
      pending_reserved_.reset();
      return;
    }
    commit_reserved();
    // no Reserved line just before it (cut log, cma.c's info lines filtered out): the size only
    auto& a = area(name, "hugetlb_cma: reserved", w);
    if (!a.count) a.count = x.mib * 256;
  }
  void commit_reserved() {
    if (!pending_reserved_) return;
    const reserved_line x = *pending_reserved_;
    pending_reserved_.reset();
    const ev::source& w = x.where;
    if (!x.ranges) { // the default area's or a node's: the lines' order says which (at the end)
      if (plain_.size() >= replay_detail::boot_facts_max_declared) return; // boot_facts.hpp: no kernel has more
      // A placeholder keeps the area's place in the list (log order) until it is named.
      r_.areas.push_back({placeholder(plain_.size()), x.base, x.mib * 256, "cma: Reserved line", x.where, false});
      plain_.push_back(x);
      return;
    }
    auto& a = area("(multi-range area)", "cma: Reserved … in range line", x.where);
    a.base = x.base;
    a.count = x.mib * 256;
    a.where = x.where;
  }
  static std::string placeholder(std::size_t i) { return "\x01plain" + std::to_string(i); }
  // The plain Reserved lines: the default area and the per-node areas (node_areas.hpp).  Each
  // placeholder takes its name, or, when an area of that name is already listed (named by a
  // failure line, or the default area an earlier event made), gives it its base and size.
  void name_plain_lines() {
    std::vector<std::optional<int>> nodes;
    for (const auto& x : plain_) nodes.push_back(x.node);
    const kernel_version kv = r_.version.value_or(kernel_version{6, 1, 0});
    const auto naming = replay_detail::name_reserved_lines(
        nodes, kv, r_.cmdline ? parse_early_cma_params(*r_.cmdline, kv) : early_cma_params{});
    for (std::size_t i = 0; i < plain_.size(); ++i) {
      const bool is_default = naming.default_index == i;
      auto ph = std::find_if(r_.areas.begin(), r_.areas.end(), [&](const field_area& a) { return a.name == placeholder(i); });
      if (ph == r_.areas.end()) continue;
      const field_area line = *ph;
      auto same = std::find_if(r_.areas.begin(), r_.areas.end(), [&](const field_area& a) {
        return is_default ? a.is_default || a.name == "reserved" : a.name == naming.names[i];
      });
      if (same == r_.areas.end()) {
        ph->name = is_default ? "reserved" : naming.names[i];
        ph->is_default = is_default;
        continue;
      }
      same->base = line.base;
      same->count = line.count;
      same->is_default = same->is_default || is_default;
      same->source = line.source;
      same->where = line.where;
      r_.areas.erase(std::find_if(r_.areas.begin(), r_.areas.end(), [&](const field_area& a) { return a.name == placeholder(i); }));
    }
    plain_.clear();
  }
  void see(const ev::hugetlb_cma_rejected& x, const ev::source& w) {
    auto& n = reservation(field_reservation::kind::hugetlb_rejected, w);
    n.mib = x.mib;
    n.text = x.message;
    // "… node %d …" in the warning names the node whose hugetlb area was not reserved
    if (auto i = x.message.find("node "); i != std::string::npos) {
      int node = 0;
      const char* b = x.message.data() + i + 5;
      const auto [end, ec] = std::from_chars(b, x.message.data() + x.message.size(), node);
      if (ec == std::errc{} && end != b) n.node = node;
    }
    n.name = n.node && *n.node >= 0 ? "hugetlb" + std::to_string(*n.node) : "hugetlb";
  }
  void see(const ev::rmem_pool& x, const ev::source& w) {
    // "created CMA memory pool" is the DT default area (linux,cma) when the node carries
    // linux,cma-default; its name comes with the `initialized node` line after it.
    pending_pool_ = field_area{"", x.base, x.mib * 256, "Reserved memory: created CMA memory pool", w, false};
  }
  void see(const ev::rmem_reusable& x, const ev::source& w) {
    auto& a = area(x.name, "OF: reserved mem: map reusable", w);
    a.base = x.base;
    a.count = x.kib / 4;
  }
  void see(const ev::rmem_initialized& x, const ev::source& w) {
    if (x.compatible != "shared-dma-pool") return;
    // A shared-dma-pool is CMA only when reusable: "created CMA memory pool" before it (or a
    // "map reusable" line naming it); "created DMA memory pool" makes it a plain DMA pool.
    const bool cma_pool = pending_pool_ || std::any_of(r_.areas.begin(), r_.areas.end(), [&](const field_area& a) {
      return a.name == x.name;
    });
    pending_dma_pool_ = false;
    if (!cma_pool) return;
    field_area& a = area(x.name, "OF: reserved mem: initialized node", w);
    if (pending_pool_) {
      a.base = pending_pool_->base;
      a.count = pending_pool_->count;
      a.source = "Reserved memory: created CMA memory pool";
      pending_pool_.reset();
    }
    if (x.name == "linux,cma") { // the DT default area: failure lines without a name are its
      for (auto& o : r_.areas) o.is_default = false;
      a.is_default = true;
      // a "reserved" placeholder made by an earlier nameless failure is this area
    }
  }
  void see(const ev::rmem_note& x, const ev::source& w) {
    using K = ev::rmem_note::kind;
    field_reservation n;
    n.where = w;
    n.name = x.name;
    switch (x.what) {
    case K::bypass_dt: n.what = field_reservation::kind::bypass_dt; break;
    case K::incorrect_alignment: n.what = field_reservation::kind::incorrect_alignment; break;
    case K::matching_fail: n.what = field_reservation::kind::matching_fail; break;
    case K::node_alloc_failed: n.what = field_reservation::kind::node_alloc_failed; break;
    case K::dma_pool: // not CMA: the node initialized next is a plain DMA pool
      pending_dma_pool_ = true;
      pending_pool_.reset();
      return;
    }
    r_.reservations.push_back(std::move(n));
  }
  field_reservation& reservation(field_reservation::kind k, const ev::source& w) {
    r_.reservations.push_back({});
    r_.reservations.back().what = k;
    r_.reservations.back().where = w;
    return r_.reservations.back();
  }
  void see(const ev::reserve_failed& x, const ev::source& w) {
    auto& n = reservation(field_reservation::kind::failed, w);
    n.mib = x.mib;
    n.node = x.node;
  }
  void see(const ev::reserve_boundary& x, const ev::source& w) {
    auto& n = reservation(field_reservation::kind::boundary, w);
    n.base = x.base;
    n.boundary = x.boundary;
  }
  void see(const ev::incompatible_area& x, const ev::source& w) {
    auto& n = reservation(field_reservation::kind::incompatible, w);
    n.name = x.name;
    n.base = x.start;
  }
  void see(const ev::memory_line& x, const ev::source&) {
    r_.memory_cma_reserved_kb = x.cma_reserved_kb;
    if (x.total_kb) r_.ram_kb = x.total_kb;
  }
  void see(const ev::meminfo& x, const ev::source&) { (x.total ? r_.cma_total_kb : r_.cma_free_kb) = x.kb; }
  void see(const ev::command_line& x, const ev::source&) { r_.cmdline = x.text; }
  void see(const ev::banner& x, const ev::source&) { r_.version = x.version; }
  void see(const ev::boot_done&, const ev::source& w) {
    if (!r_.boot_done) r_.boot_done = w;
  }

  // ---- failures and their neighbours
  void see(const ev::alloc_call& x, const ev::source& w) {
    last_call_ = call{x.count, x.align, w};
  }
  void see(const ev::alloc_failed& x, const ev::source& w) {
    ++r_.failures_total;
    close_ranges();
    field_failure f;
    f.area = x.name ? area(*x.name, "failure line", w).name : default_area("failure line", w).name;
    f.count = x.count;
    f.err = x.ret;
    f.where = w;
    if (last_call_ && last_call_->count == x.count && same_file_near(last_call_->where, w, 1000))
      f.logged_align = last_call_->align;
    if (last_burst_open(w)) {
      auto& b = r_.bursts.back();
      b.followed_by_failure = true;
      f.burst = r_.bursts.size() - 1;
    }
    // a driver line just before it, waiting for its failure
    for (auto it = pending_drivers_.begin(); it != pending_drivers_.end();) {
      if (same_file_near(it->where, w, 3) && bytes_fit(*it, x.count)) {
        f.drivers.push_back(*it);
        it = pending_drivers_.erase(it);
      } else {
        ++it;
      }
    }
    flush_pending_drivers(w);
    if (r_.failures.size() < max_failures) {
      r_.failures.push_back(std::move(f));
      last_failure_ = r_.failures.size() - 1;
    } else {
      last_failure_.reset();
    }
  }
  void see(const ev::show_areas& x, const ev::source& w) { attach({x.runs, x.free, x.total, w}); }
  void see(const ev::show_areas_range& x, const ev::source& w) {
    if (!ranges_) ranges_ = field_snapshot{{}, 0, 0, w};
    ranges_->runs.insert(ranges_->runs.end(), x.runs.begin(), x.runs.end());
  }
  void see(const ev::show_areas_total& x, const ev::source& w) {
    field_snapshot s = ranges_ ? std::move(*ranges_) : field_snapshot{{}, 0, 0, w};
    ranges_.reset();
    s.free = x.free;
    s.total = x.total;
    attach(std::move(s));
  }
  void see(const ev::page_alloc_warning&, const ev::source& w) {
    if (auto* f = recent_failure(w)) f->fallback_failed = true;
  }
  void see(const ev::driver_failure& x, const ev::source& w) {
    if (x.stats) return; // context (vc4's BO statistics), not a failure
    field_driver_line d{x.driver, x.bytes, w};
    if (auto* f = recent_failure(w, 10); f && bytes_fit(d, f->count)) return f->drivers.push_back(std::move(d));
    flush_pending_drivers(w);
    pending_drivers_.push_back(std::move(d));
  }
  void see(const ev::callbacks_suppressed& x, const ev::source& w) {
    if (x.func.find("alloc_contig_range") != std::string::npos) r_.suppressed_busy += x.n;
    else if (x.func.find("cma_alloc") != std::string::npos) r_.suppressed_failures += x.n;
    else return;
    if (r_.suppressed_where.size() < 100) r_.suppressed_where.push_back(w);
  }
  void see(const ev::pfns_busy& x, const ev::source& w) { busy(x.start, x.end, w, false); }
  void see(const ev::isolation_failed& x, const ev::source& w) { busy(x.start, x.end, w, true); }
  template <class T> void see(const T&, const ev::source&) {}

  void busy(pfn_t s, pfn_t e, const ev::source& w, bool isolation) {
    if (!last_burst_open(w)) {
      ++r_.bursts_total;
      if (r_.bursts.size() >= max_bursts) return;
      r_.bursts.push_back({{}, 0, w, w, false, isolation});
    } else if (r_.bursts.size() > max_bursts - 1 && r_.bursts.back().last.line + near_lines < w.line) {
      return;
    }
    auto& b = r_.bursts.back();
    if (b.windows.size() < max_windows) b.windows.push_back({s, e});
    ++b.n;
    b.last = w;
  }
  bool last_burst_open(const ev::source& w) const {
    if (r_.bursts.empty()) return false;
    const auto& b = r_.bursts.back();
    if (!same_file_near(b.last, w, near_lines)) return false;
    if (b.last.time && w.time && *w.time - *b.last.time > 1.0) return false;
    return !b.followed_by_failure;
  }

  void attach(field_snapshot s) {
    if (auto* f = recent_failure(s.where); f && !f->state) {
      f->state = std::move(s);
      return;
    }
    if (r_.lone_snapshots.size() < 100) r_.lone_snapshots.push_back(std::move(s));
  }
  void close_ranges() {
    if (!ranges_) return;
    field_snapshot s = std::move(*ranges_);
    ranges_.reset();
    attach(std::move(s));
  }
  field_failure* recent_failure(const ev::source& w, std::uint64_t within = near_lines) {
    if (!last_failure_) return nullptr;
    auto& f = r_.failures[*last_failure_];
    return same_file_near(f.where, w, within) ? &f : nullptr;
  }
  static bool same_file_near(const ev::source& a, const ev::source& b, std::uint64_t within) {
    return a.file == b.file && b.line >= a.line && b.line - a.line <= within;
  }
  static bool bytes_fit(const field_driver_line& d, page_count count) {
    return !d.bytes || (*d.bytes + 4095) / 4096 == count;
  }
  void flush_pending_drivers(const ev::source& w) {
    for (auto it = pending_drivers_.begin(); it != pending_drivers_.end();) {
      if (!same_file_near(it->where, w, 3)) {
        if (r_.drivers.size() < 1000) r_.drivers.push_back(*it);
        it = pending_drivers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  struct call {
    page_count count = 0;
    unsigned align = 0;
    ev::source where;
  };
  field_report r_;
  std::optional<field_area> pending_pool_;
  std::optional<reserved_line> pending_reserved_;
  bool pending_dma_pool_ = false;
  std::optional<field_snapshot> ranges_;
  std::optional<call> last_call_;
  std::optional<std::size_t> last_failure_;
  std::vector<field_driver_line> pending_drivers_;

public:
  /// End of input: driver lines still waiting had no failure after them.
  void finish() {
    commit_reserved();
    if (pending_pool_) { // a DT pool whose node line never came
      auto& a = area("(DT pool)", pending_pool_->source, pending_pool_->where);
      a.base = pending_pool_->base;
      a.count = pending_pool_->count;
      pending_pool_.reset();
    }
    for (auto& d : pending_drivers_)
      if (r_.drivers.size() < 1000) r_.drivers.push_back(d);
    pending_drivers_.clear();
    close_ranges();
  }
};

} // namespace cma
