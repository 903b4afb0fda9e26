// tests/test_cma_area.cpp — cma_alloc / cma_release scenarios (cma/cma_area.hpp).
// Each test: a diagram of the bitmap ('X' used, '.' free, '#' unmovable page),
// the expectation worked out by hand from mm/cma.c, and the kernel versions it holds for.
#include "helpers.hpp"

#include <catch2/catch.hpp>

using cmatest::area;
using cmatest::prof;

namespace {
cma::busy_oracle unmovable(std::initializer_list<cma::pfn_t> pfns) {
  auto set = std::make_shared<cma::unmovable_pages>(pfns);
  return [set](cma::pfn_t p, cma::page_count n) { return (*set)(p, n); };
}
} // namespace

//  base_pfn 0x1003, 64 pages, order_per_bit 0
//  pfn   1003 1004 1005 1006 1007 1008
//  bit      0    1    2    3    4    5
//  alloc(4 pages, align 2): the window must start on a multiple of 4 in *absolute* pfn terms
//  Expect pfn 0x1004 (bit 1), in every version.
TEST_CASE("an aligned allocation lands on an absolute pfn boundary even when base_pfn is unaligned") {
  const char* v = GENERATE(from_range(std::begin(cmatest::all_versions), std::end(cmatest::all_versions)));
  auto a = area(0x1003, 64, 0, v);
  auto r = a.alloc(4, 2);
  CHECK(r.ok());
  CHECK(r.pfn == 0x1004);
  CHECK(r.attempts.size() == 1);
  CHECK(r.attempts[0].bitmap_no == 1);
}

//  order_per_bit 2: one bit = 4 pages.   bits  0 1 2 3 …
//  alloc(5 pages) needs ceil(5/4) = 2 bits     X X . .
//  alloc(1 page)  needs 1 bit                  X X X .
//  Expect pfns 0x2000 and 0x2008; debugfs used = 3 bits << 2 = 12 pages (≤6.14).
TEST_CASE("order_per_bit above 0 rounds each request up to whole bits") {
  auto a = area(0x2000, 64, 2, "6.1");
  CHECK(a.alloc(5, 0).pfn == 0x2000);
  CHECK(a.alloc(1, 0).pfn == 0x2008);
  CHECK(cma::debugfs_used(a) == 12);
  CHECK(a.free_pages() == 52);
}

//  6.15 counts available_count in requested pages: used = 64 - (64 - 5 - 1) = 6.
TEST_CASE("from 6.15 debugfs used counts the pages requested, not the bits") {
  auto a = area(0x2000, 64, 2, "6.15");
  a.alloc(5, 0);
  a.alloc(1, 0);
  CHECK(cma::debugfs_used(a) == 6);
  CHECK(a.used_bits_pages() == 12);
}

//  order_per_bit 2, align 2: align <= order_per_bit, so mask = 0 — any bit will do.
//  X . . .   alloc(1, align 2)
//  Expect bit 1 (pfn 0x2004).
TEST_CASE("an alignment no larger than order_per_bit adds no constraint") {
  auto a = area(0x2000, 64, 2, "6.1");
  a.alloc(4, 0);
  CHECK(a.alloc(1, 2).pfn == 0x2004);
}

//  bits 0..15:  X X X . . X . . . . . . . . . .    (used: 0-2 and 5)
//  alloc(3, align 0): first zero is 3, window 3..5 collides at 5, search resumes at 6.
//  Expect pfn base+6.
TEST_CASE("a collision restarts the search just after the used bit") {
  auto a = area(0x3000, 16, 0, "6.1");
  a.mark_allocated(0x3000, 3);
  a.mark_allocated(0x3005, 1);
  CHECK(a.alloc(3, 0).pfn == 0x3006);
}

//  16 pages, all used:  X X X X X X X X X X X X X X X X
//  alloc(1): nothing to try.
//  Expect ≤6.14: -ENOMEM, no window tried, finish pfn 0xffffffffffffffff;
//         6.15+: -EBUSY (cma_range_alloc's initial ret), finish pfn 0.
TEST_CASE("exhaustion is -ENOMEM up to 6.14 and -EBUSY from 6.15") {
  for (const char* v : {"4.15", "5.10", "6.1", "6.6", "6.12"}) {
    auto a = area(0x4000, 16, 0, v);
    REQUIRE(a.alloc(16, 0).ok());
    auto r = a.alloc(1, 0);
    CHECK(r.err == cma::enomem);
    CHECK(r.attempts.empty());
    CHECK(r.finish_pfn == cma::no_pfn);
    CHECK(r.failure_message);
  }
  for (const char* v : {"6.15", "6.18"}) {
    auto a = area(0x4000, 16, 0, v);
    REQUIRE(a.alloc(16, 0).ok());
    auto r = a.alloc(1, 0);
    CHECK(r.err == cma::ebusy);
    CHECK(r.finish_pfn == 0);
    CHECK(r.failure_message);
  }
}

//  16 pages; alloc(17).
//  Expect ≤6.14: NULL silently (no finish trace, no message); 6.15+: reported like any failure.
TEST_CASE("a request larger than the area fails silently up to 6.14 and loudly from 6.15") {
  auto old = area(0x4000, 16, 0, "6.1");
  auto r = old.alloc(17, 0);
  CHECK(r.exit == cma::alloc_exit::too_large);
  CHECK_FALSE(r.traced_finish);
  CHECK_FALSE(r.failure_message);
  CHECK(r.traced_start);
  auto now = area(0x4000, 16, 0, "6.15");
  auto n = now.alloc(17, 0);
  CHECK(n.exit == cma::alloc_exit::too_large);
  CHECK(n.traced_finish);
  CHECK(n.failure_message);
  CHECK(n.err == cma::ebusy);
}

//  count 0: 5.14–6.11 return before tracing; 6.12–6.14 trace cma_alloc_start first; 4.x has no start event.
TEST_CASE("count 0 returns NULL and only 6.12 to 6.14 trace the start") {
  CHECK_FALSE(area(0x4000, 16, 0, "6.1").alloc(0, 0).traced_start);
  CHECK(area(0x4000, 16, 0, "6.12").alloc(0, 0).traced_start);
  CHECK_FALSE(area(0x4000, 16, 0, "6.15").alloc(0, 0).traced_start);
  CHECK_FALSE(area(0x4000, 16, 0, "4.15").alloc(0, 0).traced_start);
  auto r = area(0x4000, 16, 0, "6.1").alloc(0, 0);
  CHECK(r.exit == cma::alloc_exit::zero_count);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.traced_finish);
}

//  base 0x1000, 64 pages; unmovable page '#' at 0x1005
//  bits 0 . . . . # . . | 8 . . . . . . .
//  alloc(8, align 3): window 0 is busy; next start = 0 + mask(7) + 1 = 8.
//  Expect one busy retry at 0x1000, then pfn 0x1008.
TEST_CASE("after -EBUSY the search restarts at bitmap_no plus mask plus one") {
  const char* v = GENERATE(from_range(std::begin(cmatest::all_versions), std::end(cmatest::all_versions)));
  auto a = area(0x1000, 64, 0, v);
  auto r = a.alloc(8, 3, unmovable({0x1005}));
  REQUIRE(r.ok());
  CHECK(r.pfn == 0x1008);
  REQUIRE(r.attempts.size() == 2);
  CHECK(r.attempts[0].pfn == 0x1000);
  CHECK(r.attempts[0].ret == cma::ebusy);
  CHECK(r.busy_retries() == 1);
  CHECK(a.page_used(0x1000) == false); // the busy window's bits were cleared again
}

//  mask 0: the next try overlaps the busy window shifted by one bit.
//  . . # . . . .     alloc(4, align 0), unmovable 0x1002
//  Expect busy at 0x1000, 0x1001, 0x1002, then success at 0x1003.
TEST_CASE("with no alignment the busy retries step one bit at a time") {
  auto a = area(0x1000, 64, 0, "6.1");
  auto r = a.alloc(4, 0, unmovable({0x1002}));
  CHECK(r.pfn == 0x1003);
  CHECK(r.busy_retries() == 3);
}

//  8 pages, the only window is busy:  # . . . . . . .
//  Expect -EBUSY and (≤6.14) the finish event printing the busy pfn.
TEST_CASE("a search that ends on a busy window reports -EBUSY and the last pfn tried") {
  auto a = area(0x1000, 8, 0, "6.1");
  auto r = a.alloc(8, 3, unmovable({0x1000}));
  CHECK(r.err == cma::ebusy);
  CHECK(r.finish_pfn == 0x1000);
  CHECK(a.free_pages() == 8);
  auto b = area(0x1000, 8, 0, "6.15");
  CHECK(b.alloc(8, 3, unmovable({0x1000})).finish_pfn == 0);
}

TEST_CASE("an alloc_contig_range error other than -EBUSY ends the allocation at once") {
  auto a = area(0x1000, 64, 0, "6.1");
  auto r = a.alloc(4, 0, [](cma::pfn_t, cma::page_count) { return cma::eintr; });
  CHECK(r.err == cma::eintr);
  CHECK(r.attempts.size() == 1);
  CHECK(a.free_pages() == 64);
}

//  X X X X X X X X . .     alloc(8) at base, then release(base+2, 2)
//  X X . . X X X X . .
//  Expect the two bits free again, the rest still allocated; a new alloc(2) takes base+2.
TEST_CASE("releasing part of an allocation frees exactly those pages") {
  auto a = area(0x5000, 16, 0, "6.1");
  REQUIRE(a.alloc(8, 0).pfn == 0x5000);
  auto rel = a.release(0x5002, 2);
  CHECK(rel.ok);
  CHECK(rel.bitmap_no == 2);
  CHECK(rel.bitmap_count == 2);
  CHECK(a.free_runs().front().bitmap_no == 2);
  CHECK(a.alloc(2, 0).pfn == 0x5002);
}

//  order_per_bit 1: bit 0 = pages 0-1, bit 1 = pages 2-3.  alloc(4) sets bits 0 and 1.
//  release(base+1, 2): bitmap_no = 1 >> 1 = 0, bitmap_count = 1 → clears bit 0 only.
//  Expect pages 0-1 free (page 0 was never released!), pages 2-3 still used.
TEST_CASE("with order_per_bit above 0 a release clears whole bits from the one holding pfn") {
  auto a = area(0x6000, 16, 1, "6.1");
  REQUIRE(a.alloc(4, 0).pfn == 0x6000);
  auto rel = a.release(0x6001, 2);
  CHECK(rel.bitmap_no == 0);
  CHECK(rel.bitmap_count == 1);
  CHECK(a.page_used(0x6000) == false);
  CHECK(a.page_used(0x6002) == true);
}

//  16 pages at 0x7000.
//  Expect ≤6.14: a pfn outside is refused, a release running past the end is accepted
//  (VM_BUG_ON only) with its bits clamped; 6.15+: the overrun is refused and nothing changes.
TEST_CASE("release validation is strict about the range end only from 6.15") {
  auto old = area(0x7000, 16, 0, "6.1");
  old.alloc(16, 0);
  CHECK_FALSE(old.release(0x6fff, 1).ok);
  CHECK_FALSE(old.release(0x7010, 1).ok);
  auto r = old.release(0x700e, 4);
  CHECK(r.ok);
  CHECK(r.overrun);
  CHECK(old.free_pages() == 2);
  auto now = area(0x7000, 16, 0, "6.15");
  now.alloc(16, 0);
  CHECK_FALSE(now.release(0x700e, 4).ok);
  CHECK_FALSE(now.release(0x7000, 17).ok);
  CHECK(now.free_pages() == 0);
  CHECK(now.release(0x700e, 2).ok);
}

//  6.15 multi-range: range 0 = 16 pages at 0x1000, range 1 = 16 pages at 0x2003.
//  alloc(16) fills range 0.  alloc(4, align 2) goes to range 1, offset = 0x2003 & 3 = 3,
//  so bit 1 (pfn 0x2004) is the first aligned slot.
//  Expect pfn 0x2004 in range 1.
TEST_CASE("a multi-range area tries ranges in order with each range's own alignment offset") {
  cma::allocator a("hugetlb0", {{0x1000, 16}, {0x2003, 16}}, 0, prof("6.15"));
  CHECK(a.alloc(16, 0).pfn == 0x1000);
  auto r = a.alloc(4, 2);
  CHECK(r.pfn == 0x2004);
  CHECK(r.attempts.back().range == 1);
  CHECK(a.count() == 32);
}

//  6.15: available_count 3 < count 4 stops the search before it looks at the bitmap.
TEST_CASE("from 6.15 a request above available_count stops before any window is tried") {
  auto a = area(0x1000, 16, 0, "6.15");
  a.alloc(13, 0);
  auto r = a.alloc(4, 0);
  CHECK(r.attempts.empty());
  CHECK(r.err == cma::ebusy);
  CHECK(a.available_count() == 3);
}

//  order_per_bit 1, 16 pages = 8 bits; alloc(2) takes bit 0.  Free: bits 1..7 = 7 bits = 14 pages.
//  Expect 4.15 to print bits, 5.10 – 6.14 pages with a bit index, 6.15 per range with '+' before
//  a run that does not start at bit 0 and available_count as the total.
TEST_CASE("cma_debug_show_areas prints each version's own layout") {
  auto v415 = area(0x1000, 16, 1, "4.15");
  v415.alloc(2, 0);
  CHECK(cma::cma_debug_show_areas(v415) ==
        std::vector<std::string>{"cma: number of available pages: 7@1=> 7 free of 16 total pages"});
  auto v61 = area(0x1000, 16, 1, "6.1");
  v61.alloc(2, 0);
  CHECK(cma::cma_debug_show_areas(v61) ==
        std::vector<std::string>{"cma: number of available pages: 14@1=> 14 free of 16 total pages"});
  auto v615 = area(0x1000, 16, 1, "6.15");
  v615.alloc(2, 0);
  CHECK(cma::cma_debug_show_areas(v615) == std::vector<std::string>{"cma: number of available pages: ",
                                                                     "cma: range 0: +14@1", "cma: ",
                                                                     "=> 14 free of 16 total pages"});
}

//  The frag_run1 failure at dmesg line 730 prints runs as LEN@BIT joined by '+'.
TEST_CASE("show_areas joins runs with a plus sign and no space before the arrow") {
  auto a = area(0x1000, 16, 0, "6.1");
  a.mark_allocated(0x1000, 2);
  a.mark_allocated(0x1005, 3);
  CHECK(cma::cma_debug_show_areas(a).front() == "cma: number of available pages: 3@2+8@8=> 11 free of 16 total pages");
}

//  40 bits: bits 0 and 33 used → words 1 and 2 (bit 33 = bit 1 of word 1).
TEST_CASE("debugfs bitmap prints u32 words in decimal") {
  auto a = area(0x1000, 40, 0, "6.1");
  a.mark_allocated(0x1000, 1);
  a.mark_allocated(0x1000 + 33, 1);
  CHECK(cma::debugfs_bitmap(a) == "1 2\n");
  CHECK(cma::debugfs_maxchunk(a) == 32);
  CHECK(cma::debugfs_dir("reserved", prof("4.15")) == "cma-reserved");
  CHECK(cma::debugfs_dir("averyveryverylongname", prof("5.10")) == "cma-averyveryve");
  CHECK(cma::debugfs_dir("reserved", prof("6.1")) == "reserved");
}

TEST_CASE("profiles map every version to the nearest modelled series below it") {
  CHECK(prof("6.4").series == "6.3");
  CHECK(prof("6.1.192").series == "6.1");
  CHECK(prof("6.13").series == "6.12");
  CHECK(prof("6.19").series == "6.18");
  CHECK(prof("7.0").alloc_func == "__cma_alloc_frozen");
  CHECK(prof("4.15").trace == cma::trace_format::legacy);
  CHECK(prof("6.3").trace == cma::trace_format::errorno);
  CHECK_FALSE(cma::kernel_version::parse("abc"));
  CHECK(cma::kernel_version::parse("v6.12.117+deb12")->minor == 12);
}
