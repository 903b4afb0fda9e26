// cma/map/svg.hpp — a map::timeline drawn as one standalone SVG document.
//
// Panels, top to bottom, sharing the time axis:
//   occupancy      (class panel-occupancy) X time, Y page offset in the area (range
//                  boundaries dashed); each span a rect class="span sc-N" coloured by
//                  size class, or — binned — cells class="bin sc-N" in the colour of the
//                  class with most page-time there, as opaque as the fraction in use; busy windows class="busy" hatched (pattern #hatch); each failed
//                  request a group class="failure" at its time, its bar as tall as its size,
//                  with a <title> giving count, align, error and time, and id="failure-N"
//                  (N: its index in timeline::failures, what an HTML report links to) (past
//                  limits::max_failures: class="failure-bin" per column, count and largest).
//   fragmentation  (class panel-fragmentation) free pages (series-free), the largest
//                  free run (series-largest) and the largest window at the most common
//                  alignment (series-aligned), in pages.
//   plan           (class panel-plan, only with a plan) failures against area size, one
//                  line per kernel (plan-line, plan-point), non-monotonic points
//                  (class non-monotonic) and the smallest size without failure (smallest).
// Every count a test may want is also on the root element (data-spans, data-failures, …).
// Pure: the document is returned as a string.
#pragma once

#include "timeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cma::map {

/// One configuration of a `cmasim plan --json` sweep.
struct plan_point {
  std::string kernel;
  unsigned order_per_bit = 0;
  std::uint64_t size = 0;        ///< bytes
  std::uint64_t base_pfn = 0;
  std::uint64_t failures = 0;
  std::uint64_t peak_used = 0;   ///< pages
  bool non_monotonic = false;    ///< listed in non_monotonic[]
  bool smallest = false;         ///< listed in smallest[]
};

struct svg_options {
  unsigned width = 1200, height = 820; ///< px, the whole document
  std::string title;                   ///< shown at the top (escaped)
  /// When set and not binned: span i's tooltip text (escaped), e.g. its source line, count,
  /// align, pfn and lifetime (`cmasim map` knows them from the records; the timeline keeps
  /// only geometry).  Unset or "" for a span: pages, offset and times, as before.
  std::function<std::string(std::size_t)> span_title;
};

namespace detail {

inline std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", std::isfinite(v) ? v : 0.0);
  return b;
}
inline std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) switch (c) {
    case '&': o += "&amp;"; break;
    case '<': o += "&lt;"; break;
    case '>': o += "&gt;"; break;
    case '"': o += "&quot;"; break;
    default: o += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') ? ' ' : c;
    }
  return o;
}
/// Tick positions: steps of 1, 2 or 5 × 10^k, about n of them over [lo, hi].
inline std::vector<double> ticks(double lo, double hi, int n = 6) {
  std::vector<double> out;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return out;
}
inline std::string trim_num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
inline std::string pages_text(double pages) {
  const double mib = pages * double(page_size) / (1024.0 * 1024.0);
  return trim_num(pages) + " (" + trim_num(std::round(mib * 100) / 100) + " MiB)";
}
inline const char* class_colour(unsigned c) {
  static const char* const col[size_classes] = {"#9ecae1", "#4e79a7", "#59a14f", "#edc948", "#f28e2b", "#8c564b"};
  return col[std::min(c, size_classes - 1)];
}
inline const char* kernel_colour(std::size_t i) {
  static const char* const col[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"};
  return col[i % 8];
}

struct frame {
  double x0, y0, w, h; // plot area, px
};

inline void axes(std::string& o, const frame& f, const std::vector<double>& xt, double xlo, double xhi,
                 const std::vector<double>& yt, double ylo, double yhi, bool y_down, const std::string& xlabel,
                 const std::string& ylabel, bool y_pages) {
  o += "<g class=\"axes\">";
  o += "<rect class=\"frame\" x=\"" + num(f.x0) + "\" y=\"" + num(f.y0) + "\" width=\"" + num(f.w) + "\" height=\"" + num(f.h) +
       "\" fill=\"none\" stroke=\"#333\"/>";
  for (double v : xt) {
    const double x = f.x0 + (v - xlo) / (xhi - xlo) * f.w;
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(f.y0 + f.h) + "\" x2=\"" + num(x) + "\" y2=\"" + num(f.y0 + f.h + 5) +
         "\" stroke=\"#333\"/><text class=\"tick\" x=\"" + num(x) + "\" y=\"" + num(f.y0 + f.h + 17) +
         "\" text-anchor=\"middle\">" + trim_num(v) + "</text>";
  }
  for (double v : yt) {
    const double fr = (v - ylo) / (yhi - ylo);
    const double y = y_down ? f.y0 + fr * f.h : f.y0 + f.h - fr * f.h;
    o += "<line x1=\"" + num(f.x0 - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(f.x0) + "\" y2=\"" + num(y) +
         "\" stroke=\"#333\"/><text class=\"tick\" x=\"" + num(f.x0 - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         (y_pages ? pages_text(v) : trim_num(v)) + "</text>";
  }
  o += "<text class=\"axis-label\" x=\"" + num(f.x0 + f.w / 2) + "\" y=\"" + num(f.y0 + f.h + 34) + "\" text-anchor=\"middle\">" +
       esc(xlabel) + "</text>";
  o += "<text class=\"axis-label\" x=\"" + num(f.x0) + "\" y=\"" + num(f.y0 - 8) + "\">" + esc(ylabel) + "</text></g>";
}

} // namespace detail

/// The document.  `plan` (may be empty) adds the third panel.
inline std::string render_svg(const timeline& tl, const svg_options& opt, const std::vector<plan_point>& plan = {}) {
  using namespace detail;
  const double W = std::max(400u, opt.width), H = std::max(300u, opt.height);
  const double left = 150, right = 190, top = 50;
  const double pw = W - left - right;
  const bool with_plan = !plan.empty();
  const double avail = H - top - 50 * (with_plan ? 3 : 2);
  const double h_occ = avail * (with_plan ? 0.5 : 0.62), h_frag = avail * (with_plan ? 0.25 : 0.38), h_plan = avail * 0.25;
  const frame occ{left, top + 10, pw, h_occ}, frag{left, occ.y0 + occ.h + 60, pw, h_frag};
  const frame pl{left, frag.y0 + frag.h + 60, pw, h_plan};
  const double count = std::max<double>(1, double(tl.count));
  // the time axis, padded by 1.5% each side so marks at the first and last instant stay clear of the frame
  const double pad = (tl.t1 - tl.t0) * 0.015, xlo = tl.t0 - pad, xhi = tl.t1 + pad;
  const auto X = [&](double t) { return occ.x0 + std::clamp((t - xlo) / (xhi - xlo), 0.0, 1.0) * occ.w; };
  const auto Y = [&](double off) { return occ.y0 + std::clamp(off / count, 0.0, 1.0) * occ.h; };
  const std::string xlabel = tl.seconds ? "time (s, the log's timestamps)" : "operation index";

  std::string o;
  o.reserve(1 << 20);
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cma-map\" width=\"" + num(W) + "\" height=\"" + num(H) +
       "\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\" font-family=\"sans-serif\" font-size=\"11\"" +
       " data-spans=\"" + std::to_string(tl.spans_total) + "\" data-binned=\"" + (tl.binned ? "1" : "0") +
       "\" data-failures=\"" + std::to_string(tl.failures_total) + "\" data-busy=\"" + std::to_string(tl.busy_total) +
       "\" data-ops=\"" + std::to_string(tl.ops) + "\">\n";
  o += "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"><rect width=\"6\" height=\"6\" "
       "fill=\"#d62728\" fill-opacity=\"0.12\"/><path d=\"M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5\" stroke=\"#d62728\" "
       "stroke-width=\"1.2\"/></pattern></defs>\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  o += "<text class=\"title\" x=\"" + num(left) + "\" y=\"22\" font-size=\"15\" font-weight=\"bold\">" +
       esc(opt.title.empty() ? "CMA area " + tl.area : opt.title) + "</text>\n";

  // ------------------------------------------------------------------ occupancy
  o += "<g class=\"panel-occupancy\">\n<rect class=\"plot-bg\" x=\"" + num(occ.x0) + "\" y=\"" + num(occ.y0) + "\" width=\"" +
       num(occ.w) + "\" height=\"" + num(occ.h) + "\" fill=\"#f7f7f7\"/>\n";
  if (!tl.binned) {
    for (std::size_t si = 0; si < tl.spans.size(); ++si) {
      const auto& s = tl.spans[si];
      const std::string note = opt.span_title ? opt.span_title(si) : std::string();
      const double x = X(s.t_alloc), w = std::max(0.6, X(s.t_release) - x), y = Y(double(s.offset));
      const double h = std::max(0.6, Y(double(s.offset + s.pages)) - y);
      o += "<rect class=\"span sc-" + std::to_string(s.cls) + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) +
           "\" height=\"" + num(h) + "\" fill=\"" + class_colour(s.cls) + "\" stroke=\"#333\" stroke-width=\"0.2\"><title>" + (note.empty() ? std::string() : esc(note) + "\n") +
           std::to_string(s.pages) + " pages at +" + std::to_string(s.offset) + ", " + trim_num(s.t_alloc) +
           (s.open_start ? " (before the trace)" : "") + " to " + trim_num(s.t_release) + (s.open_end ? " (still allocated)" : "") +
           "</title></rect>\n";
    }
  } else {
    // Binned: each cell coloured by the size class with the most page-time there, its
    // opacity the fraction in use (8 levels); one path per (class, level), runs of equal
    // cells merged.
    const auto& g = tl.grid;
    const double dt = (tl.t1 - tl.t0) / g.cols, ch = occ.h / g.rows;
    const auto CX = [&](unsigned c) { return X(tl.t0 + dt * c); };
    std::vector<std::string> paths(size_classes * 9);
    const auto key = [&](unsigned r, unsigned c) {
      const int lvl = std::min(8, int(std::ceil(g.at(r, c) * 8 - 1e-6)));
      return lvl <= 0 ? 0u : g.class_at(r, c) * 9 + unsigned(lvl);
    };
    for (unsigned r = 0; r < g.rows; ++r) {
      unsigned c = 0;
      while (c < g.cols) {
        const unsigned k = key(r, c);
        unsigned e = c + 1;
        while (e < g.cols && key(r, e) == k) ++e;
        if (k % 9 != 0)
          paths[k] += "M" + num(CX(c)) + " " + num(occ.y0 + r * ch) + "h" + num(CX(e) - CX(c)) + "v" + num(ch) + "h-" +
                      num(CX(e) - CX(c)) + "z";
        c = e;
      }
    }
    for (unsigned k = 0; k < paths.size(); ++k)
      if (!paths[k].empty())
        o += "<path class=\"bin sc-" + std::to_string(k / 9) + " bin-" + std::to_string(k % 9) + "\" fill=\"" + class_colour(k / 9) +
             "\" fill-opacity=\"" + num(0.25 + 0.75 * (k % 9) / 8.0) + "\" d=\"" + paths[k] + "\"/>\n";
  }
  for (std::size_t i = 1; i < tl.range_starts.size(); ++i)
    o += "<line class=\"range-boundary\" x1=\"" + num(occ.x0) + "\" x2=\"" + num(occ.x0 + occ.w) + "\" y1=\"" +
         num(Y(double(tl.range_starts[i]))) + "\" y2=\"" + num(Y(double(tl.range_starts[i]))) +
         "\" stroke=\"#000\" stroke-dasharray=\"6 3\"/>\n";
  for (const auto& b : tl.busy) {
    const double y = Y(double(b.offset));
    o += "<rect class=\"busy\" x=\"" + num(X(b.t) - 2) + "\" y=\"" + num(y) + "\" width=\"5\" height=\"" +
         num(std::max(1.0, Y(double(b.offset + b.pages)) - y)) + "\" fill=\"url(#hatch)\" stroke=\"#d62728\" stroke-width=\"0.5\">"
         "<title>busy window: " + std::to_string(b.pages) + " pages at +" + std::to_string(b.offset) + ", " + trim_num(b.t) +
         "</title></rect>\n";
  }
  if (tl.failures_binned) {
    const double dt = (tl.t1 - tl.t0) / std::max(1.0, double(tl.failure_bins.size()));
    const double cw = X(tl.t0 + dt) - X(tl.t0);
    for (std::size_t c = 0; c < tl.failure_bins.size(); ++c) {
      const auto& b = tl.failure_bins[c];
      if (b.count == 0) continue;
      const double x = X(tl.t0 + dt * (double(c) + 0.5)), h = std::max(2.0, double(b.largest) / count * occ.h);
      o += "<g class=\"failure-bin\"><title>" + std::to_string(b.count) + " failed requests, the largest " + std::to_string(b.largest) +
           " pages, between " + trim_num(tl.t0 + dt * double(c)) + " and " + trim_num(tl.t0 + dt * double(c + 1)) + (tl.seconds ? " s" : "") +
           "</title><line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(occ.y0) + "\" y2=\"" + num(occ.y0 + std::min(h, occ.h)) +
           "\" stroke=\"#d62728\" stroke-width=\"" + num(std::max(1.0, cw * 0.8)) + "\" stroke-opacity=\"0.7\"/><path d=\"M" + num(x - 3) +
           " " + num(occ.y0 - 7) + "h6l-3 6z\" fill=\"#d62728\"/></g>\n";
    }
  }
  for (std::size_t fi = 0; fi < tl.failures.size(); ++fi) {
    const auto& f = tl.failures[fi];
    const double x = X(f.t), h = std::max(2.0, double(f.count) / count * occ.h);
    o += "<g class=\"failure\" id=\"failure-" + std::to_string(fi) + "\"><title>failed: " + std::to_string(f.count) + " pages (" +
         trim_num(std::round(double(f.count) * page_size / 10485.76) / 100) + " MiB) align " + std::to_string(f.align) +
         (f.err ? ", error " + std::to_string(f.err) : std::string()) + ", at " + trim_num(f.t) + (tl.seconds ? " s" : "") +
         "</title><line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(occ.y0) + "\" y2=\"" + num(occ.y0 + std::min(h, occ.h)) +
         "\" stroke=\"#d62728\" stroke-width=\"2\" stroke-opacity=\"0.8\"/><path d=\"M" + num(x - 4) + " " + num(occ.y0 - 9) + "h8l-4 8z\" fill=\"#d62728\"/></g>\n";
  }
  {
    const auto yt = ticks(0, count, 6);
    axes(o, occ, ticks(xlo, xhi), xlo, xhi, yt, 0, count, true, xlabel,
         "occupancy: page offset from base_pfn " + [&] { char b[32]; std::snprintf(b, sizeof b, "%#llx", (unsigned long long)tl.base_pfn); return std::string(b); }() +
             " (" + std::to_string(tl.count) + " pages" + (tl.binned ? ", binned: shade = fraction in use" : "") + ")",
         true);
  }
  // legend
  {
    double ly = occ.y0;
    const double lx = occ.x0 + occ.w + 15;
    o += "<g class=\"legend\">";
    for (unsigned c = 0; c < size_classes; ++c, ly += 16)
      o += "<rect x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" width=\"12\" height=\"12\" fill=\"" + class_colour(c) + "\"/><text x=\"" +
           num(lx + 18) + "\" y=\"" + num(ly + 10) + "\">" + size_class_label(c) + "</text>";
    o += "<rect x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" width=\"12\" height=\"12\" fill=\"url(#hatch)\"/><text x=\"" + num(lx + 18) +
         "\" y=\"" + num(ly + 10) + "\">busy window</text>";
    ly += 16;
    o += "<path class=\"legend-failure\" d=\"M" + num(lx + 2) + " " + num(ly + 1) + "h8l-4 8z\" fill=\"#d62728\"/><text x=\"" + num(lx + 18) +
         "\" y=\"" + num(ly + 10) + "\">failed request (" + std::to_string(tl.failures_total) + (tl.failures_binned ? ", per column" : "") +
         ")</text>";
    ly += 16;
    o += "<text x=\"" + num(lx) + "\" y=\"" + num(ly + 10) + "\">" + std::to_string(tl.spans_total) + " spans" +
         (tl.binned ? ", binned" : "") + "</text></g>\n";
  }
  o += "</g>\n";

  // ------------------------------------------------------------------ fragmentation
  {
    o += "<g class=\"panel-fragmentation\">\n<rect class=\"plot-bg\" x=\"" + num(frag.x0) + "\" y=\"" + num(frag.y0) + "\" width=\"" +
         num(frag.w) + "\" height=\"" + num(frag.h) + "\" fill=\"#f7f7f7\"/>\n";
    const auto FY = [&](double p) { return frag.y0 + frag.h - std::clamp(p / count, 0.0, 1.0) * frag.h; };
    const auto line = [&](const char* cls, const char* colour, auto get) {
      std::string pts; // steps: a value holds until the next sample
      for (std::size_t i = 0; i < tl.series.size(); ++i) {
        const auto& s = tl.series[i];
        if (i > 0) pts += num(X(s.t)) + "," + num(FY(double(get(tl.series[i - 1])))) + " ";
        pts += num(X(s.t)) + "," + num(FY(double(get(s)))) + " ";
      }
      o += std::string("<polyline class=\"") + cls + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.5\" points=\"" +
           pts + "\"/>\n";
    };
    if (tl.ops == 0)
      o += "<text class=\"note\" x=\"" + num(frag.x0 + frag.w / 2) + "\" y=\"" + num(frag.y0 + frag.h / 2) +
           "\" text-anchor=\"middle\">no operations in the input: the area's state over time is unknown (failures only)</text>\n";
    line("series-free", "#2ca02c", [](const sample& s) { return s.free; });
    line("series-largest", "#1f77b4", [](const sample& s) { return s.largest_free; });
    line("series-aligned", "#ff7f0e", [](const sample& s) { return s.largest_aligned; });
    axes(o, frag, ticks(xlo, xhi), xlo, xhi, ticks(0, count, 4), 0, count, false, xlabel, "fragmentation (pages)", true);
    const double lx = frag.x0 + frag.w + 15;
    const std::string al = "largest " + std::to_string(1ull << std::min(tl.common_align, 63u)) + "-page-aligned window";
    int i = 0;
    o += "<g class=\"legend\">";
    for (const auto& [colour, text] : std::vector<std::pair<std::string, std::string>>{
             {"#2ca02c", "free pages"}, {"#1f77b4", "largest free run"}, {"#ff7f0e", al}}) {
      o += "<rect x=\"" + num(lx) + "\" y=\"" + num(frag.y0 + 16 * i) + "\" width=\"12\" height=\"3\" fill=\"" + colour + "\"/><text x=\"" +
           num(lx + 18) + "\" y=\"" + num(frag.y0 + 16 * i + 5) + "\" font-size=\"" + (text.size() > 24 ? "9" : "11") + "\">" + esc(text) +
           "</text>";
      ++i;
    }
    o += "</g>\n</g>\n";
  }

  // ------------------------------------------------------------------ plan
  if (with_plan) {
    o += "<g class=\"panel-plan\">\n<rect class=\"plot-bg\" x=\"" + num(pl.x0) + "\" y=\"" + num(pl.y0) + "\" width=\"" + num(pl.w) +
         "\" height=\"" + num(pl.h) + "\" fill=\"#f7f7f7\"/>\n";
    double smin = 1e300, smax = 0, fmax = 1;
    for (const auto& p : plan) {
      const double mib = double(p.size) / 1048576.0;
      smin = std::min(smin, mib), smax = std::max(smax, mib), fmax = std::max(fmax, double(p.failures));
    }
    if (!(smax > smin)) smax = smin + 1;
    const auto PX = [&](double mib) { return pl.x0 + (mib - smin) / (smax - smin) * pl.w; };
    const auto PY = [&](double f) { return pl.y0 + pl.h - f / fmax * pl.h; };
    // one line per kernel and order_per_bit
    bool any_opb = false;
    for (const auto& p : plan) any_opb = any_opb || p.order_per_bit != 0;
    std::map<std::string, std::vector<const plan_point*>> by_kernel;
    for (const auto& p : plan)
      by_kernel[p.kernel + (any_opb ? ", order_per_bit " + std::to_string(p.order_per_bit) : std::string())].push_back(&p);
    std::size_t k = 0;
    o += "<g class=\"legend\">";
    for (auto& [kernel, pts] : by_kernel) {
      std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->size != b->size ? a->size < b->size : a->base_pfn < b->base_pfn; });
      std::string poly;
      for (auto* p : pts) poly += num(PX(double(p->size) / 1048576.0)) + "," + num(PY(double(p->failures))) + " ";
      o += "<polyline class=\"plan-line\" fill=\"none\" stroke=\"" + std::string(kernel_colour(k)) + "\" stroke-width=\"1.5\" points=\"" + poly + "\"/>";
      for (auto* p : pts) {
        const double x = PX(double(p->size) / 1048576.0), y = PY(double(p->failures));
        const std::string tip = "<title>kernel " + esc(kernel) + ", " + trim_num(double(p->size) / 1048576.0) + " MiB: " +
                                std::to_string(p->failures) + " failures, peak " + std::to_string(p->peak_used) + " pages used" +
                                (p->non_monotonic ? " (non-monotonic: fewer failures in a smaller area)" : "") +
                                (p->smallest ? " (smallest size without failure)" : "") + "</title>";
        o += "<circle class=\"plan-point\" cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"3\" fill=\"" + kernel_colour(k) + "\">" + tip + "</circle>";
        if (p->non_monotonic)
          o += "<circle class=\"non-monotonic\" cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"7\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\">" + tip + "</circle>";
        if (p->smallest)
          o += "<path class=\"smallest\" d=\"M" + num(x) + " " + num(y - 12) + "l5 -8h-10z\" fill=\"#2ca02c\">" + tip + "</path>";
      }
      o += "<rect x=\"" + num(pl.x0 + pl.w + 15) + "\" y=\"" + num(pl.y0 + 16 * double(k)) + "\" width=\"12\" height=\"3\" fill=\"" +
           kernel_colour(k) + "\"/><text x=\"" + num(pl.x0 + pl.w + 33) + "\" y=\"" + num(pl.y0 + 16 * double(k) + 5) + "\">kernel " +
           esc(kernel) + "</text>";
      ++k;
    }
    o += "<circle cx=\"" + num(pl.x0 + pl.w + 21) + "\" cy=\"" + num(pl.y0 + 16 * double(k) + 2) +
         "\" r=\"5\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"" + num(pl.x0 + pl.w + 33) + "\" y=\"" +
         num(pl.y0 + 16 * double(k) + 5) + "\">non-monotonic</text></g>\n";
    axes(o, pl, ticks(smin, smax), smin, smax, ticks(0, fmax, 4), 0, fmax, false, "area size (MiB)", "plan: failed allocations", false);
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

} // namespace cma::map
