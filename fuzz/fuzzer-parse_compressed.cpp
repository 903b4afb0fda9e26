// fuzz/fuzzer-parse_compressed.cpp — compressed input (sim/decompress.hpp) into the log reader.
// Properties: any bytes, as any of the three formats, either decode or stop with an error
// that says why; the decoder never writes past its buffer; whatever text comes out, the
// log reader takes it (and the field-log collector its events) without crashing.  The
// output is bounded per input (the fuzzer's -max_len caps the input; a piece is at most
// 64 KiB and is dropped after the reader has seen it).
#include "../sim/decompress.hpp"

#include <cma/formats/log_reader.hpp>
#include <cma/replay/field_log.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
struct sink {
  cma::field_log field;
  void on_event(cma::ev::event&& e, const cma::ev::source& w, cma::ev::origin from) {
    if (from != cma::ev::origin::ftrace) field.on(e, w);
  }
  void on_unrecognised(cma::formats::unrecognised_line) {}
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto c : {cmasim::sniff(in), cmasim::compression::gzip, cmasim::compression::xz, cmasim::compression::zstd}) {
    if (c == cmasim::compression::none) continue;
    sink s;
    cma::formats::log_reader reader(0, s);
    cmasim::decoder dec(c);
    std::size_t out = 0;
    const auto take = [&](std::string_view piece) {
      if (piece.size() > (std::size_t{1} << 16)) std::abort();
      out += piece.size();
      if (out < (std::size_t{16} << 20)) reader.feed(piece); // a bomb costs time, not memory
    };
    // in two pieces, so a stream split anywhere is decoded as one
    const bool ok = dec.feed(in.substr(0, size / 2), take) && dec.feed(in.substr(size / 2), take) && dec.finish(take);
    if (!ok && !dec.error()) std::abort();
    reader.finish();
    s.field.finish();
  }
  return 0;
}
