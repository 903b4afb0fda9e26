// fuzz/fuzzer-parse_kmsg.cpp — property: kmsg::unwrap returns a suffix of its input, and
// kmsg::parse_line never crashes and always explains a malformed line.
#include <cma/formats/kmsg.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto u = cma::formats::kmsg::unwrap(text);
  if (u.message.data() < text.data() || u.message.data() + u.message.size() > text.data() + text.size()) std::abort();
  const auto p = cma::formats::kmsg::parse_line(text);
  if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  if (p.event)
    if (auto sa = std::get_if<cma::ev::show_areas>(&*p.event); sa && sa->runs.size() > size) std::abort();
  return 0;
}
