// cma/replay/state_checks.hpp — lines that print the area's state, checked against the model.
//
// Four kinds of line show the state rather than an operation: /proc/meminfo's
// CmaTotal, the boot "Memory: … cma-reserved" line, the legacy recorder's bitmap dumps
// (used runs of bits), and cma_debug_show_areas()' "number of available pages" line
// (mm/cma.c: printed after a failed search, 6.12+ always, earlier under CMA_DEBUG).
// Each is compared with the model at the moment the line was printed; the replayer
// decides that moment (by timestamp) and calls state_check_for().
// 6.15+ (mm/cma.c cma_debug_show_areas, one struct cma_memrange per range, under
// cma->lock) prints its dump over several lines: "number of available pages: ", then
// "range R: LEN@BIT+…" per range, "", and "=> F free of T total pages" (F is
// cma->available_count).  The parser gives one show_areas_range per range line and a
// show_areas_total; show_areas_dump joins them, and the total line checks every range's
// runs and the total against the model (cma_debug_show_areas.hpp's 6.15 text), range by
// range.  A dump whose total line never comes is said, not checked.
// CmaFree is not a bitmap count (per-CPU lists, movable pages borrowing the area):
// it is not checked.
#pragma once

#include "../allocator.hpp"
#include "../cma_debug_show_areas.hpp"
#include "../formats/event.hpp"
#include "report.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma::replay_detail {

/// Is this an event state_check_for() checks?  (The streamed replay asks, to tell a line
/// that came too late from one that carries no state.)
inline bool is_state_line(const ev::event& e) {
  const auto* m = std::get_if<ev::meminfo>(&e);
  return (m && m->total) || std::holds_alternative<ev::memory_line>(e) || std::holds_alternative<ev::recorder_bitmap>(e) ||
         std::holds_alternative<ev::show_areas>(e) || std::holds_alternative<ev::show_areas_range>(e) ||
         std::holds_alternative<ev::show_areas_total>(e);
}

// Recorder bitmap dumps list the runs of set bits of range 0.
inline state_check compare_snapshot(const allocator& area, const ev::recorder_bitmap& dump, const ev::source& where) {
  std::vector<ev::recorder_bitmap::run> model;
  bitmap_no_t prev_end = 0;
  const auto& rg = area.ranges().front();
  rg.bitmap.for_each_free_run([&](bitmap_no_t start, bitmap_no_t len) {
    if (start > prev_end) model.push_back({prev_end, start - prev_end});
    prev_end = start + len;
  });
  if (rg.bitmap_maxno() > prev_end) model.push_back({prev_end, rg.bitmap_maxno() - prev_end});
  bool same = model.size() == dump.used.size();
  for (std::size_t i = 0; same && i < model.size(); ++i)
    same = model[i].start == dump.used[i].start && model[i].len == dump.used[i].len;
  return {"bitmap", same, where, same ? "used runs as the model has them" : "the module's bitmap dump differs from the model's"};
}

// cma_debug_show_areas prints the state right after the failed search (no bits held).
inline state_check check_show_areas(const allocator& area, const ev::show_areas& sa, const ev::source& where) {
  const auto lines = cma_debug_show_areas(area);
  std::string runs;
  for (const auto& r : sa.runs) runs += (runs.empty() ? "" : "+") + std::to_string(r.len) + "@" + std::to_string(r.at);
  const std::string seen = "number of available pages: " + runs + "=> " + std::to_string(sa.free) + " free of " +
                           std::to_string(sa.total) + " total pages";
  const std::string model = lines.empty() ? "" : lines.front().substr(5);
  return {"show_areas", seen == model, where, seen == model ? "free runs as the model has them" : "kernel: " + seen + " | model: " + model};
}

namespace dump_text {
// The runs after "range R: " split at '+' ("+5@35+4@44" → "5@35", "4@44").
inline std::vector<std::string> run_tokens(std::string_view runs) {
  std::vector<std::string> out;
  while (!runs.empty()) {
    const auto plus = runs.find('+');
    if (plus != 0) out.emplace_back(runs.substr(0, plus));
    if (plus == std::string_view::npos) break;
    runs.remove_prefix(plus + 1);
  }
  return out;
}
// "range R: …" as 6.15+ prints it (cma_debug_show_areas.hpp's fmt_run: '+' before every
// run that does not start at bit 0).
inline std::string range_text(const ev::show_areas_range& r) {
  std::string s = "range " + std::to_string(r.range) + ": ";
  for (const auto& run : r.runs) s += (run.at ? "+" : "") + std::to_string(run.len) + "@" + std::to_string(run.at);
  return s;
}
// Where two "range R: …" texts first differ, in runs.
inline std::string first_run_difference(const std::string& kernel, const std::string& model) {
  const auto colon_k = kernel.find(": "), colon_m = model.find(": ");
  if (kernel.substr(0, colon_k) != model.substr(0, colon_m)) return "";
  const auto k = run_tokens(std::string_view(kernel).substr(colon_k + 2));
  const auto m = run_tokens(std::string_view(model).substr(colon_m + 2));
  for (std::size_t i = 0; i < std::max(k.size(), m.size()); ++i) {
    const std::string kk = i < k.size() ? k[i] : "nothing", mm = i < m.size() ? m[i] : "nothing";
    if (kk != mm)
      return " (" + kernel.substr(0, colon_k) + ", run " + std::to_string(i + 1) + ": kernel " + kk + ", model " + mm + ")";
  }
  return "";
}
} // namespace dump_text

/// 6.15+: the range lines of one dump, the total line, against the model's state now.
/// `ranges`: the range lines as printed (in order); `where`: the first of them (or the total
/// line when there was none).
inline state_check check_show_areas_ranges(const allocator& area, const std::vector<ev::show_areas_range>& ranges,
                                           const ev::show_areas_total& total, const ev::source& where) {
  const std::string seen_total =
      "=> " + std::to_string(total.free) + " free of " + std::to_string(total.total) + " total pages";
  if (area.prof().show_areas != show_areas_format::ranges_v6_15)
    return {"show_areas", false, where,
            "a 6.15+ per-range dump (range lines, then '" + seen_total + "'), but the model runs the " +
                std::string(area.prof().series) + " rules, whose dump is one line: the kernel version is wrong (--kernel)"};
  // "cma: number of available pages: ", "cma: range R: …" per range, "cma: ", "=> F free of T total pages"
  const auto lines = cma_debug_show_areas(area);
  std::vector<std::string> model;
  for (std::size_t i = 1; i + 2 < lines.size(); ++i) model.push_back(lines[i].substr(5));
  const std::string& model_total = lines.back();
  std::string diff;
  for (std::size_t i = 0; !ranges.empty() && diff.empty() && i < std::max(ranges.size(), model.size()); ++i) {
    if (i >= ranges.size()) {
      diff = "the kernel printed no line for range " + std::to_string(i) + " | model: " + model[i];
    } else if (i >= model.size()) {
      diff = "kernel: " + dump_text::range_text(ranges[i]) + " | the model's area has " + std::to_string(model.size()) +
             " range(s)";
    } else if (const auto seen = dump_text::range_text(ranges[i]); seen != model[i]) {
      diff = "kernel: " + seen + " | model: " + model[i] + dump_text::first_run_difference(seen, model[i]);
    }
  }
  if (diff.empty() && seen_total != model_total) diff = "kernel: " + seen_total + " | model: " + model_total;
  if (!diff.empty()) return {"show_areas", false, where, diff};
  return {"show_areas", true, where,
          ranges.empty() ? "'" + seen_total + "' as the model has it (no range lines before it: runs not checked)"
                         : "free runs of " + std::to_string(ranges.size()) + " range(s) and '" + seen_total +
                               "' as the model has them"};
}

/// 6.15+: gathers one dump's range lines until its total line.
class show_areas_dump {
public:
  /// A range line.  Returns a note when it begins a new dump (range 0 again, or a lower
  /// number) before the previous dump's total line came: that one is dropped, unchecked.
  std::optional<std::string> add(const ev::show_areas_range& r, const ev::source& where) {
    std::optional<std::string> note;
    if (!ranges_.empty() && r.range <= ranges_.back().range) {
      note = unfinished();
      ranges_.clear();
    }
    if (ranges_.empty()) first_ = where;
    ranges_.push_back(r);
    return note;
  }
  /// The total line closes the dump: its check against `area` now.
  state_check close(const allocator& area, const ev::show_areas_total& t, const ev::source& where) {
    auto c = check_show_areas_ranges(area, ranges_, t, ranges_.empty() ? where : first_);
    ranges_.clear();
    return c;
  }
  /// The note for range lines whose total line never came (nullopt: none pending).
  std::optional<std::string> unfinished() const {
    if (ranges_.empty()) return std::nullopt;
    return "show_areas dump at input " + std::to_string(first_.file) + ", line " + std::to_string(first_.line) + " (" +
           std::to_string(ranges_.size()) + " range line(s)) has no '=> F free of T total pages' line: not checked";
  }

private:
  std::vector<ev::show_areas_range> ranges_;
  ev::source first_;
};

/// The check a state line gives against `area` now; nullopt for any other event (and for
/// 6.15+'s range and total lines: show_areas_dump joins them).
/// `all_pages`: every area's pages together (CmaTotal and cma-reserved count them all:
/// totalcma_pages); 0 means `area` is the only one.
inline std::optional<state_check> state_check_for(const allocator& area, const ev::located& e, page_count all_pages = 0) {
  const std::uint64_t area_kb = (all_pages ? all_pages : area.count()) * (page_size / 1024);
  const char* what = all_pages && all_pages != area.count() ? ", areas " : ", area ";
  if (auto m = std::get_if<ev::meminfo>(&e.what); m && m->total)
    return state_check{"CmaTotal", m->kb == area_kb, e.where,
                       "CmaTotal " + std::to_string(m->kb) + " kB" + what + std::to_string(area_kb) + " kB"};
  if (auto ml = std::get_if<ev::memory_line>(&e.what))
    return state_check{"cma-reserved", ml->cma_reserved_kb == area_kb, e.where,
                       std::to_string(ml->cma_reserved_kb) + "K cma-reserved" + what + std::to_string(area_kb) + "K"};
  if (auto b = std::get_if<ev::recorder_bitmap>(&e.what)) return compare_snapshot(area, *b, e.where);
  if (auto sa = std::get_if<ev::show_areas>(&e.what)) return check_show_areas(area, *sa, e.where);
  return std::nullopt;
}

} // namespace cma::replay_detail
