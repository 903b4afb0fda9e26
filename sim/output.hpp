// sim/output.hpp — the end of every subcommand that writes to stdout.
//
// A write that fails (a full disk: `cmasim boot … > /dev/full`, a closed pipe
// when SIGPIPE is ignored, EIO) must not end in exit 0 with a truncated or empty
// output: stdio buffers what printf/fwrite/std::cout write, so the failure only
// shows at the flush, and only ferror()/the flush result/the stream state tell.
// finish_output() flushes both std::cout and C stdout and, if anything failed,
// prints "cmasim <cmd>: cannot write the output: <strerror>" on stderr and throws
// CLI::RuntimeError(exit_usage), which main() turns into exit 2.
#pragma once

#include "commands.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

namespace cmasim {

/// Flushes stdout; exit 2 (via CLI::RuntimeError) with the reason if any write to
/// it failed.  Call it once, after the last output of a subcommand.
inline void finish_output(std::string_view cmd) {
  errno = 0;
  std::cout.flush(); // with sync_with_stdio (the default) this writes into stdout's FILE
  const bool stream_failed = !std::cout;
  int err = 0;
  if (std::fflush(stdout) != 0) err = errno;
  if (!stream_failed && !err && !std::ferror(stdout)) return;
  if (err == 0) err = errno != 0 ? errno : EIO;
  std::fprintf(stderr, "cmasim %.*s: cannot write the output: %s\n", static_cast<int>(cmd.size()),
               cmd.data(), std::strerror(err));
  throw CLI::RuntimeError(exit_usage);
}

} // namespace cmasim
