// sim/cmd_workload.cpp — `cmasim workload`: a random workload for /dev/cma_test.
//
// The output is a workload file (kmod/README.md): one command per line as written
// to the device, '#' comments.  The same seed gives the same file on every
// platform: the generator uses std::mt19937_64 (its output sequence is fixed by
// the standard) and its own integer-only distributions, never std::*_distribution
// or floating point, whose results differ between standard libraries.
//
// Sizes are log-uniform in pages (a bit length drawn uniformly, then a uniform
// value of that length), so single pages, small odd counts and large non-powers of
// two all appear; byte-sized requests add a sub-page remainder.  Frees name the
// k-th live allocation (`freeidx k`, k modulo the number live), so the file needs
// no knowledge of which allocations failed.  --busy adds scenarios that plant
// unmovable pages inside the area (`hog`) so that cma_alloc() meets -EBUSY.
#include "commands.hpp"
#include "output.hpp"

#include <fmt/format.h>
#include <memory>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace cmasim {
namespace {

struct workload_options {
  std::uint64_t seed = 1;
  std::uint64_t ops = 200;
  std::uint64_t max_pages = 4096;
  bool busy = false;
  std::string out; // empty: stdout
};

// Integer distributions with a fixed definition (rejection sampling, no modulo bias).
class rng {
 public:
  explicit rng(std::uint64_t seed) : gen_(seed) {}

  // Uniform in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n; // multiple of n
    for (;;) {
      const std::uint64_t x = gen_();
      if (x < limit) return x % n;
    }
  }
  // Uniform in [lo, hi], lo <= hi.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    if (hi - lo == UINT64_MAX) return gen_();
    return lo + below(hi - lo + 1);
  }
  // True with probability num/den.
  bool chance(std::uint64_t num, std::uint64_t den) { return below(den) < num; }
  // Log-uniform in [1, max]: bit length uniform, then uniform within that length.
  std::uint64_t log_uniform(std::uint64_t max) {
    unsigned bits = 0;
    while ((max >> bits) > 1) ++bits; // floor(log2(max))
    const unsigned b = static_cast<unsigned>(below(bits + 1));
    const std::uint64_t lo = std::uint64_t{1} << b;
    const std::uint64_t hi = b == 63 ? UINT64_MAX : (lo << 1) - 1;
    return between(lo, hi < max ? hi : max);
  }

 private:
  std::mt19937_64 gen_;
};

constexpr std::uint64_t page_size = 4096;

// One allocation command of `pages` pages, in one of the protocol's spellings.
std::string alloc_command(rng& r, std::uint64_t pages) {
  const std::uint64_t bytes = pages * page_size;
  const std::uint64_t pick = r.below(100);
  if (pick < 50) return fmt::format("allocp {}", pages);
  if (pick < 60 && bytes % (1u << 20) == 0) return fmt::format("alloc {}M", bytes >> 20);
  if (pick < 75) return fmt::format("alloc {}K", bytes >> 10);
  // bytes with a sub-page remainder: same page count, exercises PAGE_ALIGN/get_order
  return fmt::format("alloc {}", bytes - r.below(page_size));
}

// The busy scenario of tests/data/traces/busy: empty the area, allocate and free a
// buffer (its pages sit on the per-CPU free lists), hold some of those pages
// (`hog`), then ask for a larger buffer whose first-fit window covers them.
void busy_scenario(rng& r, std::vector<std::string>& out) {
  const std::uint64_t mib = r.between(2, 8);
  out.push_back("# busy scenario: free a buffer, hold its pages, allocate across them");
  out.push_back("freeall");
  out.push_back(fmt::format("alloc {}M", mib));
  out.push_back("free");
  out.push_back(fmt::format("hog {}", r.between(1, 16)));
  out.push_back(fmt::format("alloc {}M", mib + r.between(1, 8)));
  out.push_back(fmt::format("allocp {}", r.log_uniform(1024)));
  out.push_back("unhog");
}

std::vector<std::string> generate(const workload_options& o) {
  rng r(o.seed);
  std::vector<std::string> lines;
  lines.push_back(fmt::format("# cmasim workload --seed {} --ops {} --max-pages {}{}", o.seed,
                              o.ops, o.max_pages, o.busy ? " --busy" : ""));
  lines.push_back("# one command per line as written to /dev/cma_test (kmod/README.md)");

  std::uint64_t emitted = 0;
  auto emit = [&](std::string s) {
    lines.push_back(std::move(s));
    ++emitted;
  };
  // Busy scenarios: spread over the run, at least one, about one per 150 ops.
  std::vector<std::uint64_t> busy_at;
  if (o.busy) {
    const std::uint64_t n = o.ops / 150 + 1;
    for (std::uint64_t i = 0; i < n; ++i) busy_at.push_back((o.ops * (2 * i + 1)) / (2 * n));
  }
  std::size_t next_busy = 0;
  std::uint64_t live_estimate = 0; // allocations minus frees: an upper bound on live

  emit("nowarn 0");
  while (emitted < o.ops) {
    if (next_busy < busy_at.size() && emitted >= busy_at[next_busy] && o.ops - emitted >= 7) {
      std::vector<std::string> sc;
      busy_scenario(r, sc);
      for (auto& s : sc) {
        if (s[0] == '#')
          lines.push_back(std::move(s));
        else
          emit(std::move(s));
      }
      live_estimate = 2; // the two allocations of the scenario, if they succeeded
      ++next_busy;
      continue;
    }
    const std::uint64_t pick = r.below(1000);
    // Allocate more often while few are live, free more often once many are.
    const std::uint64_t p_alloc = live_estimate < 8 ? 750 : live_estimate < 64 ? 560 : 400;
    if (pick < p_alloc) {
      const std::uint64_t kind = r.below(100);
      if (kind < 12) {
        emit(alloc_command(r, 1)); // single pages never reach CMA (dma-direct)
      } else if (kind < 16 && o.max_pages >= 256) {
        emit(fmt::format("{}", r.between(1, o.max_pages / 256))); // legacy: N MiB, coherent
      } else {
        emit(alloc_command(r, r.log_uniform(o.max_pages)));
      }
      ++live_estimate;
    } else if (pick < p_alloc + 20) {
      emit(r.chance(1, 2) ? "mode pages" : "mode coherent");
    } else if (pick < p_alloc + 25) {
      emit(r.chance(1, 2) ? "nowarn 1" : "nowarn 0");
    } else if (pick < p_alloc + 28 && live_estimate > 0) {
      emit("freeall");
      live_estimate = 0;
    } else if (live_estimate > 0) {
      if (r.chance(1, 10))
        emit("free"); // the oldest
      else
        emit(fmt::format("freeidx {}", r.below(1u << 20)));
      --live_estimate;
    } else {
      emit(alloc_command(r, r.log_uniform(o.max_pages)));
      ++live_estimate;
    }
  }
  return lines;
}

} // namespace

void add_workload_command(CLI::App& app) {
  auto opts = std::make_shared<workload_options>();
  CLI::App* cmd = app.add_subcommand(
      "workload", "Print a random /dev/cma_test workload (deterministic for a seed)");
  // CLI11 converts "-1" to an unsigned option as 2^64-1 and saturates 2^64 to it;
  // the validator runs on the text first, so a sign, a space, a non-digit or a
  // number beyond 2^64-1 is refused by name (exit 2).
  const CLI::Validator decimal(
      [](std::string& v) -> std::string {
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
          return "expected a non-negative decimal integer, got '" + v + "'";
        const std::string digits = v.substr(std::min(v.find_first_not_of('0'), v.size()));
        static const std::string max = "18446744073709551615";
        if (digits.size() > max.size() || (digits.size() == max.size() && digits > max))
          return "'" + v + "' is larger than 2^64-1";
        return {};
      },
      "UINT");
  cmd->add_option("--seed", opts->seed, "random seed (0 … 2^64-1)")->required()->check(decimal);
  cmd->add_option("--ops", opts->ops, "number of commands")
      ->required()
      ->check(decimal)
      ->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--max-pages", opts->max_pages, "largest request in pages (default 4096)")
      ->check(decimal)
      ->check(CLI::Range(1, 1 << 22));
  cmd->add_flag("--busy", opts->busy, "add -EBUSY scenarios (hog/unhog)");
  cmd->add_option("-o,--out", opts->out, "write to FILE instead of stdout");
  cmd->callback([opts] {
    const auto lines = generate(*opts);
    std::string text;
    for (const auto& l : lines) {
      text += l;
      text += '\n';
    }
    if (opts->out.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      finish_output("workload");
      return;
    }
    std::FILE* f = std::fopen(opts->out.c_str(), "w");
    if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
      fmt::print(stderr, "cmasim workload: cannot write {}\n", opts->out);
      throw CLI::RuntimeError(exit_usage);
    }
  });
}

} // namespace cmasim
