// tests/test_traces.cpp — the model against real 6.1 arm64 kernels (tests/data/traces,
// recorded under QEMU; see its README).  The model is driven directly from the trace
// events here (the replay engine has its own tests): the boot-time DMA pool
// allocations first, then every workload step, each busy retry the trace shows used as
// the busy oracle.  Every cma_alloc_finish must come out identical.
#include "helpers.hpp"

#include <cma/formats/ftrace.hpp>
#include <cma/formats/kmsg.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

namespace {

struct outcome {
  cma::pfn_t pfn;
  bool ok;
  int err;
  std::vector<cma::pfn_t> busy;
};

struct trace_run {
  std::size_t allocs = 0, failures = 0, releases = 0, busy_retries = 0;
  std::vector<outcome> observed, predicted;
};

std::vector<cma::ev::event> events_of(const std::string& text) {
  std::vector<cma::ev::event> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto p = cma::formats::ftrace::parse_line(line);
    if (p.status == cma::formats::line_status::event) out.push_back(*p.event);
  }
  return out;
}

cma::memrange_spec area_from_dmesg(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto p = cma::formats::kmsg::parse_line(line);
    if (p.status != cma::formats::line_status::event) continue;
    if (auto r = std::get_if<cma::ev::reserved>(&*p.event)) return {r->base >> 12, r->mib * 256};
  }
  throw std::runtime_error("no 'cma: Reserved' line");
}

trace_run run_trace(const std::string& name, const char* version) {
  const auto range = area_from_dmesg(cmatest::read_fixture("traces/" + name + "/dmesg.txt"));
  cma::allocator a("reserved", range, 0, cmatest::prof(version));
  trace_run run;
  std::optional<cma::ev::alloc_start> start;
  std::vector<cma::pfn_t> busy;
  for (const auto& e : events_of(cmatest::read_fixture("traces/" + name + "/trace.txt"))) {
    if (auto s = std::get_if<cma::ev::alloc_start>(&e)) start = *s, busy.clear();
    else if (auto b = std::get_if<cma::ev::busy_retry>(&e)) busy.push_back(b->pfn);
    else if (auto f = std::get_if<cma::ev::alloc_finish>(&e)) {
      REQUIRE(start);
      const std::set<cma::pfn_t> busy_set(busy.begin(), busy.end());
      auto r = a.alloc(start->count, start->align,
                       [&](cma::pfn_t p, cma::page_count) { return busy_set.count(p) ? cma::ebusy : 0; });
      const bool ok = f->page != 0;
      ++run.allocs;
      run.failures += !ok;
      run.busy_retries += busy.size();
      // 6.1 prints pfn=-1 when no window was tried, else the last window.
      run.observed.push_back({f->pfn, ok, ok ? 0 : cma::enomem, busy});
      std::vector<cma::pfn_t> tried;
      for (const auto& at : r.attempts)
        if (at.ret == cma::ebusy) tried.push_back(at.pfn);
      run.predicted.push_back({r.ok() ? r.pfn : r.finish_pfn, r.ok(), r.err, tried});
      start.reset();
    } else if (auto rel = std::get_if<cma::ev::release>(&e)) {
      ++run.releases;
      CHECK(a.release(rel->pfn, rel->count).ok);
    }
  }
  return run;
}

} // namespace

TEST_CASE("frag_run1: all 112 allocations and their 10 failures come out as the 6.1 kernel's") {
  auto run = run_trace("frag_run1", "6.1");
  CHECK(run.allocs == 112);
  CHECK(run.failures == 10);
  REQUIRE(run.observed.size() == run.predicted.size());
  for (std::size_t i = 0; i < run.observed.size(); ++i) {
    INFO("allocation #" << i);
    CHECK(run.predicted[i].pfn == run.observed[i].pfn);
    CHECK(run.predicted[i].ok == run.observed[i].ok);
    CHECK(run.predicted[i].err == run.observed[i].err);
  }
}

TEST_CASE("seed_cma1G, smoke and busy come out identical to the 6.1 kernel") {
  const std::string name = GENERATE(as<std::string>{}, "seed_cma1G", "smoke", "busy", "place_default_1G",
                                    "place_fixed_0x50", "place_range_1G2G");
  auto run = run_trace(name, "6.1");
  INFO(name);
  CHECK(run.allocs > 3); // the three boot-time pools plus the workload
  for (std::size_t i = 0; i < run.observed.size(); ++i) {
    INFO("allocation #" << i);
    CHECK(run.predicted[i].pfn == run.observed[i].pfn);
    CHECK(run.predicted[i].ok == run.observed[i].ok);
    CHECK(run.predicted[i].busy == run.observed[i].busy);
  }
}

TEST_CASE("busy: the eight retries step by 0x100 from the first window, as the kernel's did") {
  auto run = run_trace("busy", "6.1");
  CHECK(run.busy_retries == 8);
  const auto& big = run.observed.at(4); // 16M after the hog: the first 16M request
  REQUIRE(big.busy.size() == 8);
  for (std::size_t i = 1; i < big.busy.size(); ++i) CHECK(big.busy[i] == big.busy[i - 1] + 0x100);
  CHECK(run.predicted.at(4).pfn == 0x77500);
}

//  Every other profile places the same pfns (KERNEL-FACTS §7: the search core is the same
//  4.15 → 7.0); only the error code of a "no space" failure differs: -12 up to 6.14, -16 from 6.15.
TEST_CASE("under every other profile the pfns are the same and only the error codes differ") {
  const auto base = run_trace("frag_run1", "6.1");
  for (const char* v : {"4.15", "5.10", "6.6", "6.12", "6.15", "6.18"}) {
    INFO(v);
    auto run = run_trace("frag_run1", v);
    REQUIRE(run.predicted.size() == base.predicted.size());
    const bool new_errno = cmatest::prof(v).no_space_errno == cma::ebusy;
    for (std::size_t i = 0; i < run.predicted.size(); ++i) {
      CHECK(run.predicted[i].ok == base.predicted[i].ok);
      if (run.predicted[i].ok) CHECK(run.predicted[i].pfn == base.predicted[i].pfn);
      else {
        CHECK(run.predicted[i].err == (new_errno ? cma::ebusy : cma::enomem));
        CHECK(run.predicted[i].pfn == (new_errno ? 0 : cma::no_pfn)); // 6.15 finish prints pfn=0
      }
    }
  }
}
