// cma/formats/procfs.hpp — CMA counters from /proc files pasted into a log.
//
//   /proc/vmstat        "nr_free_cma 32672", "cma_alloc_success 3", "cma_alloc_fail 0"
//   /proc/zoneinfo      "      nr_free_cma  32672", "        cma      32768" (per-zone CMA pages)
//   /proc/pagetypeinfo  "Number of blocks type … CMA …" header and "Node 0, zone DMA, type CMA …" rows
// (/proc/meminfo's CmaTotal/CmaFree lines are kmsg.hpp's: they also appear inside dmesg pastes.)
#pragma once

#include "detail/scan.hpp"
#include "parsed.hpp"

#include <string>
#include <string_view>

namespace cma::formats::procfs {

inline parsed_line parse_line(std::string_view line) {
  using namespace cma::formats::detail;
  auto s = trim(line);
  for (std::string_view key : {"nr_free_cma", "cma_alloc_success", "cma_alloc_fail", "cma"}) {
    std::string_view r = s;
    if (!eat(r, key) || r.empty() || (r.front() != ' ' && r.front() != '\t')) continue;
    auto v = to_u64(trim(r));
    if (!v) return parsed_line::bad(std::string(key) + ": expected '<counter> <decimal>'");
    return parsed_line::ok(ev::vmstat{std::string(key), *v});
  }
  if (starts_with(s, "Number of blocks type") || (starts_with(s, "Node ") && s.find(", type ") != std::string_view::npos))
    return parsed_line::skip();
  return parsed_line::foreign();
}

} // namespace cma::formats::procfs
