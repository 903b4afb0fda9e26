// tests/replay_helpers.hpp — what the replay tests run, count and look up, shared.
#pragma once

#include <cma/replay/replay.hpp>

#include <cstdint>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace cmatest {

/// Replays texts as `cmasim replay` replays its files: each read by formats::read_log, then
/// the batch replay. The texts outlive the replay (a read_result may point into its text).
inline cma::replay_report replay_texts(const std::vector<std::string>& texts, const cma::replay_options& opt = {}) {
  std::vector<cma::formats::read_result> in;
  for (unsigned i = 0; i < texts.size(); ++i) in.push_back(cma::formats::read_log(texts[i], i));
  return cma::replay(in, opt);
}

/// s with every `from` replaced by `to` (to edit a copy of a real log).
inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) s.replace(i, from.size(), to);
  return s;
}

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

/// Operations of every area of a trace, counted from its text.
inline std::uint64_t traced_ops_total(const std::string& trace) {
  std::uint64_t n = 0;
  for (const auto& [name, count] : traced_ops(trace)) n += count;
  return n;
}

/// The report's area of that name, or nullptr.
inline const cma::area_report* area_named(const cma::replay_report& r, const std::string& name) {
  for (const auto& a : r.areas)
    if (a.name == name) return &a;
  return nullptr;
}

} // namespace cmatest
