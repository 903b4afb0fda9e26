// fuzz/fuzzer-parse_log.cpp — property: a whole input (any bytes) goes through read_log and
// replay without crashing; every line is counted; the verdicts add up to the operations.
#include <cma/replay/replay.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto in = cma::formats::read_log(text, 0);
  if (in.cma_lines > in.lines + in.events.size()) std::abort();
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x40000000, 1u << 20, 0}; // 256 pages: small, so fuzzing is fast
  const auto r = cma::replay({in}, opt);
  std::size_t sum = 0;
  for (auto v : {cma::verdict::matched, cma::verdict::diverged, cma::verdict::inferred, cma::verdict::unchecked})
    sum += r.count_of(v);
  if (sum != r.ops.size()) std::abort();
  // The bounded form `cmasim replay -v/--json` uses: every record once, in order, and only
  // notable ones kept; the boot lines' own area (refused when no kernel could have it).
  cma::replay_options streamed;
  streamed.keep_matched = false;
  streamed.max_kept_ops = 4;
  streamed.max_unrecognised = 2;
  std::uint64_t next = 0;
  bool in_order = true;
  streamed.on_op = [&](const cma::op_record& o) { in_order = in_order && o.seq == next++; };
  const auto s = cma::replay({in}, streamed);
  if (!in_order || next != s.op_count()) std::abort();
  if (s.ops.size() > 4 || s.unrecognised.size() > 2 || s.unrecognised_total != in.unrecognised.size()) std::abort();
  return 0;
}
