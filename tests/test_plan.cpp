// tests/test_plan.cpp — the what-if sweep (cma/plan/op_list.hpp, sweep.hpp): releases
// follow their allocation, --failed hold/drop, busy windows pinned at absolute pfns, a
// non-monotonic size worked out by hand, the smallest size per version, and real traces
// whose original configuration reproduces the kernel's failures exactly.
#include "helpers.hpp"

#include <cma/plan/op_list.hpp>
#include <cma/plan/sweep.hpp>
#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using namespace cma::plan;
constexpr std::uint64_t SZ_1M = std::uint64_t{1} << 20;

cma::op_record alloc_rec(cma::page_count count, unsigned align, std::optional<cma::pfn_t> ok_pfn,
                         std::vector<cma::pfn_t> busy = {}, std::uint64_t line = 1) {
  cma::op_record o;
  o.kind = cma::op_kind::alloc;
  o.area = "reserved";
  o.count = count;
  o.align = align;
  o.observed_ok = ok_pfn.has_value();
  o.observed_pfn = ok_pfn;
  if (!ok_pfn) o.observed_err = -12;
  o.observed_busy = std::move(busy);
  o.where.line = line;
  return o;
}

cma::op_record release_rec(cma::pfn_t pfn, cma::page_count count, std::uint64_t line = 1) {
  cma::op_record o;
  o.kind = cma::op_kind::release;
  o.area = "reserved";
  o.count = count;
  o.observed_ok = true;
  o.observed_pfn = pfn;
  o.where.line = line;
  return o;
}

op_list build(const std::vector<cma::op_record>& recs) {
  op_list_builder b("reserved");
  for (const auto& r : recs) b.add(r);
  return std::move(b).finish();
}

plan_config config(const char* v, cma::pfn_t base_pfn, cma::page_count pages, unsigned opb = 0) {
  plan_config c;
  c.kernel = *cma::kernel_version::parse(v);
  c.base_pfn = base_pfn;
  c.size = pages << cma::page_shift;
  c.order_per_bit = opb;
  return c;
}

op_list list_of_trace(const std::string& folder) {
  std::vector<cma::formats::read_result> in;
  unsigned i = 0;
  for (const char* f : {"dmesg.txt", "steps.txt", "trace.txt"})
    in.push_back(cma::formats::read_log(cmatest::read_fixture(folder + "/" + f), i++));
  op_list_builder b;
  cma::replay_options opt;
  opt.on_op = [&](const cma::op_record& o) { b.add(o); };
  const auto rep = cma::replay(in, opt);
  REQUIRE(rep.all_matched());
  return std::move(b).finish();
}

} // namespace

TEST_CASE("op_list: a release points at the allocation live at its pfn; an unknown pfn is an orphan", "[plan]") {
  const auto l = build({alloc_rec(16, 0, 0x100), alloc_rec(16, 0, 0x110), release_rec(0x110, 16), release_rec(0x500, 4)});
  REQUIRE(l.ops.size() == 3);
  CHECK(l.ops[2].kind == plan_op_kind::release);
  CHECK(l.ops[2].ref == 1);
  CHECK(l.orphan_releases == 1);
  CHECK(l.allocs == 2);
  CHECK(l.releases == 1);
}

// base_pfn 0x10080, 512 pages; A asks 256 pages aligned to 256 (absolute pfn):
//   bit 0   128        384      512
//   |.......|AAAAAAAAAAAA|.......|   A lands at pfn 0x10100 (bit 128), not where the
// original had it (0x10080).  Its release must free bits 128..383; then C (512 pages,
// align 0) needs the whole area.  Expect: C served (a release by the original pfn would
// have freed bits 0..255 and left 256..383 set: C would fail).
TEST_CASE("plan: a release frees where its allocation landed in the what-if, not the original pfn", "[plan]") {
  const auto l = build({alloc_rec(256, 8, 0x10080), release_rec(0x10080, 256), alloc_rec(512, 0, 0x10080)});
  const auto r = run_config(l, config("6.1", 0x10080, 512), {});
  CHECK(r.failures == 0);
  CHECK(r.peak_used == 512);
}

// 512 pages at 0x10000.  A (512 pages) failed in the original, fits here; B (256) follows.
//   hold: |AAAAAAAAAAAAAAAA|  B: no room        Expect 1 failure (B), at B's line.
//   drop: |................|  A released at once, B served.  Expect 0 failures.
TEST_CASE("plan: --failed hold keeps a newly served request to the end, drop releases it", "[plan]") {
  const auto l = build({alloc_rec(512, 0, std::nullopt, {}, 10), alloc_rec(256, 0, 0x10000, {}, 11)});
  plan_options hold;
  const auto h = run_config(l, config("6.12", 0x10000, 512), hold);
  CHECK(h.failures == 1);
  CHECK(h.first_failure_line == 11);
  CHECK(h.newly_served == 1);
  plan_options drop;
  drop.failed = failed_policy::drop;
  const auto d = run_config(l, config("6.12", 0x10000, 512), drop);
  CHECK(d.failures == 0);
  CHECK(d.newly_served == 1);
}

// The original saw the window at pfn 0x10000 busy for A (256 pages).  With
// --busy-from-trace, an area of 256 pages at 0x10000 has only that window: Expect A to
// fail (-EBUSY).  The same area moved to 0x10100 does not contain pfn 0x10000: the pin is
// absolute, Expect A served.  Without the flag nothing is busy: Expect A served.
TEST_CASE("plan: --busy-from-trace pins the original's busy windows at the same absolute pfns", "[plan]") {
  const auto l = build({alloc_rec(256, 8, 0x10100, {0x10000})});
  plan_options busy;
  busy.busy_from_trace = true;
  CHECK(run_config(l, config("6.1", 0x10000, 256), busy).failures == 1);
  CHECK(run_config(l, config("6.1", 0x10100, 256), busy).failures == 0);
  CHECK(run_config(l, config("6.1", 0x10000, 256), {}).failures == 0);
}

// Two requests of 1024 pages aligned to 1024 (order 10), alignment on the absolute pfn.
//   8M at 0x10000 (2048 pages, base 1024-aligned): windows at bit 0 and bit 1024.  Served.
//   9M at 0x10200 (2304 pages, base 512 past a 1024 boundary): aligned starts at bit 512
//   (pfn 0x10400) and bit 1536 (0x10800), which ends at bit 2560 > 2304.  Expect the
//   second to fail: the larger area fails where the smaller served everything.
TEST_CASE("plan: a larger, worse-aligned area failing where a smaller one served is flagged non-monotonic", "[plan]") {
  const auto l = build({alloc_rec(1024, 10, 0x10000), alloc_rec(1024, 10, 0x10400)});
  std::vector<plan_point> pts;
  for (auto c : {config("6.1", 0x10000, 2048), config("6.1", 0x10200, 2304)}) pts.push_back({c, run_config(l, c, {})});
  CHECK(pts[0].result.failures == 0);
  CHECK(pts[1].result.failures == 1);
  const auto nm = non_monotonic(pts);
  REQUIRE(nm.size() == 1);
  CHECK(nm[0].larger == 1);
  CHECK(nm[0].smaller == 0);
  const auto s = smallest(pts);
  REQUIRE(s.size() == 1);
  CHECK(s[0].size == 8 * SZ_1M);
}

TEST_CASE("plan: smallest size per version; a version no size serves has none; refused is not run", "[plan]") {
  // one request of 1024 pages: 4M (1024 pages) serves it, 2M does not
  const auto l = build({alloc_rec(1024, 0, 0x10000)});
  std::vector<plan_point> pts;
  for (const char* v : {"6.1", "6.15"})
    for (cma::page_count pages : {512, 1024, 2048}) {
      auto c = config(v, 0x10000, pages);
      pts.push_back({c, run_config(l, c, {})});
    }
  auto bad = config("6.12", 0x10000, 512);
  bad.refused = "boot: no default area";
  pts.push_back({bad, run_config(l, bad, {})});
  CHECK(pts.back().result.refused);
  const auto s = smallest(pts);
  REQUIRE(s.size() == 2);
  CHECK(s[0].kernel.str() == "6.1");
  CHECK(s[0].size == 4 * SZ_1M);
  CHECK(s[1].kernel.str() == "6.15");
  CHECK(s[1].size == 4 * SZ_1M);
  CHECK(non_monotonic(pts).empty());
}

TEST_CASE("plan: a real trace's original configuration reproduces the kernel's failures exactly", "[plan][traces]") {
  plan_options busy;
  busy.busy_from_trace = true;
  SECTION("frag_run1 (6.1, 32 MiB at 0x7cc00)") {
    const auto l = list_of_trace("traces/frag_run1");
    CHECK(l.original_failures == 10);
    const auto r = run_config(l, config("6.1", 0x7cc00, 8192), busy);
    CHECK(r.failures == l.original_failures);
    CHECK(r.first_failure_line == 247);
    CHECK(r.newly_served == 0);
  }
  SECTION("rand-6.12-cma48M (6.12, 48 MiB at 0x7bc00, busy retries)") {
    const auto l = list_of_trace("recorded/rand-6.12-cma48M");
    CHECK(l.original_failures == 18);
    CHECK(run_config(l, config("6.12", 0x7bc00, 12288), busy).failures == 18);
    CHECK(run_config(l, config("6.12", 0x7bc00, 12288), busy).newly_served == 0);
  }
}

// peak_frag skips reading the largest free run while a bound says no new peak is
// possible; the answer must be the one of reading it after every operation.
TEST_CASE("plan: peak_frag equals the peak of free - largest run read after every operation", "[plan][traces]") {
  const auto l = list_of_trace("recorded/rand-6.12-cma48M");
  for (unsigned opb : {0u, 2u}) {
    const auto c = config("6.12", 0x7bc00, 8192, opb);
    auto a = cma::make_allocator("reserved", {c.base_pfn, 8192}, opb, "6.12");
    std::vector<cma::pfn_t> at(l.ops.size(), cma::no_pfn);
    cma::page_count peak = 0;
    for (std::size_t i = 0; i < l.ops.size(); ++i) {
      const auto& p = l.ops[i];
      if (p.kind == plan_op_kind::release) {
        if (at[p.ref] == cma::no_pfn) continue;
        a.release(at[p.ref], p.count);
        at[p.ref] = cma::no_pfn;
      } else {
        const auto r = a.alloc(p.count, p.align);
        if (!r.ok()) continue;
        at[i] = r.pfn;
      }
      peak = std::max(peak, a.free_pages() - a.maxchunk());
    }
    CHECK(run_config(l, c, {}).peak_frag == peak);
  }
}
