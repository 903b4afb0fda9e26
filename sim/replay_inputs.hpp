// sim/replay_inputs.hpp — the replay of a list of inputs, for commands built on its report.
//
// `cmasim replay` reads its inputs (files, folders, `-` for stdin; one reader, in
// cmd_replay.cpp) and replays them; `cmasim diagnose` needs the same report without the
// replay's printing.  Errors (a missing file, a read error) are exit 2 with the reason,
// printed with `cmd` as the prefix.
#pragma once

#include <cma/replay/report.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cmasim {

struct replayed_inputs {
  cma::replay_report report;
  std::vector<std::string> names; ///< the input files in the order the report's sources index them
};

replayed_inputs replay_inputs(const std::vector<std::string>& inputs, const std::string& kernel, const std::string& cmd);

/// As replay_inputs, and every operation's record (matched ones too) handed to on_op in
/// replay order: for `cmasim plan`, which builds its operation list from them.  When a
/// streamed replay has to start over in batch (report.needs_batch_replay), the records
/// are handed over again from the first (seq 0): drop what came before.
replayed_inputs replay_inputs_each(const std::vector<std::string>& inputs, const std::string& kernel, const std::string& cmd,
                                   const std::function<void(const cma::op_record&)>& on_op);

} // namespace cmasim
