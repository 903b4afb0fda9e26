// cma/cma_debug_show_areas.hpp — the free-run dump printed after a failed cma_alloc.
//
// mm/cma.c cma_debug_show_areas(), as console lines (with the "cma: " prefix
// that pr_fmt adds to pr_info, and none on pr_cont continuations that start a
// line of their own):
//   4.15         "number of available pages: %u@%lu+…=> %u free of %lu total pages"
//                (lengths and total in *bits*; '@' a bit index)
//   5.10 – 6.14  the same text with lengths and total in *pages*, '@' still a bit index
//   6.15+        "number of available pages: " / "range %d: " + runs / "" /
//                "=> %lu free of %lu total pages" with the total = available_count,
//                '+' before every run that does not start at bit 0
// Printed only under CONFIG_CMA_DEBUG up to 6.11 and always from 6.12
// (profile::show_areas_unconditional).  Knowingly different: 4.15 scans up to
// cma->count bits, past the bitmap when order_per_bit > 0; we stop at maxno.
#pragma once

#include "cma_area.hpp"
#include "profile.hpp"

#include <string>
#include <vector>

namespace cma {

template <class Area> std::vector<std::string> cma_debug_show_areas(const Area& area) {
  const auto fmt_run = [](bool plus, unsigned long long len, unsigned long long at) {
    return std::string(plus ? "+" : "") + std::to_string(len) + "@" + std::to_string(at);
  };
  const auto runs = area.free_runs();
  std::vector<std::string> lines;
  switch (area.prof().show_areas) {
  case show_areas_format::bits_v4_15:
  case show_areas_format::pages_v5_10: {
    const bool in_bits = area.prof().show_areas == show_areas_format::bits_v4_15;
    std::string line = "cma: number of available pages: ";
    unsigned long long total = 0;
    for (const auto& r : runs) {
      const unsigned long long len = in_bits ? r.bits : r.pages;
      line += fmt_run(total != 0, len, r.bitmap_no);
      total += len;
    }
    line += "=> " + std::to_string(total) + " free of " + std::to_string(area.count()) + " total pages";
    lines.push_back(std::move(line));
    break;
  }
  case show_areas_format::ranges_v6_15: {
    lines.push_back("cma: number of available pages: ");
    for (unsigned ri = 0; ri < area.ranges().size(); ++ri) {
      std::string line = "cma: range " + std::to_string(ri) + ": ";
      for (const auto& r : runs)
        if (r.range == ri) line += fmt_run(r.bitmap_no != 0, r.pages, r.bitmap_no);
      lines.push_back(std::move(line));
    }
    lines.push_back("cma: ");
    lines.push_back("=> " + std::to_string(area.available_count()) + " free of " + std::to_string(area.count()) +
                    " total pages");
    break;
  }
  }
  return lines;
}

} // namespace cma
