// tests/test_cma_init_reserved_mem.cpp — could a kernel have this area? (cma/cma_init_reserved_mem.hpp)
// Each rule of area_refusal with a case on each side of its boundary, and the sentence
// it gives.  Sizes in bytes, as the kernel's cma_init_reserved_mem takes them.
#include "helpers.hpp"

#include <cma/cma_init_reserved_mem.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <tuple>

using cma::area_refusal;

namespace {
using cmatest::KiB;
using cmatest::MiB;
using cmatest::GiB;
constexpr std::uint64_t page = cma::page_size;

bool refused_for(std::uint64_t base, std::uint64_t size, unsigned opb, const std::string& words) {
  const auto why = area_refusal(base, size, opb);
  return why && why->find(words) != std::string::npos;
}
} // namespace

//  The areas of the bundled traces and the README: 128 MiB at 0x76c00000, 32 MiB at
//  0x7cc00000 (6.1 arm64 QEMU virt), order_per_bit 0.
//  Expect nothing to refuse.
TEST_CASE("area_refusal accepts the areas real kernels printed") {
  CHECK_FALSE(area_refusal(0x76c00000, 128 * MiB, 0));
  CHECK_FALSE(area_refusal(0x7cc00000, 32 * MiB, 0));
  CHECK_FALSE(area_refusal(0x68000000, 128 * MiB, 0));
  CHECK_FALSE(area_refusal(0, 4 * KiB, 0)); // base 0 is an address like any other
}

//  Rule 1: order_per_bit <= 40 (2^40 pages fill the 52-bit physical address space).
//  Expect 40 accepted for the one area it fits (all 4 PiB from 0, one bit), 41 and
//  2^32 - 1 refused by name.
TEST_CASE("area_refusal: order_per_bit is at most 40") {
  CHECK_FALSE(area_refusal(0, std::uint64_t{1} << 52, 40)); // 2^52 bytes = 2^40 pages
  CHECK(refused_for(0, std::uint64_t{1} << 52, 41, "order_per_bit 41 would make one bitmap bit cover 2^41 pages"));
  CHECK(refused_for(0, 4 * KiB, ~0u, "order_per_bit 4294967295"));
  CHECK(refused_for(0, 4 * KiB, 64, "order_per_bit 64"));
}

//  Rule 2: cma_init_reserved_mem returns -EINVAL for a zero size.
TEST_CASE("area_refusal: a zero size is refused, one page is not") {
  CHECK(*area_refusal(0x7cc00000, 0, 0) == "an area of 0 bytes: cma_init_reserved_mem (mm/cma.c) refuses a zero size");
  CHECK_FALSE(area_refusal(0x7cc00000, page, 0));
}

//  Rule 3: base and size are whole 4 KiB pages.
//  Expect 0x7cc00000 / 0x7cc01000 accepted, 0x7cc00123 / 0x7cc00fff refused; size 4096 and
//  8192 accepted, 4095 / 4097 refused (issue 10 #3: size=4097 used to become one page).
TEST_CASE("area_refusal: base and size are whole pages") {
  CHECK_FALSE(area_refusal(0x7cc01000, page, 0));
  CHECK(*area_refusal(0x7cc00123, page, 0) == "base 0x7cc00123 is not page aligned: an area starts on a 4 KiB page boundary");
  CHECK(refused_for(0x7cc00fff, page, 0, "not page aligned"));
  CHECK(refused_for(0x7cc00001, page, 0, "not page aligned"));
  CHECK_FALSE(area_refusal(0x7cc00000, 2 * page, 0));
  CHECK(*area_refusal(0x7cc00000, 4097, 0) == "a size of 4097 bytes is not a whole number of 4 KiB pages");
  CHECK(refused_for(0x7cc00000, 4095, 0, "a size of 4095 bytes is not a whole number of 4 KiB pages"));
}

//  Rule 4: with order_per_bit 2 a bit covers 4 pages: base pfn and page count multiples of 4.
//  Expect pfn 0x7cc00 / 0x7cc04 accepted, 0x7cc01 / 0x7cc03 refused; 4 and 8 pages accepted,
//  3 and 5 refused (a partial last block would have no bit).
TEST_CASE("area_refusal: base and size are whole blocks of 2^order_per_bit pages") {
  CHECK_FALSE(area_refusal(0x7cc00000, 4 * page, 2));
  CHECK_FALSE(area_refusal(0x7cc04000, 8 * page, 2));
  CHECK(*area_refusal(0x7cc01000, 4 * page, 2) ==
        "base 0x7cc01000 (pfn 0x7cc01) is not a multiple of 2^2 pages: with order_per_bit 2 each bitmap bit "
        "covers an aligned block of that many pages");
  CHECK(refused_for(0x7cc03000, 4 * page, 2, "is not a multiple of 2^2 pages"));
  CHECK(refused_for(0x7cc00000, 5 * page, 2, "a size of 5 pages is not a whole number of 2^2-page blocks"));
  CHECK(refused_for(0x7cc00000, 3 * page, 2, "a size of 3 pages is not a whole number of 2^2-page blocks"));
}

//  Rule 5: base + size must not pass 2^64 - 1 (phys_addr_t).
//  Expect base 2^64 - 8 KiB with 8 KiB refused as an overflow (the sum is exactly 2^64),
//  with 4 KiB not an overflow (it ends at 2^64 - 4 KiB) but past the physical address
//  space (rule 7); a size of 2^64 - 4 KiB from 0x7cc00000 refused as an overflow.
TEST_CASE("area_refusal: base + size must not overflow 64 bits") {
  const std::uint64_t top = ~std::uint64_t{0} - 2 * page + 1; // 2^64 - 8 KiB
  CHECK(*area_refusal(top, 2 * page, 0) ==
        "base 0xffffffffffffe000 + size 8192 bytes overflows a 64-bit physical address (phys_addr_t base + size)");
  CHECK(refused_for(top, page, 0, "past the 52-bit physical address space"));
  CHECK(refused_for(0x7cc00000, ~std::uint64_t{0} - 4095, 0, "overflows"));
}

//  Rule 6: the bitmap is one kmalloc (cma_activate_area → bitmap_zalloc), at most 4 MiB =
//  2^25 bits: 128 GiB at order_per_bit 0, 256 GiB at order_per_bit 1.
//  Expect 128 GiB accepted and 128 GiB + 4 KiB refused (one bit over: 4 MiB + 8 bytes);
//  256 GiB accepted at order_per_bit 1, 256 GiB + 8 KiB refused; issue 10 #1's
//  "Reserved 4294967295 MiB" refused with the bitmap's size.
TEST_CASE("area_refusal: the bitmap must fit one kmalloc of 4 MiB") {
  const std::uint64_t base = 0x40000000;
  CHECK_FALSE(area_refusal(base, 128 * GiB, 0));
  CHECK(refused_for(base, 128 * GiB + page, 0, "needs a bitmap of 33554433 bits (4194312 bytes, about 4 MiB)"));
  CHECK(refused_for(base, 128 * GiB + page, 0, "whose limit is 4 MiB"));
  CHECK(refused_for(base, 128 * GiB + page, 0, "at most 128 GiB at this order_per_bit"));
  CHECK_FALSE(area_refusal(base, 256 * GiB, 1));
  CHECK(refused_for(base, 256 * GiB + 2 * page, 1, "at most 256 GiB at this order_per_bit"));
  const auto why = area_refusal(base, 4294967295 * MiB, 0);
  REQUIRE(why);
  CHECK(why->rfind("an area of 4294967295 MiB needs a bitmap of 1099511627520 bits (137438953440 bytes, about 128 GiB) "
                   "at order_per_bit 0; cma_activate_area (mm/cma.c) allocates it with bitmap_zalloc, i.e. kmalloc, "
                   "whose limit is 4 MiB",
                   0) == 0);
  CHECK(refused_for(base, 134217728 * MiB, 0, "needs a bitmap")); // issue 10 #1: 7.8 s and 4.2 GB before
}

//  Rule 7: the area ends within 2^52 bytes (arm64 52-bit PA, x86_64 5-level paging).
//  Expect an area ending exactly at 2^52 accepted, one page further refused, one starting at
//  2^52 refused.
TEST_CASE("area_refusal: the area ends within the 52-bit physical address space") {
  const std::uint64_t pa_end = std::uint64_t{1} << 52;
  CHECK_FALSE(area_refusal(pa_end - page, page, 0));
  CHECK_FALSE(area_refusal(pa_end - 128 * GiB, 128 * GiB, 0));
  CHECK(*area_refusal(pa_end - page, 2 * page, 0) ==
        "an area of 8 KiB at 0xffffffffff000 ends at 0x10000000001000, past the 52-bit physical address space "
        "(0x10000000000000) of the widest arm64 (ARM64_PA_BITS_52) or x86_64 (5-level paging) machine");
  CHECK(refused_for(pa_end, page, 0, "past the 52-bit physical address space"));
}

//  The page form the allocator's constructor uses gives the very sentence of the byte form.
TEST_CASE("area_refusal and the allocator's own check agree") {
  for (auto [base_pfn, count, opb] : {std::tuple{0x40000ull, 4294967295ull << 8, 0u}, std::tuple{0x7cc01ull, 4ull, 2u},
                                      std::tuple{0x7cc00ull, 0ull, 0u}, std::tuple{0x76c00ull, 32768ull, 0u}}) {
    CHECK(cma::detail::range_refusal(base_pfn, count, opb) ==
          area_refusal(base_pfn << cma::page_shift, count << cma::page_shift, opb));
  }
}
