// tests/test_free_run_index.cpp — the fast store answers like lib/bitmap.c (cma/free_run_index.hpp).
// Leaves of one word (64 bits) and a tree from 2 leaves up, so small random bitmaps
// exercise every path of the tree search.
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

namespace {
struct tiny_leaves : cma::free_run_index {
  explicit tiny_leaves(cma::bitmap_no_t n) : cma::free_run_index(n, 1, 2) {}
};
struct small_leaves : cma::free_run_index { // 256-bit leaves: runs skipped word by word inside a leaf
  explicit small_leaves(cma::bitmap_no_t n) : cma::free_run_index(n, 4, 2) {}
};
} // namespace

//  320 bits = 5 leaves of 64.  used: 0-9 and 70-200 (crossing leaves 1..3)
//  Expect the longest run 119 (201..319), a 60-bit request at 10 (10..69 is 60 free bits),
//  a 61-bit one at 201.
TEST_CASE("the free-run index finds runs that cross leaf boundaries") {
  tiny_leaves f(320);
  REQUIRE(f.has_tree());
  f.set(0, 10);
  f.set(70, 131);
  CHECK(f.longest_run() == 119);
  CHECK(f.find_next_zero_area_off(0, 60, 0, 0) == 10);
  CHECK(f.find_next_zero_area_off(0, 61, 0, 0) == 201);
  CHECK(f.find_next_zero_area_off(0, 60, 63, 0) == 256); // aligned to 64: 10 is not, 201 is not, 256 is
  CHECK(f.find_next_zero_area_off(0, 200, 0, 0) >= 320);
  CHECK(f.weight() == 141);
  f.clear(0, 320);
  CHECK(f.longest_run() == 320);
  CHECK(f.is_valid());
}

TEST_CASE("small areas keep no tree and search like the reference") {
  cma::free_run_index f(16384); // 8 leaves of 2048 < 9
  CHECK_FALSE(f.has_tree());
  cma::free_run_index g(1 << 20);
  CHECK(g.has_tree());
  CHECK(g.longest_run() == (1 << 20));
}

// Random set/clear/search sequences; every search must give the same index (or both
// "not found"), and the free runs must be identical after every step.
template <class Fast> void agree_op_for_op(cma::bitmap_no_t max_size) {
  rc::prop("same search answers and free runs", [max_size] {
    const auto size = *rc::gen::inRange<cma::bitmap_no_t>(1, max_size);
    cma::bit_vector_store ref(size);
    Fast fast(size);
    const int steps = *rc::gen::inRange(1, 80);
    for (int i = 0; i < steps; ++i) {
      const int kind = *rc::gen::inRange(0, 3);
      const auto a = *rc::gen::inRange<cma::bitmap_no_t>(0, size + 8);
      const auto n = *rc::gen::inRange<cma::bitmap_no_t>(0, size / 2 + 2);
      if (kind == 0) ref.set(a, n), fast.set(a, n);
      else if (kind == 1) ref.clear(a, n), fast.clear(a, n);
      else {
        const unsigned k = *rc::gen::inRange(0u, 7u);
        const cma::bitmap_no_t mask = (cma::bitmap_no_t{1} << k) - 1;
        const auto offset = *rc::gen::inRange<cma::bitmap_no_t>(0, mask + 1);
        const auto nr = *rc::gen::inRange<cma::bitmap_no_t>(1, size + 2);
        const auto r1 = ref.find_next_zero_area_off(a, nr, mask, offset);
        const auto r2 = fast.find_next_zero_area_off(a, nr, mask, offset);
        RC_ASSERT((r1 < size) == (r2 < size));
        if (r1 < size) RC_ASSERT(r1 == r2);
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

TEST_CASE("the free-run index and the plain bitmap agree op for op") {
  SECTION("one-word leaves") { agree_op_for_op<tiny_leaves>(700); }
  SECTION("four-word leaves, runs past two words") { agree_op_for_op<small_leaves>(3000); }
}
