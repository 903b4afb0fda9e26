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

// ------------------------------------------------------------ issue 10 #10: hostile input

//  base_pfn 0x76c00, 64 pages, order_per_bit 0; and 0x2000, 64 pages, order_per_bit 2.
//  alloc(1, align A) for A from 40 to 2^32 - 1: the kernel's `1UL << (align - order_per_bit)`
//  is undefined from 64 on; the model saturates the mask at 2^63 - 1 (order_per_bit.hpp),
//  whose aligned pfns are 0 and 2^63 only.  Any A >= 40 already asks for a pfn aligned to
//  2^40 pages, which no page off pfn 0 is.
//  Expect no window tried, the version's "no space" error, and the fast and the reference
//  allocators giving the same answer and state (no undefined shift, no endless retry).
TEST_CASE("an alignment of 64 or more finds no window off pfn 0, like the widest meaningful one") {
  const char* v = GENERATE(from_range(std::begin(cmatest::all_versions), std::end(cmatest::all_versions)));
  const unsigned opb = GENERATE(0u, 2u);
  const cma::pfn_t base = opb ? 0x2000 : 0x76c00;
  for (unsigned align : {40u, 62u, 63u, 64u, 65u, 66u, 127u, 128u, ~0u}) {
    auto fast = area(base, 64, opb, v);
    auto ref = area<cma::reference_allocator>(base, 64, opb, v);
    const auto r = fast.alloc(1, align);
    CHECK(r == ref.alloc(1, align));
    CHECK_FALSE(r.ok());
    CHECK(r.attempts.empty());
    CHECK(r.err == prof(v).no_space_errno);
    CHECK(fast.free_runs() == ref.free_runs());
    CHECK(fast.free_pages() == 64);
  }
}

//  base_pfn 0, 64 pages: pfn 0 is aligned to every power of two.
//  alloc(1, 64) → pfn 0.  With page 0 unmovable: the window at 0 is busy, the retry
//  starts at bit 0 + mask + 1 = 2^63 (no wrap) and finds nothing.
//  Expect pfn 0; then one -EBUSY attempt and the search ends, in every version.
TEST_CASE("an alignment of 64 or more still places at pfn 0, and its -EBUSY retry ends") {
  const char* v = GENERATE(from_range(std::begin(cmatest::all_versions), std::end(cmatest::all_versions)));
  auto a = area(0, 64, 0, v);
  CHECK(a.alloc(1, 64).pfn == 0);
  auto b = area(0, 64, 0, v);
  auto rb = area<cma::reference_allocator>(0, 64, 0, v);
  const auto r = b.alloc(1, 64, unmovable({0}));
  CHECK(r == rb.alloc(1, 64, unmovable({0})));
  CHECK_FALSE(r.ok());
  REQUIRE(r.attempts.size() == 1);
  CHECK(r.attempts[0].ret == cma::ebusy);
  CHECK(r.err == cma::ebusy);
}

//  16 pages at 0x7000, all allocated:   XXXXXXXXXXXXXXXX
//  release(0x7008, 2^64 - 1): pfn + count wraps past 2^64 (to 0x7007).
//  Expect ≤6.14: accepted (the kernel only checks that pfn is inside; VM_BUG_ON is off, and
//  its own sum wraps too), `overrun` set, bits 8..15 cleared (clamped at the end, not
//  wrapped), available_count + 8;  6.15+: refused (count > cma->count), nothing changes.
//  The fast and reference allocators agree and stay valid either way.
TEST_CASE("a release of count 2^64 - 1 is clamped up to 6.14 and refused from 6.15, by both stores") {
  const char* v = GENERATE(from_range(std::begin(cmatest::all_versions), std::end(cmatest::all_versions)));
  const cma::page_count huge = ~cma::page_count{0};
  auto fast = area(0x7000, 16, 0, v);
  auto ref = area<cma::reference_allocator>(0x7000, 16, 0, v);
  fast.alloc(16, 0), ref.alloc(16, 0);
  const auto r = fast.release(0x7008, huge);
  CHECK(r == ref.release(0x7008, huge));
  CHECK(fast.is_valid());
  CHECK(fast.free_runs() == ref.free_runs());
  CHECK(fast.available_count() == ref.available_count());
  if (prof(v).release_checks_range_end) {
    CHECK_FALSE(r.ok);
    CHECK(fast.free_pages() == 0);
    CHECK(fast.available_count() == 0);
  } else {
    CHECK(r.ok);
    CHECK(r.overrun);
    CHECK(r.bitmap_no == 8);
    CHECK(fast.free_pages() == 8);
    CHECK(fast.page_used(0x7007) == true);
    CHECK(fast.available_count() == 8);
  }
}

//  16 pages at 0x7000, all allocated.  release(0x7004, 2^64 - 0x7004): the sum is exactly
//  2^64 (wraps to 0); release(0x7002, 20): a plain overrun by 6 pages.
//  Expect ≤6.14 both accepted with `overrun`, clearing to the end only; 6.15+ both refused.
TEST_CASE("a release whose pfn + count wraps to 0 is an overrun, not an empty range") {
  const char* v = GENERATE("6.1", "6.12", "6.15");
  auto fast = area(0x7000, 16, 0, v);
  auto ref = area<cma::reference_allocator>(0x7000, 16, 0, v);
  fast.alloc(16, 0), ref.alloc(16, 0);
  const cma::page_count to_wrap = ~cma::page_count{0} - 0x7004 + 1;
  const auto r = fast.release(0x7004, to_wrap);
  CHECK(r == ref.release(0x7004, to_wrap));
  CHECK(r.ok == !prof(v).release_checks_range_end);
  CHECK(r.overrun == !prof(v).release_checks_range_end);
  CHECK(fast.free_pages() == (r.ok ? 12u : 0u));
  const auto s = fast.release(0x7002, 20);
  CHECK(s == ref.release(0x7002, 20));
  CHECK(s.ok == !prof(v).release_checks_range_end);
  CHECK(fast.free_runs() == ref.free_runs());
  CHECK(fast.is_valid());
}

//  order_per_bit 1, 16 pages at 0x6000, all allocated.  release(0x6000, 2^64 - 1): the
//  kernel's cma_bitmap_pages_to_bits is ALIGN(count, 2) >> 1, and ALIGN wraps to 0.
//  Expect ≤6.14 accepted with 0 bits cleared (the kernel's arithmetic, modelled bit for
//  bit: unsigned wrap is defined), both stores alike.
TEST_CASE("a release of count 2^64 - 1 at order_per_bit 1 clears the bits the kernel's ALIGN gives: none") {
  auto fast = area(0x6000, 16, 1, "6.1");
  auto ref = area<cma::reference_allocator>(0x6000, 16, 1, "6.1");
  fast.alloc(16, 0), ref.alloc(16, 0);
  const auto r = fast.release(0x6000, ~cma::page_count{0});
  CHECK(r == ref.release(0x6000, ~cma::page_count{0}));
  CHECK(r.ok);
  CHECK(r.overrun);
  CHECK(r.bitmap_count == 0);
  CHECK(fast.free_pages() == 0);
}

//  16 pages at 0x7000.  mark_allocated(0x7008, 2^64 - 1) (a mid-stream replay adopting a
//  hostile allocation): bits 8..15 set, available_count down by the 8 pages inside.
//  all_used(0x7008, 2^64 - 1) looks at 0x7008..0x700f only (no wrap to 0x7007).
TEST_CASE("mark_allocated and all_used clamp a range whose end passes 2^64") {
  auto fast = area(0x7000, 16, 0, "6.15");
  auto ref = area<cma::reference_allocator>(0x7000, 16, 0, "6.15");
  CHECK(fast.mark_allocated(0x7008, ~cma::page_count{0}));
  CHECK(ref.mark_allocated(0x7008, ~cma::page_count{0}));
  CHECK(fast.free_runs() == ref.free_runs());
  CHECK(fast.free_pages() == 8);
  CHECK(fast.available_count() == 8);
  CHECK(fast.all_used(0x7008, ~cma::page_count{0}));
  CHECK_FALSE(fast.all_used(0x7004, ~cma::page_count{0}));
  CHECK(fast.is_valid());
}

//  Areas no kernel could have (cma_init_reserved_mem.hpp): the constructor and
//  make_allocator throw std::invalid_argument with area_refusal's sentence, before any
//  bitmap is allocated — a 4294967295 MiB area (1 Ti bits) must not cost a byte.
TEST_CASE("the allocator refuses an area no kernel could have, with area_refusal's sentence") {
  const auto refusal = [](cma::pfn_t base_pfn, cma::page_count count, unsigned opb) {
    return *cma::area_refusal(base_pfn << cma::page_shift, count << cma::page_shift, opb);
  };
  const cma::page_count huge = 4294967295ull << 8; // pages of 4294967295 MiB
  CHECK_THROWS_AS(area(0x40000, huge), std::invalid_argument);
  CHECK_THROWS_WITH(area(0x40000, huge), refusal(0x40000, huge, 0));
  CHECK_THROWS_WITH(area<cma::reference_allocator>(0x40000, huge), refusal(0x40000, huge, 0));
  CHECK_THROWS_WITH(area(0x7000, 0), refusal(0x7000, 0, 0));
  CHECK_THROWS_WITH(area(0x7001, 16, 1), refusal(0x7001, 16, 1));
  CHECK_THROWS_WITH(area(0x7000, 17, 1), refusal(0x7000, 17, 1));
  CHECK_THROWS_WITH(area(0x7000, 16, 41), refusal(0x7000, 16, 41));
  CHECK_THROWS_WITH(area(0x7000, 16, 64), refusal(0x7000, 16, 64));
  CHECK_THROWS_WITH(cma::make_allocator("r", {0x40000, huge}, 0, "6.1"), refusal(0x40000, huge, 0));
  CHECK_THROWS_AS(cma::make_allocator("r", {0x40000, 16}, 0, "not-a-version"), std::invalid_argument);
  // the largest bitmap the kernel can allocate: 2^25 bits, 128 GiB at order_per_bit 0
  CHECK_NOTHROW(area(0x40000, cma::page_count{1} << 25));
  CHECK_THROWS_AS(area(0x40000, (cma::page_count{1} << 25) + 1), std::invalid_argument);
  // one bad range refuses the whole area; ranges are counted
  CHECK_THROWS_WITH(cma::allocator("h", {{0x1000, 16}, {0x40000, huge}}, 0, prof("6.15")), refusal(0x40000, huge, 0));
  CHECK_THROWS_AS(cma::allocator("h", std::vector<cma::memrange_spec>(9, {0x1000, 16}), 0, prof("6.15")),
                  std::invalid_argument);
  CHECK_THROWS_AS(cma::allocator("h", std::vector<cma::memrange_spec>{}, 0, prof("6.15")), std::invalid_argument);
  CHECK_THROWS_AS(cma::allocator("h", {{0x1000, 16}, {0x2000, 16}}, 0, prof("6.1")), std::invalid_argument);
}
