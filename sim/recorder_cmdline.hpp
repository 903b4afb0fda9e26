// sim/recorder_cmdline.hpp — the kernel command line sim/recorder/record.sh boots with.
//
// record.sh prepends its fixed arguments (console, ring sizes, the cma trace events,
// panic=-1, dynamic debug of mm/cma.c) to the user's, each unless the user's command line
// already has its key.  `cmasim emulate` and `cmasim mount` give the emulated kernel the same
// line, so what they print is what a recording of the same session prints.
#pragma once

#include <cma/boot/early_cma.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace cmasim {

/// record.sh's fixed arguments, each unless the user's command line already has its key
/// (the words as the kernel splits them: cma::split_cmdline), then the user's own.
inline std::string recorder_cmdline(const std::string& user) {
  static const std::vector<std::string> fixed{"console=ttyAMA0", "log_buf_len=16M", "trace_buf_size=16M",
                                              "trace_event=cma:*", "panic=-1", "dyndbg=\"file mm/cma.c +p\""};
  const auto words = cma::split_cmdline(user);
  std::string out;
  for (const auto& f : fixed) {
    const auto key = f.substr(0, f.find('='));
    const bool have = std::any_of(words.begin(), words.end(), [&](const cma::kernel_param& w) { return w.name == key; });
    if (!have) out += (out.empty() ? "" : " ") + f;
  }
  const auto b = user.find_first_not_of(" \t\r\n");
  if (b != std::string::npos) out += (out.empty() ? "" : " ") + user.substr(b, user.find_last_not_of(" \t\r\n") - b + 1);
  return out;
}

} // namespace cmasim
