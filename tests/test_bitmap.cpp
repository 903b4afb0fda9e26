// tests/test_bitmap.cpp — lib/bitmap.c primitives (cma/bitmap.hpp).
#include "helpers.hpp"

#include <catch2/catch.hpp>

using cma::bitmap;

TEST_CASE("find_next_zero_bit and find_next_bit return size when nothing is found") {
  bitmap b(130);
  CHECK(b.find_next_bit(130, 0) == 130);
  b.set(0, 130);
  CHECK(b.find_next_zero_bit(130, 0) == 130);
  b.clear(64, 1);
  CHECK(b.find_next_zero_bit(130, 0) == 64);
  CHECK(b.find_next_zero_bit(130, 65) == 130);
  CHECK(b.find_next_bit(130, 64) == 65);
  CHECK(b.find_next_zero_bit(64, 0) == 64); // bounded by the size argument
}

TEST_CASE("bitmap_set and bitmap_clear touch exactly the bits asked, across words") {
  bitmap b(200);
  b.set(60, 10); // spans words 0 and 1
  CHECK(b.weight() == 10);
  CHECK_FALSE(b.test(59));
  CHECK(b.test(60));
  CHECK(b.test(69));
  CHECK_FALSE(b.test(70));
  b.clear(62, 3);
  CHECK(b.weight() == 7);
  b.set(190, 50); // clamped at size
  CHECK(b.weight() == 17);
}

//  bits  0123456789...
//        ..X.........      one used bit at 2
//  find 4 free bits aligned to 4 with offset 0
//  Expect 4: index 0 collides at 2, the search resumes at 3 and rounds up to 4.
TEST_CASE("find_next_zero_area_off resumes after the collision and re-rounds") {
  bitmap b(16);
  b.set(2, 1);
  CHECK(b.find_next_zero_area_off(16, 0, 4, 3, 0) == 4);
}

//  base_pfn 0x...3: offset 3 for align mask 7 → candidates are 5, 13, …
//  Expect 5: (5 + 3) % 8 == 0.
TEST_CASE("find_next_zero_area_off applies the alignment offset") {
  bitmap b(32);
  CHECK(b.find_next_zero_area_off(32, 0, 2, 7, 3) == 5);
  CHECK(b.find_next_zero_area_off(32, 6, 2, 7, 3) == 13);
}

//  ................  16 bits, 10 free wanted at alignment 8
//  Expect a value > size - nr: candidate 8 would end at 18 > 16.
TEST_CASE("find_next_zero_area_off signals failure with a value past the end") {
  bitmap b(16);
  b.set(0, 1);
  CHECK(b.find_next_zero_area_off(16, 0, 10, 7, 0) >= 16 - 10 + 1);
}

//  200 bits, all set, then bitmap_clear(150, 2^64 - 1): start + nr passes 2^64.
//  ......XXXX|......   (before: every bit set)
//  Expect bits 150..199 cleared (clamped at size, as free_run_index clamps), 0..149 kept,
//  the bits past size() still zero — before issue 10 #10 the sum wrapped to 149 and
//  nothing was cleared, while the fast store cleared to the end.
TEST_CASE("bitmap_set and bitmap_clear clamp a range whose end passes 2^64 instead of wrapping") {
  const cma::bitmap_no_t huge = ~cma::bitmap_no_t{0};
  bitmap b(200);
  b.set(0, huge); // from bit 0: the end is 2^64 - 1, clamped at 200
  CHECK(b.weight() == 200);
  b.clear(150, huge);
  CHECK(b.weight() == 150);
  CHECK(b.weight(150, 50) == 0);
  CHECK(b.test(149));
  b.clear(199, huge - 198); // 199 + (2^64 - 199) wraps to exactly 0
  CHECK(b.weight() == 150);
  b.set(170, huge - 100); // wraps to 69: must set 170..199, not nothing
  CHECK(b.weight() == 180);
  CHECK((b.words().back() >> (200 % 64)) == 0); // nothing past size()
  b.set(250, 10);  // start past size: no-op
  b.clear(250, huge);
  CHECK(b.weight() == 180);
  CHECK(b.weight(190, huge) == 10); // weight clamps the same way
  CHECK(b.weight(300, huge) == 0);
}
