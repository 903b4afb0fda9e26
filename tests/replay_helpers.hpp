// tests/replay_helpers.hpp — what the multi-area replay tests count and look up, shared.
#pragma once

#include <cma/replay/replay.hpp>

#include <cstdint>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace cmatest {

/// Operations (cma_alloc_finish + cma_release events) per area name=, counted from a trace's
/// text independently of the replay.
inline std::map<std::string, std::uint64_t> traced_ops(const std::string& trace) {
  std::map<std::string, std::uint64_t> n;
  std::istringstream in(trace);
  static const std::regex ev(R"(: (cma_alloc_finish|cma_release): name=(\S+) )");
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, ev)) ++n[m[2]];
  return n;
}

/// The report's area of that name, or nullptr.
inline const cma::area_report* area_named(const cma::replay_report& r, const std::string& name) {
  for (const auto& a : r.areas)
    if (a.name == name) return &a;
  return nullptr;
}

} // namespace cmatest
