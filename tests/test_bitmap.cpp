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
