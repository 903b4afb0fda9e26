// cma/replay/state_checks.hpp — lines that print the area's state, checked against the model.
//
// Four kinds of line show the state rather than an operation: /proc/meminfo's
// CmaTotal, the boot "Memory: … cma-reserved" line, the legacy recorder's bitmap dumps
// (used runs of bits), and cma_debug_show_areas()' "number of available pages" line
// (mm/cma.c: printed after a failed search, 6.12+ always, earlier under CMA_DEBUG).
// Each is compared with the model at the moment the line was printed; the replayer
// decides that moment (by timestamp) and calls state_check_for().
// CmaFree is not a bitmap count (per-CPU lists, movable pages borrowing the area):
// it is not checked.
#pragma once

#include "../allocator.hpp"
#include "../cma_debug_show_areas.hpp"
#include "../formats/event.hpp"
#include "report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cma::replay_detail {

/// Is this an event state_check_for() checks?  (The streamed replay asks, to tell a line
/// that came too late from one that carries no state.)
inline bool is_state_line(const ev::event& e) {
  const auto* m = std::get_if<ev::meminfo>(&e);
  return (m && m->total) || std::holds_alternative<ev::memory_line>(e) || std::holds_alternative<ev::recorder_bitmap>(e) ||
         std::holds_alternative<ev::show_areas>(e);
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

/// The check a state line gives against `area` now; nullopt for any other event.
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
