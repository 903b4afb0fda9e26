// tests/test_free_extents.cpp — the fast store answers like lib/bitmap.c (cma/free_extents.hpp).
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

TEST_CASE("free_extents starts as one run and splits and merges runs") {
  cma::free_extents f(100);
  CHECK(f.runs() == 1);
  f.set(10, 5);
  CHECK(f.runs() == 2);
  CHECK(f.weight() == 5);
  f.set(12, 10); // overlaps the used range: only new bits count
  CHECK(f.weight() == 12);
  f.clear(0, 100);
  CHECK(f.runs() == 1);
  CHECK(f.free_bits() == 100);
  CHECK(f.is_valid());
}

// Random set/clear/search sequences on both stores; every search must give the same
// index (or both "not found"), and the free runs must be identical after every step.
TEST_CASE("free_extents and the plain bitmap agree op for op") {
  rc::prop("same search answers and free runs", [] {
    const auto size = *rc::gen::inRange<cma::bitmap_no_t>(1, 400);
    cma::bit_vector_store ref(size);
    cma::free_extents fast(size);
    const int steps = *rc::gen::inRange(1, 80);
    for (int i = 0; i < steps; ++i) {
      const int kind = *rc::gen::inRange(0, 3);
      const auto a = *rc::gen::inRange<cma::bitmap_no_t>(0, size + 8);
      const auto n = *rc::gen::inRange<cma::bitmap_no_t>(0, size / 2 + 2);
      if (kind == 0) ref.set(a, n), fast.set(a, n);
      else if (kind == 1) ref.clear(a, n), fast.clear(a, n);
      else {
        const unsigned k = *rc::gen::inRange(0u, 6u);
        const cma::bitmap_no_t mask = (cma::bitmap_no_t{1} << k) - 1;
        const auto offset = *rc::gen::inRange<cma::bitmap_no_t>(0, mask + 1);
        const auto nr = *rc::gen::inRange<cma::bitmap_no_t>(1, size + 2);
        const auto r1 = ref.find_next_zero_area_off(a, nr, mask, offset);
        const auto r2 = fast.find_next_zero_area_off(a, nr, mask, offset);
        const bool f1 = r1 + nr <= size && r1 < size, f2 = r2 < size;
        RC_ASSERT(f1 == f2);
        if (f1) RC_ASSERT(r1 == r2);
      }
      RC_ASSERT(fast.is_valid());
      RC_ASSERT(ref.weight() == fast.weight());
      std::vector<std::pair<cma::bitmap_no_t, cma::bitmap_no_t>> x, y;
      ref.for_each_free_run([&](auto s, auto l) { x.emplace_back(s, l); });
      fast.for_each_free_run([&](auto s, auto l) { y.emplace_back(s, l); });
      RC_ASSERT(x == y);
      RC_ASSERT(ref.longest_run() == fast.longest_run());
    }
  });
}
