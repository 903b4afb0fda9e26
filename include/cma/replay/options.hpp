// cma/replay/options.hpp — what the caller decides about a replay.
//
// The area and kernel override what the boot lines say; stream/keep_matched/on_op
// decide what is kept in memory.  Every per-input quantity that could grow with the
// input is bounded here: records kept (max_kept_ops), lines not understood kept
// (max_unrecognised).  A caller that wants every record without holding them (the CLI's
// -v and --json) gives on_op, which receives each record once it is final.
#pragma once

#include "../kernel_version.hpp"
#include "report.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace cma {

struct area_spec {
  std::string name = "reserved";
  std::uint64_t base = 0;   ///< bytes
  std::uint64_t size = 0;   ///< bytes
  unsigned order_per_bit = 0;
};

struct replay_options {
  std::optional<kernel_version> kernel; ///< overrides the banner
  std::optional<area_spec> area;        ///< overrides the boot lines
  bool mid_stream = false;              ///< treat the input as starting mid-stream
  /// Keep every op_record in replay_report::ops (false: only the notable ones).  Ignored
  /// when on_op is set: records then go there and only notable ones are kept.
  bool keep_matched = true;
  /// Every operation's record, in replay order, once nothing will change it.
  std::function<void(const op_record&)> on_op;
  /// Replay trace operations as they arrive once the area and the kernel are known (from
  /// the options or from boot lines read before the trace), keeping nothing per
  /// operation; otherwise — or when this is false — they are kept and replayed by finish().
  bool stream = true;
  std::size_t max_kept_ops = 10000;     ///< notable records kept when not keeping every one
  std::size_t max_unrecognised = 1000;  ///< lines not understood kept (all are counted)
};

} // namespace cma
