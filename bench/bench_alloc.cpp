// bench/bench_alloc.cpp — alloc+release throughput of cma::allocator (bitmap + free-run index)
// against cma::reference_allocator (plain bitmap, the kernel's own search), on areas of
// 64 MiB, 1 GiB and 16 GiB holding 10,000 live allocations of random sizes.
//
// Each iteration releases one random live allocation and allocates a new one (sizes
// log-uniform in [1, 2·pages/10,000], align = min(order, 8) as dma-direct passes it), so
// the area stays at its steady-state fragmentation.  Both implementations see the same
// request sequence (same seed).  After the runs, the ratio fast/reference is printed per
// size, with the memory each store holds: bits per page for the bitmap, and bytes per
// live allocation for the fast store's index of free runs.
#include <cma/allocator.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t live_target = 10000;

unsigned order_of(cma::page_count pages) {
  unsigned o = 0;
  while ((cma::page_count{1} << o) < pages) ++o;
  return o;
}

template <class Area> struct workload {
  Area area;
  std::mt19937_64 rng{42};
  std::vector<std::pair<cma::pfn_t, cma::page_count>> live;
  cma::page_count max_pages;

  explicit workload(cma::page_count pages)
      : area("bench", cma::memrange_spec{0x80000, pages}, 0, cma::profile::for_version({6, 1, 0})),
        max_pages(std::max<cma::page_count>(2, 2 * pages / live_target)) {
    while (live.size() < live_target) alloc_one();
  }
  cma::page_count random_size() {
    std::uniform_real_distribution<double> u(0.0, std::log(static_cast<double>(max_pages)));
    return std::max<cma::page_count>(1, static_cast<cma::page_count>(std::exp(u(rng))));
  }
  void alloc_one() {
    const auto n = random_size();
    auto r = area.alloc(n, std::min(order_of(n), 8u));
    if (r.ok()) live.emplace_back(r.pfn, n);
  }
  void step() {
    const std::size_t i = rng() % live.size();
    area.release(live[i].first, live[i].second);
    live[i] = live.back();
    live.pop_back();
    alloc_one();
  }
};

template <class Area> void bm_alloc_release(benchmark::State& st) {
  workload<Area> w(static_cast<cma::page_count>(st.range(0)));
  for (auto _ : st) w.step();
  // Memory as the target states it: bits per page (the bitmap, what grows with the area)
  // plus bytes per live allocation (the index, what grows with the allocations).
  std::size_t bitmap = 0, index = 0;
  for (const auto& rg : w.area.ranges()) {
    if constexpr (requires { rg.bitmap.index_bytes(); }) {
      bitmap += rg.bitmap.bitmap_bytes();
      index += rg.bitmap.index_bytes();
    } else {
      bitmap += rg.bitmap.memory_bytes();
    }
  }
  st.counters["bits_per_page"] = 8.0 * static_cast<double>(bitmap) / static_cast<double>(st.range(0));
  st.counters["index_B_per_live"] = static_cast<double>(index) / static_cast<double>(w.live.size());
  st.counters["live"] = static_cast<double>(w.live.size());
  st.SetItemsProcessed(st.iterations());
}

constexpr std::int64_t mib64 = 64 << 8, gib1 = 1 << 18, gib16 = std::int64_t{16} << 18; // in 4 KiB pages
BENCHMARK_TEMPLATE(bm_alloc_release, cma::allocator)->Arg(mib64)->Arg(gib1)->Arg(gib16);
BENCHMARK_TEMPLATE(bm_alloc_release, cma::reference_allocator)->Arg(mib64)->Arg(gib1)->Arg(gib16);

// Collects results so the ratios can be printed after the run, in the same process.
struct ratio_reporter : benchmark::ConsoleReporter {
  std::map<std::string, double> ns_per_op; // "fast/16384" → ns
  std::map<std::string, double> bits, index_bytes;
  // With --benchmark_repetitions=N the best repetition counts (this VM's timings swing
  // by +-10 % between runs of the very same code).
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue; // aggregates (mean, median, …)
      const std::string name = r.run_name.function_name + "/" + r.run_name.args;
      const bool fast = name.find("reference") == std::string::npos;
      const std::string key = std::string(fast ? "fast/" : "reference/") + r.run_name.args;
      const auto it = ns_per_op.find(key);
      ns_per_op[key] = it == ns_per_op.end() ? r.GetAdjustedRealTime() : std::min(it->second, r.GetAdjustedRealTime());
      if (auto it = r.counters.find("bits_per_page"); it != r.counters.end()) bits[key] = it->second;
      if (auto it = r.counters.find("index_B_per_live"); it != r.counters.end()) index_bytes[key] = it->second;
    }
  }
};

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ratio_reporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  std::printf("\nalloc+release, 10,000 live allocations: fast (bitmap + free-run index) vs reference (bitmap)\n");
  std::printf("%-8s %12s %12s %8s %15s %15s %14s\n", "area", "fast ns/op", "ref ns/op", "speedup", "fast bits/page",
              "+ index B/live", "ref bits/page");
  for (auto [pages, label] : {std::pair{mib64, "64MiB"}, std::pair{gib1, "1GiB"}, std::pair{gib16, "16GiB"}}) {
    const auto k = std::to_string(pages);
    if (!rep.ns_per_op.count("fast/" + k) || !rep.ns_per_op.count("reference/" + k)) continue;
    const double f = rep.ns_per_op["fast/" + k], r = rep.ns_per_op["reference/" + k];
    std::printf("%-8s %12.1f %12.1f %7.1fx %15.3f %15.1f %14.3f\n", label, f, r, r / f, rep.bits["fast/" + k],
                rep.index_bytes["fast/" + k], rep.bits["reference/" + k]);
  }
  benchmark::Shutdown();
  return 0;
}
