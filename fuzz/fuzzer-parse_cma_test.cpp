// fuzz/fuzzer-parse_cma_test.cpp — property: the module-line parser (kmod/FORMAT.md and the
// recorder's format) never crashes and always explains a malformed line.
#include <cma/formats/cma_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto p = cma::formats::cma_test::parse_message(text);
  if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  return 0;
}
