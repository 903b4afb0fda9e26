// tests/test_free_run_index.cpp — the fast store answers like lib/bitmap.c (cma/free_run_index.hpp).
// Blocks of two or four runs and an index from the smallest areas up, so small random
// bitmaps exercise every split, merge and bound of the index.
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

namespace {
struct tiny_blocks : cma::free_run_index { // two runs per block: a split or a merge at almost every step
  explicit tiny_blocks(cma::bitmap_no_t n) : cma::free_run_index(n, 2, 0) {}
};
struct small_blocks : cma::free_run_index { // four runs per block: bounds that skip whole blocks
  explicit small_blocks(cma::bitmap_no_t n) : cma::free_run_index(n, 4, 0) {}
};
} // namespace

//  320 bits, used: 0-9 and 70-200    |##########.....60.....#####...131...#####.....119.....|
//  Expect the longest run 119 (201..319), a 60-bit request at 10 (10..69 is 60 free bits),
//  a 61-bit one at 201, a 60-bit one aligned to 64 at 256 (the runs start at 10 and 201).
TEST_CASE("the free-run index finds the first run long enough and aligned enough") {
  tiny_blocks f(320);
  REQUIRE(f.has_index());
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

TEST_CASE("small areas keep no index and search like the reference") {
  cma::free_run_index f(16384); // 64 MiB at order_per_bit 0
  CHECK_FALSE(f.has_index());
  cma::free_run_index g(16385);
  CHECK(g.has_index());
  CHECK(g.longest_run() == 16385);
  CHECK(g.run_count() == 1);
}

//  20000 bits, 3 used / 2 free, repeated: |###..###..###..…|  then the tail 15000.. freed
//  Expect more runs than one block holds (the index splits), and every search, for every
//  size, mask and offset tried, to answer as the plain bitmap does.
TEST_CASE("on a fragmented area the index splits its blocks and answers as the bitmap") {
  cma::free_run_index f(20000);
  cma::bit_vector_store ref(20000);
  REQUIRE(f.has_index());
  for (cma::bitmap_no_t i = 0; i < 20000; i += 5) f.set(i, 3), ref.set(i, 3);
  f.clear(15000, 5000), ref.clear(15000, 5000);
  CHECK(f.run_count() == 3000); // 2999 holes of 2, and 14998..19999
  CHECK(f.is_valid());
  for (cma::bitmap_no_t nr : {1, 2, 3, 7, 64, 4999, 5000, 5001})
    for (unsigned k : {0u, 1u, 3u, 8u})
      for (cma::bitmap_no_t off : {cma::bitmap_no_t{0}, cma::bitmap_no_t{1}}) {
        const cma::bitmap_no_t mask = (cma::bitmap_no_t{1} << k) - 1, o = off & mask;
        for (cma::bitmap_no_t start : {0, 1, 14999, 15001}) {
          const auto want = ref.find_next_zero_area_off(start, nr, mask, o);
          const auto got = f.find_next_zero_area_off(start, nr, mask, o);
          INFO("nr " << nr << " mask " << mask << " offset " << o << " start " << start);
          CHECK((want < 20000 ? want : 20000) == got);
        }
      }
  CHECK(f.is_valid());
}

// Random set/clear/search sequences; every search must give the same index (or both
// "not found"), and the free runs must be identical after every step.
// `kernel_offsets`: each mask comes with one offset, as cma_bitmap_aligned_offset() gives
// for a memrange (the index keeps its bounds); otherwise any offset (the index rebuilds).
template <class Fast> void agree_op_for_op(cma::bitmap_no_t max_size, bool kernel_offsets) {
  rc::prop("same search answers and free runs", [max_size, kernel_offsets] {
    const auto size = *rc::gen::inRange<cma::bitmap_no_t>(1, max_size);
    const auto base_pfn = *rc::gen::inRange<cma::bitmap_no_t>(0, 1 << 10);
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
        const auto offset = kernel_offsets ? base_pfn & mask : *rc::gen::inRange<cma::bitmap_no_t>(0, mask + 1);
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
  SECTION("two runs per block") { agree_op_for_op<tiny_blocks>(700, false); }
  SECTION("four runs per block") { agree_op_for_op<small_blocks>(3000, false); }
  SECTION("four runs per block, one offset per mask") { agree_op_for_op<small_blocks>(3000, true); }
  SECTION("default blocks, one offset per mask") {
    struct indexed : cma::free_run_index {
      explicit indexed(cma::bitmap_no_t n) : cma::free_run_index(n, 64, 0) {}
    };
    agree_op_for_op<indexed>(20000, true);
  }
}

//  A store of 300 bits (indexed with two runs per block, and the small unindexed form),
//  every bit set, then the releases a hostile trace can ask for: clear(100, 2^64 - 1),
//  clear(250, 2^64 - 250) (the sum is exactly 2^64), set(120, 2^64 - 10) (wraps to 109).
//  Expect both forms to answer as the reference bitmap after each step, and stay valid:
//  the end is clamped at size(), never wrapped (issue 10 #10).
TEST_CASE("the fast store clamps ranges whose end passes 2^64 exactly as the reference does") {
  const cma::bitmap_no_t huge = ~cma::bitmap_no_t{0};
  struct unindexed : cma::free_run_index {
    explicit unindexed(cma::bitmap_no_t n) : cma::free_run_index(n, 64, 1u << 20) {}
  };
  const auto check_same = [](const auto& fast, const cma::bit_vector_store& ref) {
    CHECK(fast.is_valid());
    CHECK(ref.is_valid());
    CHECK(fast.bits() == ref.bits());
    CHECK(fast.weight() == ref.weight());
    CHECK(fast.longest_run() == ref.longest_run());
    // anything >= size() means "not found" (the reference returns where the window would end)
    CHECK(std::min(fast.find_next_zero_area_off(0, 5, 0, 0), fast.size()) ==
          std::min(ref.find_next_zero_area_off(0, 5, 0, 0), ref.size()));
  };
  const auto run = [&](auto fast) {
    cma::bit_vector_store ref(300);
    fast.set(0, 300), ref.set(0, 300);
    check_same(fast, ref);
    fast.clear(100, huge), ref.clear(100, huge);
    CHECK(ref.weight() == 100);
    check_same(fast, ref);
    fast.set(0, huge), ref.set(0, huge);
    fast.clear(250, huge - 249), ref.clear(250, huge - 249);
    CHECK(ref.weight() == 250);
    check_same(fast, ref);
    fast.clear(0, 200), ref.clear(0, 200);
    fast.set(120, huge - 9), ref.set(120, huge - 9);
    CHECK(ref.weight() == 180);
    check_same(fast, ref);
    fast.clear(400, huge), ref.clear(400, huge); // start past the end: nothing
    check_same(fast, ref);
  };
  SECTION("indexed, two runs per block") {
    tiny_blocks f(300);
    REQUIRE(f.has_index());
    run(f);
  }
  SECTION("small area, no index") {
    unindexed f(300);
    REQUIRE_FALSE(f.has_index());
    run(f);
  }
}

//  A 64 Ki-bit indexed store, bit 0 used, searched with the widest mask basic_area can
//  pass (2^63 - 1, align saturated, order_per_bit.hpp) and offsets 0 and 0x76c00.
//  Expect no window anywhere (the aligned indexes are 2^63 - offset, past the end), as
//  the reference answers, and bit 0 found when it is free and the offset is 0.
TEST_CASE("the fast store and the reference agree on the widest alignment mask") {
  const cma::bitmap_no_t mask = (cma::bitmap_no_t{1} << 63) - 1;
  tiny_blocks f(1u << 16);
  cma::bit_vector_store ref(1u << 16);
  for (cma::bitmap_no_t offset : {cma::bitmap_no_t{0}, cma::bitmap_no_t{0x76c00}}) {
    if (offset == 0) { // pfn 0 is aligned to every power of two
      CHECK(f.find_next_zero_area_off(0, 1, mask, offset) == 0);
      CHECK(ref.find_next_zero_area_off(0, 1, mask, offset) == 0);
    } else {
      CHECK(f.find_next_zero_area_off(0, 1, mask, offset) >= f.size());
      CHECK(ref.find_next_zero_area_off(0, 1, mask, offset) >= ref.size());
    }
  }
  f.set(0, 1), ref.set(0, 1);
  for (cma::bitmap_no_t offset : {cma::bitmap_no_t{0}, cma::bitmap_no_t{0x76c00}}) {
    CHECK(f.find_next_zero_area_off(0, 1, mask, offset) >= f.size());
    CHECK(ref.find_next_zero_area_off(0, 1, mask, offset) >= ref.size());
    CHECK(f.find_next_zero_area_off(mask + 1, 1, mask, offset) >= f.size()); // the -EBUSY retry start
    CHECK(ref.find_next_zero_area_off(mask + 1, 1, mask, offset) >= ref.size());
  }
}
