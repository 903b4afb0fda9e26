// cma/replay/replay.hpp — the replay wing: what a kernel log or trace did, re-run through the model.
//
// The files, in the order a replay uses them:
//   options.hpp      what the caller decides (area, kernel, what is kept)
//   trace_op.hpp     a trace event, compact; area names interned
//   boot_facts.hpp   the kernel and the area, from the boot lines or the options
//   state_checks.hpp lines that print the area's state, against the model
//   judge.hpp        one operation against the model: verdict, failure reason, record
//   cross_check.hpp  pr_debug lines against the traced operations
//   trace_replay.hpp the replay of the trace events (start/finish paired per area and task)
//   kmsg_replay.hpp  the replay of a log with no trace events
//   replayer.hpp     the engine, fed one event at a time (streamed or batch)
//   report.hpp       what it found: the report every command builds on
// and replay() below, the batch form over read_log's results.
#pragma once

#include "replayer.hpp"

namespace cma {

/// Replays the inputs (each read by formats::read_log) through the model: the batch
/// form of replayer, same report.  (A replayer fed by hand that reports
/// needs_batch_replay must be run again by its caller, as `cmasim replay` does.)
inline replay_report replay(const std::vector<formats::read_result>& inputs, const replay_options& options = {}) {
  // Records handed to on_op cannot be taken back: with it, the one pass is the batch one
  // (the inputs are in memory already, so streaming would save nothing).
  auto opt = options;
  if (opt.on_op) opt.stream = false;
  replay_report report;
  {
    replayer r(opt);
    for (const auto& in : inputs) {
      for (const auto& e : in.events) r.on_event(e);
      for (const auto& u : in.unrecognised) r.on_unrecognised(u);
      r.end_input({in.lines, in.cma_lines, in.trace_overrun});
    }
    report = std::move(r).finish();
  }
  if (!report.needs_batch_replay) return report;
  auto batch = opt;
  batch.stream = false;
  return replay(inputs, batch);
}

} // namespace cma
