// fuzzer-parse_cmdline — the kernel command line as cma/boot/early_cma.hpp reads it.
//
// Property, for any bytes: split_cmdline() and parse_early_cma_params() never
// crash, throw or read out of bounds (for every version series modelled); the
// `cma=` state they produce survives a print/parse round trip
// (parse("cma=" + format_cma_param(x)) has the same size, base and limit); every
// memparse() consumes no more than its input and format_memparse() round-trips.
// The same bytes also go through memblock_debug::parse() (cma/formats/
// memblock_debug.hpp), whose property is only "never crashes, and a result has
// memory".
#include <cma/boot/early_cma.hpp>
#include <cma/formats/memblock_debug.hpp>
#include <cma/boot/memparse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_cmdline(std::string_view text, const cma::kernel_version& kv) {
  const auto p = cma::parse_early_cma_params(text, kv);
  if (p.cma.given) {
    const auto back = cma::parse_early_cma_params("cma=" + cma::format_cma_param(p.cma), kv);
    require(back.cma.given);
    require(back.cma.size == p.cma.size);
    require(back.cma.base == p.cma.base);
    require(back.cma.limit == p.cma.limit);
    require(back.cma.ignored_tail.empty());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const cma::kernel_version kv : {cma::kernel_version{4, 15}, cma::kernel_version{5, 10},
                                       cma::kernel_version{6, 1}, cma::kernel_version{6, 12}})
    check_cmdline(text, kv);
  const auto m = cma::memparse(text);
  require(m.consumed <= text.size());
  require(cma::memparse(cma::format_memparse(m.value)).value == m.value);
  for (const auto& w : cma::split_cmdline(text)) require(w.name.size() <= text.size());
  const auto log = cma::formats::memblock_debug::parse(text);
  if (log) require(!log.log->mb.memory().empty() && log.log->mb.is_valid());
  return 0;
}
