// cma/formats/workload.hpp — a workload file as the recorder's guest runs it (sim/recorder/cma_run.c).
//
// One device command per line, written to /dev/cma_test as is: '#' starts a comment,
// leading and trailing blanks (and a CR) are not part of the command, blank lines are
// not steps.  Steps are numbered from 1 in file order (the trace's "step N:" markers).
// Pure: text in, the command out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cma::formats::workload {

/// The command a workload line holds, or nullopt for a comment or blank line.
inline std::optional<std::string> command(std::string_view line) {
  if (const auto h = line.find('#'); h != std::string_view::npos) line = line.substr(0, h);
  const auto b = line.find_first_not_of(" \t");
  if (b == std::string_view::npos) return std::nullopt;
  const auto e = line.find_last_not_of(" \t\r\n");
  return std::string(line.substr(b, e - b + 1));
}

} // namespace cma::formats::workload
