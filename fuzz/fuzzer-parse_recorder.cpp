// fuzz/fuzzer-parse_recorder.cpp — property: the recorder (@@STEP/@@LIVE) and procfs parsers
// never crash and always explain a malformed line; the workload reader's `huge SIZE N`
// (formats/workload.hpp) never crashes and what it reads prints back to the same command.
#include <cma/formats/procfs.hpp>
#include <cma/formats/recorder.hpp>
#include <cma/formats/workload.hpp>

#include <string>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& p : {cma::formats::recorder::parse_line(text), cma::formats::procfs::parse_line(text)})
    if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  if (const auto cmd = cma::formats::workload::command(text))
    if (const auto h = cma::formats::workload::huge(*cmd)) {
      const auto back = cma::formats::workload::huge("huge " + std::to_string(h->kb) + "K " + std::to_string(h->count));
      if (!back || back->kb != h->kb || back->count != h->count) std::abort();
    }
  return 0;
}
