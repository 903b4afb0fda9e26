// tests/test_properties.cpp — rapidcheck state machine: the fast allocator against the
// reference, op for op (random alloc / release / partial release / pin / unpin on random
// areas and kernel profiles), plus a planted bug the harness must catch and shrink.
// The generators include what no sane caller passes but an input can (issue 10 #10):
// alignments up to 63 and far beyond (the mask saturates, order_per_bit.hpp), allocation
// counts near 2^64 (the kernel's ALIGN wraps), releases of huge counts and releases whose
// pfn + count wraps past 2^64 — both stores must agree on all of them.
// Every run prints its seed; replay one with RC_PARAMS="seed=N".
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <rapidcheck/detail/Configuration.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <iostream>
#include <memory>

namespace {

using cma::page_count;
using cma::pfn_t;

// The obviously correct model: the reference allocator plus what the test knows.
struct model {
  cma::reference_allocator ref;
  std::vector<std::pair<pfn_t, page_count>> live;
  std::shared_ptr<cma::unmovable_pages> pinned = std::make_shared<cma::unmovable_pages>();
};

template <class Area> struct sut {
  Area area;
  std::size_t ops = 0;
  std::size_t* first_mismatch_ops = nullptr; // planted-bug bookkeeping
};

template <class Area> using command = rc::state::Command<model, sut<Area>>;

cma::busy_oracle oracle_of(const model& m) {
  auto pins = m.pinned;
  // A window of count near 2^64 (an allocation whose bitmap count wrapped to 0) would
  // make unmovable_pages build the interval [p, p + n) with a wrapped end: the window
  // is clamped at 2^64 - 1 here.
  return [pins](pfn_t p, page_count n) { return (*pins)(p, std::min(n, ~pfn_t{0} - p)); };
}

template <class Area> void same_state(const cma::reference_allocator& ref, const sut<Area>& s) {
  RC_ASSERT(s.area.is_valid());
  RC_ASSERT(ref.free_runs() == s.area.free_runs());
  RC_ASSERT(ref.available_count() == s.area.available_count());
  RC_ASSERT(ref.maxchunk() == s.area.maxchunk());
}

template <class Area> void expect(bool ok, sut<Area>& s) {
  if (!ok && s.first_mismatch_ops && (*s.first_mismatch_ops == 0 || s.ops < *s.first_mismatch_ops))
    *s.first_mismatch_ops = s.ops;
  RC_ASSERT(ok);
}

// Counts a release or an allocation may carry: mostly small, sometimes near 2^64.
rc::Gen<page_count> any_count(page_count small_max) {
  return rc::gen::weightedOneOf<page_count>(
      {{12, rc::gen::inRange<page_count>(0, small_max)},
       {1, rc::gen::element<page_count>(~page_count{0}, ~page_count{0} - 1, ~page_count{0} - 3, page_count{1} << 63,
                                        page_count{1} << 32, (page_count{1} << 32) + 1)}});
}

// Alignment orders: the usual ones, everything the parsers accept (..63), and beyond.
rc::Gen<unsigned> any_align() {
  return rc::gen::weightedOneOf<unsigned>({{12, rc::gen::inRange(0u, 9u)},
                                           {2, rc::gen::inRange(9u, 64u)},
                                           {1, rc::gen::element(63u, 64u, 65u, 66u, 127u, 128u, ~0u)}});
}

template <class Area> struct alloc_cmd : command<Area> {
  page_count count = *any_count(80);
  unsigned align = *any_align();
  bool no_warn = *rc::gen::arbitrary<bool>();
  void apply(model& m) const override {
    auto r = m.ref.alloc(count, align, oracle_of(m), no_warn);
    if (r.ok()) m.live.emplace_back(r.pfn, count);
  }
  void run(const model& m, sut<Area>& s) const override {
    auto ref = m.ref; // the reference's answer for this state
    const auto want = ref.alloc(count, align, oracle_of(m), no_warn);
    ++s.ops;
    const auto got = s.area.alloc(count, align, oracle_of(m), no_warn);
    expect(want == got, s);
    same_state(ref, s);
  }
  void show(std::ostream& os) const override { os << "alloc(" << count << ", align " << align << ")"; }
};

template <class Area> struct release_cmd : command<Area> {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 1000);
  bool partial = *rc::gen::arbitrary<bool>();
  page_count skip = *rc::gen::inRange<page_count>(0, 8);
  void checkPreconditions(const model& m) const override { RC_PRE(!m.live.empty()); }
  std::pair<pfn_t, page_count> target(const model& m) const {
    auto [pfn, n] = m.live[pick % m.live.size()];
    if (partial && n > 1) {
      const page_count off = skip % n;
      return {pfn + off, (n - off + 1) / 2};
    }
    return {pfn, n};
  }
  void apply(model& m) const override {
    auto [pfn, n] = target(m);
    m.ref.release(pfn, n);
    m.live.erase(m.live.begin() + static_cast<std::ptrdiff_t>(pick % m.live.size()));
  }
  void run(const model& m, sut<Area>& s) const override {
    auto ref = m.ref;
    auto [pfn, n] = target(m);
    ++s.ops;
    expect(ref.release(pfn, n) == s.area.release(pfn, n), s);
    same_state(ref, s);
  }
  void show(std::ostream& os) const override { os << "release(live #" << pick << (partial ? ", part)" : ")"); }
};

template <class Area> struct release_any_cmd : command<Area> { // arbitrary, possibly invalid, releases
  // base + delta: below, inside or past the area; with any_count's counts near 2^64,
  // pfn + count passes 2^64 (the sum the stores must clamp, never wrap)
  std::int64_t delta = *rc::gen::inRange<std::int64_t>(-4, 600);
  page_count count = *any_count(40);
  void apply(model& m) const override { m.ref.release(m.ref.base_pfn() + static_cast<pfn_t>(delta), count); }
  void run(const model& m, sut<Area>& s) const override {
    auto ref = m.ref;
    const pfn_t pfn = m.ref.base_pfn() + static_cast<pfn_t>(delta);
    ++s.ops;
    expect(ref.release(pfn, count) == s.area.release(pfn, count), s);
    same_state(ref, s);
  }
  void show(std::ostream& os) const override { os << "release(base" << (delta >= 0 ? "+" : "") << delta << ", " << count << ")"; }
};

template <class Area> struct pin_cmd : command<Area> { // an unmovable page appears (or goes)
  std::int64_t delta = *rc::gen::inRange<std::int64_t>(0, 520);
  bool add = *rc::gen::arbitrary<bool>();
  void apply(model& m) const override {
    auto pins = std::make_shared<cma::unmovable_pages>(*m.pinned); // copy: the model is a value
    if (add) pins->add(m.ref.base_pfn() + static_cast<pfn_t>(delta));
    else pins->remove(m.ref.base_pfn() + static_cast<pfn_t>(delta), 64);
    m.pinned = pins;
  }
  void run(const model&, sut<Area>&) const override {}
  void show(std::ostream& os) const override { os << (add ? "pin(base+" : "unpin(base+") << delta << ")"; }
};

template <class Area> void run_machine(std::size_t* first_mismatch = nullptr) {
  static const char* versions[] = {"4.15", "5.10", "6.1", "6.6", "6.12", "6.15", "6.18"};
  const char* v = versions[*rc::gen::inRange(0, 7)];
  const unsigned opb = *rc::gen::inRange(0u, 3u);
  // an area a kernel could have (cma_init_reserved_mem.hpp): base and size whole 2^opb-page blocks
  const pfn_t base = *rc::gen::inRange<pfn_t>(0x1000 >> opb, 0x1100 >> opb) << opb;
  const page_count count = *rc::gen::inRange<page_count>(1, (page_count{513} >> opb) + 1) << opb;
  const auto p = cma::profile::for_version(*cma::kernel_version::parse(v));
  model m0{cma::reference_allocator("t", cma::memrange_spec{base, count}, opb, p), {}, std::make_shared<cma::unmovable_pages>()};
  sut<Area> s{Area("t", cma::memrange_spec{base, count}, opb, p), 0, first_mismatch};
  rc::state::check(m0, s, [](const model&) {
    return rc::state::gen::execOneOfWithArgs<alloc_cmd<Area>, alloc_cmd<Area>, alloc_cmd<Area>, release_cmd<Area>,
                                             release_cmd<Area>, release_any_cmd<Area>, pin_cmd<Area>>()();
  });
}

// A planted bug: the search forgets the alignment offset of an unaligned base_pfn.
struct forgets_offset : cma::free_run_index {
  using cma::free_run_index::free_run_index;
  cma::bitmap_no_t find_next_zero_area_off(cma::bitmap_no_t start, std::uint64_t nr, cma::bitmap_no_t mask,
                                           cma::bitmap_no_t) const noexcept {
    return cma::free_run_index::find_next_zero_area_off(start, nr, mask, 0);
  }
};

// The fast store with its index on from the smallest area and four runs per block, so the
// state machine's small areas exercise the index (by default they keep none).
struct indexed_store : cma::free_run_index {
  explicit indexed_store(cma::bitmap_no_t n) : cma::free_run_index(n, 4, 0) {}
};

void print_seed() {
  std::cout << "rapidcheck seed=" << rc::detail::configuration().testParams.seed
            << " (reproduce with RC_PARAMS=\"seed=" << rc::detail::configuration().testParams.seed << "\")\n";
}

} // namespace

TEST_CASE("the fast allocator matches the reference op for op") {
  print_seed();
  rc::prop("alloc/release/pin sequences on random areas and profiles", [] { run_machine<cma::allocator>(); });
}

TEST_CASE("the fast allocator with its free-run index on matches the reference op for op") {
  print_seed();
  rc::prop("alloc/release/pin sequences on random areas and profiles",
           [] { run_machine<cma::basic_area<indexed_store>>(); });
}

TEST_CASE("the harness catches and shrinks a planted alignment bug") {
  print_seed();
  std::size_t first_mismatch = 0;
  const bool passed = rc::check("planted bug: alignment offset ignored",
                                [&] { run_machine<cma::basic_area<forgets_offset>>(&first_mismatch); });
  CHECK_FALSE(passed);
  // Shrinking must reduce it to the one allocation that shows the bug.
  CHECK(first_mismatch >= 1);
  CHECK(first_mismatch <= 2);
}
