// cma/map/timeline.hpp — one area over time, from a replay's op_records: what `cmasim map` draws.
//
// A replay hands every operation's record to replay_options::on_op, in replay order.  The
// timeline is built from them in two passes over the same records:
//   1. map::scope     the time axis (first and last timestamp, or the operation index
//                      when an operation carries none), how many allocations, and the
//                      most common request alignment (the order a fragmentation series
//                      is measured at);
//   2. map::timeline_builder  the spans (each allocation from its cma_alloc to its
//                      cma_release, or to the end), the failed requests, the busy windows
//                      (cma_alloc_busy_retry), and the fragmentation series.
// The builder runs a cma::allocator alongside and applies each operation's observed
// outcome (what the kernel did: mark_allocated at the kernel's pfn, release), so its
// state is the kernel's whatever the model predicted.
//
// Bounded memory, whatever the length of the trace: spans are kept while there are at
// most limits::max_spans of them; every span is also painted into a fixed grid
// (grid_cols × grid_rows cells: the fraction of each cell's page-seconds in use, and the
// size class holding most of it), which is all that is kept past the threshold (`binned`);
// failures likewise per grid column (failure_bins) past limits::max_failures.  The series is sampled every
// ceil(ops / max_samples) operations; failures and busy windows are kept up to their
// limits and all counted.  Live allocations are held by pfn (at most the area's pages).
//
// Y is the page offset in the area: the ranges (6.15+ areas may have several) laid end to
// end in order, range i starting at range_starts[i].  Pure: no I/O, no clock.
#pragma once

#include "../allocator.hpp"
#include "../replay/report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cma::map {

/// Size classes of a span by pages: 1, 2–8, 9–64, 65–512, 513–4096, more (×8 each).
inline constexpr unsigned size_classes = 6;
inline unsigned size_class(page_count pages) {
  unsigned c = 0;
  for (page_count lim = 1; c + 1 < size_classes && pages > lim; lim *= 8) ++c;
  return c;
}
inline const char* size_class_label(unsigned c) {
  static const char* const labels[size_classes] = {"1 page", "2-8 pages", "9-64 pages", "65-512 pages", "513-4096 pages",
                                                   "> 4096 pages"};
  return c < size_classes ? labels[c] : "?";
}

/// Was this record an allocation the kernel refused (a finish or failure line seen)?
/// A start with no finish (a trace cut short) is not.
inline bool failed_allocation(const op_record& o) {
  return o.kind == op_kind::alloc && !o.observed_ok &&
         !(o.result == verdict::unchecked && !o.observed_pfn && !o.observed_err);
}

struct limits {
  std::size_t max_spans = 4096;     ///< spans kept one by one; past it only the grid
  unsigned grid_cols = 600;         ///< cells along time
  unsigned grid_rows = 256;         ///< cells along the area's pages
  std::size_t max_samples = 2000;   ///< fragmentation series points (about)
  std::size_t max_failures = 5000;  ///< failure markers kept (all counted)
  std::size_t max_busy = 5000;      ///< busy windows kept (all counted)
};

/// Pass 1: the time axis and the alignment that matters.
struct scope {
  std::string area;                 ///< only records of this area count ("" = all)
  std::uint64_t ops = 0, allocs = 0;
  bool timed = true;                ///< every operation carried a timestamp: X is seconds
  double t_first = 0, t_last = 0;   ///< seconds, when timed
  bool seen_time = false;
  std::array<std::uint64_t, 64> align_count{}; ///< allocations per align order

  bool counts(const op_record& o) const { return area.empty() || o.area.empty() || o.area == area; }
  void on_op(const op_record& o) {
    if (!counts(o)) return;
    if (!o.where.time && !o.start_time) timed = false;
    for (const auto& t : {o.start_time, o.where.time}) {
      if (!t) continue;
      t_first = seen_time ? std::min(t_first, *t) : *t;
      t_last = seen_time ? std::max(t_last, *t) : *t;
      seen_time = true;
    }
    ++ops;
    if (o.kind == op_kind::alloc) {
      ++allocs;
      ++align_count[std::min<unsigned>(o.align, 63)];
    }
  }
  /// A failure known only from a kernel log line (a field log with no operations):
  /// it widens the time axis.
  void on_failure_line(std::optional<double> t) {
    if (!t) {
      timed = false;
      return;
    }
    t_first = seen_time ? std::min(t_first, *t) : *t;
    t_last = seen_time ? std::max(t_last, *t) : *t;
    seen_time = true;
  }
  /// The most common request alignment (page order); 0 with no allocation.
  unsigned common_align() const {
    return static_cast<unsigned>(std::max_element(align_count.begin(), align_count.end()) - align_count.begin());
  }
};

struct span {
  std::uint64_t offset = 0;        ///< pages from the start of the area (ranges end to end)
  page_count pages = 0;
  double t_alloc = 0, t_release = 0; ///< seconds, or operation index
  bool open_start = false;         ///< released but never seen allocated (before the trace)
  bool open_end = false;           ///< still allocated when the trace ends
  unsigned cls = 0;                ///< size_class(pages)
};
struct failure {
  double t = 0;
  page_count count = 0;
  unsigned align = 0;
  int err = 0;                     ///< the kernel's error code when it printed one, else 0
  ev::source where;
};
struct busy_window {
  double t = 0;
  std::uint64_t offset = 0;        ///< the window alloc_contig_range could not migrate
  page_count pages = 0;
};
struct sample {
  double t = 0;
  page_count free = 0;             ///< free pages
  page_count largest_free = 0;     ///< longest free run (debugfs maxchunk)
  page_count largest_aligned = 0;  ///< longest free window starting at a 2^common_align pfn
};
/// Fraction of each cell's pages × time in use; rows from offset 0, columns from t0.
struct occupancy_grid {
  unsigned cols = 0, rows = 0;
  std::vector<float> cells;          ///< rows × cols, row-major, 0..1
  std::vector<std::uint8_t> dominant; ///< rows × cols: the size class with the most page-time there
  float at(unsigned row, unsigned col) const { return cells[std::size_t(row) * cols + col]; }
  unsigned class_at(unsigned row, unsigned col) const { return dominant[std::size_t(row) * cols + col]; }
};
/// Failed requests in one grid column, when there are too many to mark one by one.
struct failure_bin {
  std::uint64_t count = 0;
  page_count largest = 0;          ///< the largest request that failed there
};

struct timeline {
  std::string area;
  pfn_t base_pfn = 0;
  page_count count = 0;            ///< pages, all ranges
  std::vector<std::uint64_t> range_starts; ///< offset of each range (the first is 0)
  bool seconds = true;             ///< X is seconds (else operation index)
  double t0 = 0, t1 = 1;
  unsigned common_align = 0;
  std::uint64_t ops = 0, allocs = 0, releases = 0, outside = 0; ///< outside: pfns in no range
  page_count peak_used = 0;
  bool binned = false;             ///< spans past max_spans: only the grid holds them
  std::vector<span> spans;         ///< when !binned, every span in the order it closed
  std::uint64_t spans_total = 0;
  occupancy_grid grid;
  std::vector<failure> failures;   ///< each one, unless failures_binned
  std::uint64_t failures_total = 0;
  bool failures_binned = false;    ///< more than limits::max_failures: only failure_bins
  std::vector<failure_bin> failure_bins; ///< per grid column, always
  std::vector<busy_window> busy;
  std::uint64_t busy_total = 0;
  std::vector<sample> series;
};

/// Pass 2.  `geometry` is the area as the replay modelled it (replay_report's base_pfn,
/// count, order_per_bit, kernel), built by the caller; `s` is pass 1 over the same records.
class timeline_builder {
public:
  timeline_builder(allocator geometry, const scope& s, limits l = {}) : area_(std::move(geometry)), scope_(s), lim_(l) {
    tl_.area = area_.name();
    tl_.base_pfn = area_.base_pfn();
    tl_.count = area_.count();
    std::uint64_t at = 0;
    for (const auto& rg : area_.ranges()) tl_.range_starts.push_back(at), at += rg.count;
    tl_.seconds = s.timed && s.seen_time;
    tl_.t0 = tl_.seconds ? s.t_first : 0;
    tl_.t1 = tl_.seconds ? s.t_last : double(s.ops);
    if (!(tl_.t1 > tl_.t0)) tl_.t1 = tl_.t0 + 1;
    tl_.common_align = s.common_align();
    stride_ = std::max<std::uint64_t>(1, (s.ops + lim_.max_samples - 1) / std::max<std::size_t>(1, lim_.max_samples));
    auto& g = tl_.grid;
    g.cols = std::max(1u, lim_.grid_cols), g.rows = std::max(1u, lim_.grid_rows);
    part_.assign(std::size_t(g.rows) * g.cols * size_classes, 0.f);
    full_.assign(std::size_t(g.rows) * (g.cols + 1) * size_classes, 0.f);
    tl_.failure_bins.assign(g.cols, {});
    take_sample(tl_.t0);
  }

  void on_op(const op_record& o) {
    if (!scope_.counts(o)) return;
    const double t = time_of(o);
    ++tl_.ops;
    if (o.kind == op_kind::alloc) {
      ++tl_.allocs;
      for (pfn_t b : o.observed_busy) {
        ++tl_.busy_total;
        if (auto off = offset_of(b); off && tl_.busy.size() < lim_.max_busy)
          tl_.busy.push_back({o.start_time && tl_.seconds ? *o.start_time : t, *off, o.count});
      }
      if (failed_allocation(o)) {
        add_failure({t, o.count, o.align, o.observed_err.value_or(0), o.where});
      } else if (o.observed_ok && o.observed_pfn) {
        if (area_.mark_allocated(*o.observed_pfn, o.count)) live_[*o.observed_pfn] = {t, o.count};
        else ++tl_.outside;
      }
    } else if (o.observed_pfn) {
      ++tl_.releases;
      const pfn_t pfn = *o.observed_pfn;
      if (const auto it = live_.find(pfn); it != live_.end()) {
        close(pfn, std::min(it->second.pages, o.count), it->second.t, t, false, false);
        live_.erase(it);
      } else if (offset_of(pfn)) {
        close(pfn, o.count, tl_.t0, t, true, false); // allocated before the trace began
      } else {
        ++tl_.outside;
      }
      area_.release(pfn, o.count);
    }
    tl_.peak_used = std::max(tl_.peak_used, area_.count() - area_.free_pages());
    last_t_ = t;
    if (++n_ % stride_ == 0 || n_ == scope_.ops) take_sample(t);
  }

  /// A failed request known only from a kernel log line ("alloc failed, req-size: …"),
  /// for a log with no operations; f.t in the timeline's unit (seconds when timed).
  void on_failure_line(failure f) {
    if (!tl_.seconds) f.t = tl_.t0;
    add_failure(f);
  }

  timeline finish() && {
    if (n_ > 0 && n_ % stride_ != 0 && n_ != scope_.ops) take_sample(last_t_); // the scope counted other records
    std::vector<std::pair<pfn_t, live>> rest(live_.begin(), live_.end());
    std::sort(rest.begin(), rest.end(), [](const auto& a, const auto& b) { return a.second.t < b.second.t; });
    for (const auto& [pfn, l] : rest) close(pfn, l.pages, l.t, tl_.t1, false, true);
    auto& g = tl_.grid;
    constexpr unsigned K = size_classes;
    for (unsigned r = 0; r < g.rows; ++r)
      for (unsigned k = 0; k < K; ++k) {
        float run = 0;
        for (unsigned c = 0; c < g.cols; ++c) {
          run += full_[(std::size_t(r) * (g.cols + 1) + c) * K + k];
          part_[(std::size_t(r) * g.cols + c) * K + k] += run;
        }
      }
    g.cells.assign(std::size_t(g.rows) * g.cols, 0.f);
    g.dominant.assign(std::size_t(g.rows) * g.cols, 0);
    for (std::size_t i = 0; i < g.cells.size(); ++i) {
      const float* p = &part_[i * K];
      g.cells[i] = std::clamp(std::accumulate(p, p + K, 0.f), 0.f, 1.f);
      g.dominant[i] = static_cast<std::uint8_t>(std::max_element(p, p + K) - p);
    }
    if (tl_.ops == 0) tl_.series.clear(); // a field log: failure lines only, the state unknown
    if (tl_.binned) tl_.spans.clear();
    if (tl_.failures_total > tl_.failures.size()) tl_.failures_binned = true, tl_.failures.clear();
    return std::move(tl_);
  }

  /// The area's page offset of pfn (ranges end to end); nullopt outside every range.
  std::optional<std::uint64_t> offset_of(pfn_t pfn) const {
    const auto& rs = area_.ranges();
    for (std::size_t i = 0; i < rs.size(); ++i)
      if (pfn >= rs[i].base_pfn && pfn - rs[i].base_pfn < rs[i].count) return tl_.range_starts[i] + (pfn - rs[i].base_pfn);
    return std::nullopt;
  }

private:
  struct live {
    double t = 0;
    page_count pages = 0;
  };

  double time_of(const op_record& o) const {
    if (!tl_.seconds) return double(n_);
    return o.where.time ? *o.where.time : o.start_time ? *o.start_time : tl_.t0;
  }

  void close(pfn_t pfn, page_count pages, double ta, double tr, bool open_start, bool open_end) {
    const auto off = offset_of(pfn);
    if (!off || pages == 0) return;
    pages = std::min<page_count>(pages, tl_.count - *off);
    ++tl_.spans_total;
    if (!tl_.binned) {
      if (tl_.spans.size() < lim_.max_spans) tl_.spans.push_back({*off, pages, ta, std::max(ta, tr), open_start, open_end, size_class(pages)});
      else tl_.binned = true, tl_.spans.clear(), tl_.spans.shrink_to_fit();
    }
    paint(*off, pages, ta, std::max(ta, tr), size_class(pages));
  }

  void add_failure(const failure& f) {
    ++tl_.failures_total;
    auto& fb = tl_.failure_bins[column(f.t)];
    ++fb.count, fb.largest = std::max(fb.largest, f.count);
    if (tl_.failures.size() < lim_.max_failures) tl_.failures.push_back(f);
  }

  unsigned column(double t) const {
    const auto& g = tl_.grid;
    return std::min(g.cols - 1, unsigned(std::clamp((t - tl_.t0) / (tl_.t1 - tl_.t0) * g.cols, 0.0, double(g.cols))));
  }

  // Adds the span's page-time to the grid: partial cells directly, whole columns through
  // a per-row difference array (full_), so a span costs O(rows it covers).
  void paint(std::uint64_t off, page_count pages, double ta, double tr, unsigned cls) {
    constexpr unsigned K = size_classes;
    auto& g = tl_.grid;
    const double dp = double(tl_.count) / g.rows, dt = (tl_.t1 - tl_.t0) / g.cols;
    const double xa = std::clamp((ta - tl_.t0) / dt, 0.0, double(g.cols)), xb = std::clamp((tr - tl_.t0) / dt, 0.0, double(g.cols));
    const double ya = double(off) / dp, yb = double(off + pages) / dp;
    const auto c0 = std::min(g.cols - 1, unsigned(xa)), c1 = std::min(g.cols - 1, unsigned(xb));
    const auto r0 = std::min(g.rows - 1, unsigned(ya)), r1 = std::min(g.rows - 1, unsigned(std::max(ya, std::ceil(yb) - 1)));
    for (unsigned r = r0; r <= r1; ++r) {
      const float fr = float(std::min(yb, r + 1.0) - std::max(ya, double(r)));
      if (fr <= 0) continue;
      float* row = &part_[std::size_t(r) * g.cols * K + cls];
      if (c0 == c1) {
        row[c0 * K] += fr * float(xb - xa);
        continue;
      }
      row[c0 * K] += fr * float(c0 + 1 - xa);
      row[c1 * K] += fr * float(xb - c1);
      if (c1 > c0 + 1) {
        full_[(std::size_t(r) * (g.cols + 1) + c0 + 1) * K + cls] += fr;
        full_[(std::size_t(r) * (g.cols + 1) + c1) * K + cls] -= fr;
      }
    }
  }

  void take_sample(double t) {
    sample s{t, area_.free_pages(), area_.maxchunk(), 0};
    const unsigned a = std::min(tl_.common_align, 62u);
    const pfn_t step = pfn_t{1} << a;
    for (const auto& run : area_.free_runs()) {
      const pfn_t start = (run.pfn + step - 1) & ~(step - 1);
      if (start < run.pfn + run.pages) s.largest_aligned = std::max<page_count>(s.largest_aligned, run.pfn + run.pages - start);
    }
    tl_.series.push_back(s);
  }

  allocator area_;
  scope scope_;
  limits lim_;
  timeline tl_;
  std::vector<float> part_, full_; ///< per cell and size class: page-time in partial cells / whole-column runs
  std::unordered_map<pfn_t, live> live_;
  std::uint64_t n_ = 0, stride_ = 1;
  double last_t_ = 0;
};

} // namespace cma::map
