// fuzz/fuzzer-parse_ftrace.cpp — property: formats::ftrace::parse_line never crashes, and
// whatever it accepts as an event has an align order <= 64 and, for malformed lines, says why.
#include <cma/formats/ftrace.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto p = cma::formats::ftrace::parse_line(text);
  if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  if (p.event) {
    if (auto s = std::get_if<cma::ev::alloc_start>(&*p.event); s && s->align > 64) std::abort();
    if (auto f = std::get_if<cma::ev::alloc_finish>(&*p.event); f && f->align > 64) std::abort();
  }
  return 0;
}
