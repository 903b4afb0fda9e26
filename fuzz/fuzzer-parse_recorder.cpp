// fuzz/fuzzer-parse_recorder.cpp — property: the recorder (@@STEP/@@LIVE) and procfs parsers
// never crash and always explain a malformed line.
#include <cma/formats/procfs.hpp>
#include <cma/formats/recorder.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& p : {cma::formats::recorder::parse_line(text), cma::formats::procfs::parse_line(text)})
    if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  return 0;
}
