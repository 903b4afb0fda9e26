// fuzz/fuzzer-parse_ftrace.cpp — property: formats::ftrace::parse_line never crashes, and
// whatever it accepts as an event has an align order <= 63 (what a kernel can print: mm/cma.c shifts by it) and, for malformed lines, says why;
// and wherever the front-to-back reader of the kernel's layout answers, the general
// key=value reader gives the same event (the fast path never changes an answer).
#include <cma/formats/ftrace.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
namespace ev = cma::ev;

bool same_event(const ev::event& a, const ev::event& b) {
  if (a.index() != b.index()) return false;
  if (auto x = std::get_if<ev::alloc_start>(&a)) {
    const auto& y = std::get<ev::alloc_start>(b);
    return x->name == y.name && x->count == y.count && x->align == y.align && x->available == y.available && x->total == y.total;
  }
  if (auto x = std::get_if<ev::alloc_finish>(&a)) {
    const auto& y = std::get<ev::alloc_finish>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count && x->align == y.align &&
           x->errorno == y.errorno && x->legacy == y.legacy;
  }
  if (auto x = std::get_if<ev::busy_retry>(&a)) {
    const auto& y = std::get<ev::busy_retry>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count && x->align == y.align;
  }
  if (auto x = std::get_if<ev::release>(&a)) {
    const auto& y = std::get<ev::release>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count;
  }
  return false;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto p = cma::formats::ftrace::parse_line(text);
  if (p.status == cma::formats::line_status::malformed && p.why.empty()) std::abort();
  if (p.event) {
    if (auto s = std::get_if<cma::ev::alloc_start>(&*p.event); s && s->align > 63) std::abort();
    if (auto f = std::get_if<cma::ev::alloc_finish>(&*p.event); f && f->align > 63) std::abort();
  }
  namespace ft = cma::formats::ftrace::detail_;
  if (const auto loc = ft::locate(text)) {
    cma::formats::parsed_line fast;
    if (ft::parse_canonical(*loc, fast)) {
      const auto general = ft::parse_general(*loc);
      if (!general.event || !same_event(*fast.event, *general.event) || fast.time != general.time) std::abort();
    }
  }
  return 0;
}
